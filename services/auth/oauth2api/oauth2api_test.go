package oauth2api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/clients"
	"github.com/latchid/latch/services/auth/oauth2api"
	"github.com/latchid/latch/services/auth/sealedbox"
	"github.com/latchid/latch/services/auth/signing"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

const origin = "http://auth.test"

// tokenServer is the token endpoint and the JWKS of one auth database.
type tokenServer struct {
	url     string
	clients *clients.Service
	db      *sqldb.DB
	jwks    string
}

func startTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	db := sqlstoretest.Open(t, sqldb.Postgres)
	issuer, err := signing.NewIssuer(sqlstore.NewKeyStore(db, time.UTC), sealedbox.SingleSecret("a-test-secret-that-is-long-enough-0123456789"), signing.Config{
		Issuer: origin, Audience: origin, TokenTTL: 15 * time.Minute, GracePeriod: time.Hour, PublishDelay: time.Minute, CacheTTL: time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := clients.NewService(sqlstore.NewClientStore(db), issuer, 0, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(oauth2api.New("/api/auth", svc, log))
	t.Cleanup(srv.Close)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, err := issuer.JWKS(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(doc)
	}))
	t.Cleanup(jwks.Close)
	return &tokenServer{url: srv.URL + "/api/auth/oauth2/token", clients: svc, db: db, jwks: jwks.URL}
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func (ts *tokenServer) post(t *testing.T, form string, change func(*http.Request)) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", ts.url, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if change != nil {
		change(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

func TestTheTokenEndpointSpeaksRFC6749(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t)
	ctx := context.Background()
	c, secret, err := ts.clients.Register(ctx, "reports", []string{"tasks:read", "tasks:write"})
	if err != nil {
		t.Fatal(err)
	}
	revoked, revokedSecret, err := ts.clients.Register(ctx, "retired", []string{"tasks:read"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.clients.Revoke(ctx, revoked.ID); err != nil {
		t.Fatal(err)
	}
	basic := func(id, secret string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
	}
	post := "grant_type=client_credentials&client_id=" + c.ID + "&client_secret=" + url.QueryEscape(secret)

	tests := []struct {
		name      string
		form      string
		change    func(*http.Request)
		status    int
		error     string
		scope     string
		challenge bool
	}{
		{name: "client_secret_basic gets every granted scope", form: "grant_type=client_credentials", change: basic(c.ID, secret), status: 200, scope: "tasks:read tasks:write"},
		{name: "client_secret_post works too", form: post, status: 200, scope: "tasks:read tasks:write"},
		{name: "a narrower scope is granted as asked", form: post + "&scope=tasks:read", status: 200, scope: "tasks:read"},
		{name: "a scope never granted is invalid_scope", form: post + "&scope=tasks:read+admin", status: 400, error: "invalid_scope"},
		{name: "a malformed scope is invalid_scope", form: post + "&scope=" + url.QueryEscape(`tasks"read`), status: 400, error: "invalid_scope"},
		{name: "a wrong secret over Basic is invalid_client with a challenge", form: "grant_type=client_credentials", change: basic(c.ID, "wrong"), status: 401, error: "invalid_client", challenge: true},
		{name: "a wrong secret in the body is invalid_client", form: "grant_type=client_credentials&client_id=" + c.ID + "&client_secret=wrong", status: 401, error: "invalid_client", challenge: true},
		{name: "an unknown client is invalid_client", form: "grant_type=client_credentials", change: basic("nobody", secret), status: 401, error: "invalid_client", challenge: true},
		{name: "a revoked client is invalid_client", form: "grant_type=client_credentials", change: basic(revoked.ID, revokedSecret), status: 401, error: "invalid_client", challenge: true},
		{name: "no client authentication is invalid_client", form: "grant_type=client_credentials", status: 401, error: "invalid_client", challenge: true},
		{name: "a Bearer header is invalid_client", form: "grant_type=client_credentials", change: func(r *http.Request) { r.Header.Set("Authorization", "Bearer x") }, status: 401, error: "invalid_client", challenge: true},
		{name: "two authentication methods are invalid_request", form: post, change: basic(c.ID, secret), status: 400, error: "invalid_request"},
		{name: "another grant is unsupported_grant_type", form: "grant_type=password&username=a&password=b", change: basic(c.ID, secret), status: 400, error: "unsupported_grant_type"},
		{name: "no grant_type is invalid_request", form: "scope=tasks:read", change: basic(c.ID, secret), status: 400, error: "invalid_request"},
		{name: "a repeated parameter is invalid_request", form: "grant_type=client_credentials&scope=a&scope=b", change: basic(c.ID, secret), status: 400, error: "invalid_request"},
		{name: "JSON is invalid_request", form: `{"grant_type":"client_credentials"}`, change: func(r *http.Request) { basic(c.ID, secret)(r); r.Header.Set("Content-Type", "application/json") }, status: 400, error: "invalid_request"},
		{name: "credentials in the URL are invalid_request", form: "grant_type=client_credentials", change: func(r *http.Request) { basic(c.ID, secret)(r); r.URL.RawQuery = "client_secret=x" }, status: 400, error: "invalid_request"},
	}
	verifier, err := authn.NewVerifier(ctx, authn.Config{JWKSURL: ts.jwks, Issuer: origin, Audience: origin})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(verifier.Close)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ts.post(t, tc.form, tc.change)
			if a.status != tc.status || (tc.error != "" && a.body["error"] != tc.error) {
				t.Fatalf("%d %v, want %d %s", a.status, a.body, tc.status, tc.error)
			}
			if a.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
			}
			if got := a.header.Get("WWW-Authenticate"); (got != "") != tc.challenge {
				t.Errorf("WWW-Authenticate %q, challenge wanted: %v", got, tc.challenge)
			}
			if tc.status != 200 {
				return
			}
			if a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(300) || a.body["scope"] != tc.scope {
				t.Fatalf("token response %v", a.body)
			}
			p, err := verifier.Verify(ctx, a.body["access_token"].(string))
			if err != nil {
				t.Fatalf("the issued token does not verify: %v", err)
			}
			if !p.IsService() || p.ClientID != c.ID || p.UserID != "client:"+c.ID || strings.Join(p.Scopes, " ") != tc.scope {
				t.Errorf("principal %+v", p)
			}
			if exp, _ := p.Claims["exp"].(float64); time.Until(time.Unix(int64(exp), 0)) > 5*time.Minute+time.Second {
				t.Errorf("token lives until %v, more than 5 min", time.Unix(int64(exp), 0))
			}
		})
	}
	// Only the secret's hash is at rest.
	var stored string
	if err := ts.db.Gorm.Raw("SELECT encode(secret_hash, 'hex') FROM oauth_client WHERE id = ?", c.ID).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored == "" || strings.Contains(stored, secret) || len(stored) != 64 {
		t.Errorf("stored secret_hash %q", stored)
	}
}
