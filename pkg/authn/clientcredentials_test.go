package authn

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// tokenEndpoint is an OAuth2 token endpoint (RFC 6749 §4.4) for one client,
// counting the tokens it issues.
type tokenEndpoint struct {
	srv       *httptest.Server
	issued    atomic.Int64
	expiresIn int
}

func newTokenEndpoint(t *testing.T, expiresIn int) *tokenEndpoint {
	t.Helper()
	e := &tokenEndpoint{expiresIn: expiresIn}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		id, secret, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"unsupported_grant_type"}`))
			return
		}
		if !ok || id != "svc" || secret != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		n := e.issued.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": base64.RawURLEncoding.EncodeToString([]byte{byte(n)}) + "." + r.FormValue("scope"),
			"token_type":   "Bearer", "expires_in": e.expiresIn,
		})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func TestClientCredentialsFetchesOncePerLifetime(t *testing.T) {
	t.Parallel()
	e := newTokenEndpoint(t, 300)
	src, err := ClientCredentials(ClientCredentialsConfig{TokenURL: e.srv.URL, ClientID: "svc", ClientSecret: "s3cret", Scopes: []string{"tasks:read", "tasks:write"}})
	if err != nil {
		t.Fatal(err)
	}
	cached := src.(*cachedTokenSource)
	clock := time.Now()
	var clockMu sync.Mutex
	cached.now = func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	advance := func(d time.Duration) { clockMu.Lock(); clock = clock.Add(d); clockMu.Unlock() }

	var wg sync.WaitGroup
	tokens := make([]string, 100)
	for i := range tokens {
		wg.Go(func() {
			tok, err := src.Token()
			if err != nil {
				t.Error(err)
				return
			}
			tokens[i] = tok.AccessToken
		})
	}
	wg.Wait()
	if n := e.issued.Load(); n != 1 {
		t.Fatalf("100 concurrent callers made %d token requests, want 1", n)
	}
	if !strings.HasSuffix(tokens[0], ".tasks:read tasks:write") {
		t.Errorf("token %q was not asked with the scopes", tokens[0])
	}
	advance(4*time.Minute + 29*time.Second) // 31 s left: still outside the 30 s margin
	if _, err := src.Token(); err != nil || e.issued.Load() != 1 {
		t.Fatalf("a token with 31 s left was replaced (requests %d, err %v)", e.issued.Load(), err)
	}
	advance(2 * time.Second) // 29 s left: replaced before it expires
	tok, err := src.Token()
	if err != nil || e.issued.Load() != 2 || tok.AccessToken == tokens[0] {
		t.Fatalf("a token with 29 s left was kept (requests %d, err %v)", e.issued.Load(), err)
	}
}

func TestClientCredentialsKeepsShortTokensForThreeQuartersOfTheirLife(t *testing.T) {
	t.Parallel()
	e := newTokenEndpoint(t, 8) // shorter than twice the margin
	src, err := ClientCredentials(ClientCredentialsConfig{TokenURL: e.srv.URL, ClientID: "svc", ClientSecret: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	cached := src.(*cachedTokenSource)
	clock := time.Now()
	cached.now = func() time.Time { return clock }
	for range 10 {
		if _, err := src.Token(); err != nil {
			t.Fatal(err)
		}
	}
	clock = clock.Add(5 * time.Second)
	_, _ = src.Token()
	if n := e.issued.Load(); n != 1 {
		t.Fatalf("an 8 s token was replaced within 5 s (%d requests)", n)
	}
	clock = clock.Add(2 * time.Second)
	_, _ = src.Token()
	if n := e.issued.Load(); n != 2 {
		t.Fatalf("an 8 s token was not replaced in its last quarter (%d requests)", n)
	}
}

func TestClientCredentialsReportsAWrongSecret(t *testing.T) {
	t.Parallel()
	e := newTokenEndpoint(t, 300)
	src, err := ClientCredentials(ClientCredentialsConfig{TokenURL: e.srv.URL, ClientID: "svc", ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("err = %v, want invalid_client", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("the error shows the secret: %v", err)
	}
}
