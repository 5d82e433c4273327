package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/testdb"
)

const testIssuer = "http://localhost:3001"

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// quietLogger keeps expected warnings (JWKS down, Redis closed) out of test output.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// edKey is an Ed25519 signing key as the auth service holds it.
type edKey struct {
	kid  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newEdKey(t testing.TB, kid string) edKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return edKey{kid: kid, pub: pub, priv: priv}
}

// jwk is the key as the auth service publishes it.
func (k edKey) jwk() map[string]any {
	return map[string]any{
		"alg": "EdDSA", "crv": "Ed25519", "kty": "OKP",
		"x": base64.RawURLEncoding.EncodeToString(k.pub), "kid": k.kid,
	}
}

// sign issues a token like the auth service's; header entries in extra are
// added (a nil value removes the entry).
func (k edKey) sign(t testing.TB, claims jwt.MapClaims, extra map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header = map[string]any{"alg": "EdDSA", "kid": k.kid}
	for name, val := range extra {
		if val == nil {
			delete(tok.Header, name)
		} else {
			tok.Header[name] = val
		}
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claims are what the auth service puts into a token for user_1, valid now.
func claims(changes map[string]any) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iat": now.Unix(), "name": "Ada Lovelace", "email": "ada@example.com", "emailVerified": true,
		"image": nil, "createdAt": "2025-01-01T00:00:00.000Z", "updatedAt": "2025-01-01T00:00:00.000Z",
		"id": "user_1", "sub": "user_1", "exp": now.Add(15 * time.Minute).Unix(),
		"iss": testIssuer, "aud": testIssuer,
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// jwksServer is the auth service's JWKS endpoint, counting its requests.
type jwksServer struct {
	srv     *httptest.Server
	fetches atomic.Int64
	failing atomic.Bool // answer 503
	mu      sync.Mutex
	keys    []map[string]any
}

func newJWKSServer(t testing.TB, keys ...map[string]any) *jwksServer {
	t.Helper()
	s := &jwksServer{keys: keys}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		if s.failing.Load() {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_, _ = w.Write(s.document())
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *jwksServer) url() string { return s.srv.URL + "/api/auth/jwks" }

func (s *jwksServer) document() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(map[string]any{"keys": s.keys})
	return b
}

func (s *jwksServer) add(key map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, key)
}

func (s *jwksServer) remove(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var kept []map[string]any
	for _, k := range s.keys {
		if k["kid"] != kid {
			kept = append(kept, k)
		}
	}
	s.keys = kept
}

// redisPrefix is a key prefix of one test; its keys are deleted afterwards.
func redisPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.NewReplacer("/", ":", " ", "_").Replace(t.Name())
	prefix := "authn-test:" + name + ":" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		keys, err := rdb.Keys(ctx, prefix+"*").Result()
		if err == nil && len(keys) > 0 {
			_ = rdb.Del(ctx, keys...).Err()
		}
	})
	return prefix
}

// newVerifier starts a Verifier on srv (Redis when rdb is set) and closes it
// after the test; change adjusts the config.
func newVerifier(t testing.TB, srv *jwksServer, rdb *redis.Client, prefix string, change func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{
		JWKSURL:          srv.url(),
		Issuer:           testIssuer,
		Audience:         testIssuer,
		Leeway:           30 * time.Second,
		RefreshInterval:  time.Hour,
		UnknownKIDWindow: time.Minute,
		Redis:            rdb,
		KeyPrefix:        prefix,
		Logger:           quietLogger(),
	}
	if change != nil {
		change(&cfg)
	}
	v, err := NewVerifier(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// sharedRedis returns the test Redis and a fresh prefix on it.
func sharedRedis(t testing.TB) (*redis.Client, string) {
	t.Helper()
	rdb := testdb.Redis(t)
	return rdb, redisPrefix(t, rdb)
}

// eventually retries check until it returns true or timeout passes.
func eventually(t testing.TB, timeout time.Duration, check func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if check() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return check()
}
