// Package oidctest is a real OpenID Connect provider for tests, on loopback:
// an authorization endpoint that consents at once, a token endpoint that
// checks the client, the redirect URI and the PKCE verifier, and RS256 ID
// tokens verifiable against its JWKS. Tests choose the user it reports and
// may spoil the next ID token (wrong aud, iss, signature, expiry).
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// User is who consents at the authorization endpoint.
type User struct {
	Sub           string
	Email         string
	EmailVerified bool
	Name          string
	Picture       string
}

// Provider is a running OpenID Connect provider.
type Provider struct {
	URL          string // issuer
	ClientID     string
	ClientSecret string

	srv     *httptest.Server
	key     *rsa.PrivateKey
	foreign *rsa.PrivateKey // a key not in the JWKS, for forged tokens

	mu    sync.Mutex
	user  User
	spoil func(jwt.MapClaims) bool // returns true to sign with the foreign key
	codes map[string]grant
	// Authorizations are the authorization requests seen, in order.
	Authorizations []url.Values
}

type grant struct {
	challenge, redirectURI, nonce string
	user                          User
	spoil                         func(jwt.MapClaims) bool
}

// Start runs a provider until the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: "latch-test-client.apps.example", ClientSecret: randomHex(16), key: key, foreign: foreign, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /jwks", p.jwks)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// AuthURL, TokenURL and JWKSURL are the provider's endpoints.
func (p *Provider) AuthURL() string  { return p.URL + "/authorize" }
func (p *Provider) TokenURL() string { return p.URL + "/token" }
func (p *Provider) JWKSURL() string  { return p.URL + "/jwks" }

// SetUser chooses who consents next.
func (p *Provider) SetUser(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// Spoil changes the claims of the ID tokens issued for the next
// authorization; return true to sign with a key the JWKS does not hold.
func (p *Provider) Spoil(f func(jwt.MapClaims) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.spoil = f
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.Authorizations = append(p.Authorizations, q)
	user, spoil := p.user, p.spoil
	p.spoil = nil
	p.mu.Unlock()
	redirectURI := q.Get("redirect_uri")
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code", q.Get("code_challenge_method") != "S256", q.Get("code_challenge") == "":
		http.Error(w, "PKCE S256 and response_type=code required", http.StatusBadRequest)
		return
	case redirectURI == "":
		http.Error(w, "redirect_uri required", http.StatusBadRequest)
		return
	}
	code := randomHex(16)
	p.mu.Lock()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), redirectURI: redirectURI, nonce: q.Get("nonce"), user: user, spoil: spoil}
	p.mu.Unlock()
	back, _ := url.Parse(redirectURI)
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", q.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	f := r.PostForm
	p.mu.Lock()
	g, ok := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code")) // codes work once
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case f.Get("grant_type") != "authorization_code":
		tokenError(w, "unsupported_grant_type")
		return
	case f.Get("client_id") != p.ClientID || f.Get("client_secret") != p.ClientSecret:
		tokenError(w, "invalid_client")
		return
	case !ok, f.Get("redirect_uri") != g.redirectURI, base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant")
		return
	}
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.URL, "aud": p.ClientID, "sub": g.user.Sub, "email": g.user.Email,
		"email_verified": g.user.EmailVerified, "name": g.user.Name,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if g.user.Picture != "" {
		claims["picture"] = g.user.Picture
	}
	if g.nonce != "" {
		claims["nonce"] = g.nonce
	}
	key := p.key
	if g.spoil != nil && g.spoil(claims) {
		key = p.foreign
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "test-key-1"
	idToken, err := tok.SignedString(key)
	if err != nil {
		tokenError(w, "server_error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token": "ya29." + randomHex(20), "token_type": "Bearer", "expires_in": 3599,
		"scope":    "openid https://www.googleapis.com/auth/userinfo.email https://www.googleapis.com/auth/userinfo.profile",
		"id_token": idToken,
	})
}

// IDToken mints an ID token for u as the token endpoint would, for clients
// that obtained one themselves; spoil may change the claims (return true to
// sign with a key outside the JWKS).
func (p *Provider) IDToken(t testing.TB, u User, nonce string, spoil func(jwt.MapClaims) bool) string {
	t.Helper()
	now := time.Now()
	claims := jwt.MapClaims{
		"iss": p.URL, "aud": p.ClientID, "sub": u.Sub, "email": u.Email, "email_verified": u.EmailVerified,
		"name": u.Name, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	key := p.key
	if spoil != nil && spoil(claims) {
		key = p.foreign
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = "test-key-1"
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	pub := p.key.PublicKey
	e := big2b64(int64(pub.E))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "test-key-1",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": e,
	}}})
}

func big2b64(v int64) string {
	var b []byte
	for v > 0 {
		b = append([]byte{byte(v & 0xff)}, b...)
		v >>= 8
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func tokenError(w http.ResponseWriter, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
