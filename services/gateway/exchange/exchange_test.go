package exchange_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/gateway/exchange"
)

const testSecret = "exchange-test-secret-0123456789abcdef"

// session reads cookieHeader as the gateway does for an http base URL.
func session(t testing.TB, cookieHeader string) exchange.Session {
	t.Helper()
	s, ok := exchange.NewCookies(false).Session(cookieHeader)
	if !ok {
		t.Fatalf("no session cookie in %q", cookieHeader)
	}
	return s
}

func jwt(exp time.Time) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(map[string]any{"sub": "u", "exp": exp.Unix()})
	return enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString(payload) + ".c2ln"
}

// TestRedisHoldsNoCookie: the shared cache is keyed by the cookie's hash and
// expires with the token.
func TestRedisHoldsNoCookie(t *testing.T) {
	rdb := testdb.Redis(t)
	lifetime := 15 * time.Minute
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"token": jwt(time.Now().Add(lifetime))})
	}))
	defer auth.Close()
	x, err := exchange.New(exchange.Config{TokenURL: auth.URL, Client: http.DefaultClient, CacheSize: 10, Redis: rdb,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	signed := signedcookie.Sign(fmt.Sprintf("secret-%d", time.Now().UnixNano()), testSecret)
	s := session(t, "better-auth.session_token="+signedcookie.EncodeValue(signed))
	ctx := context.Background()
	if _, err := x.Token(ctx, s); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(signed))
	key := "latch:gateway:token:" + hex.EncodeToString(sum[:])
	t.Cleanup(func() { rdb.Del(context.Background(), key) })
	if key != "latch:gateway:token:"+s.Key() || strings.Contains(key, "secret") {
		t.Fatalf("key %q", key)
	}
	ttl, err := rdb.TTL(ctx, key).Result()
	if err != nil || ttl <= lifetime-exchange.Margin-5*time.Second || ttl > lifetime-exchange.Margin {
		t.Fatalf("TTL = %v (%v), want just under %v", ttl, err, lifetime-exchange.Margin)
	}
	x.Evict(ctx, s)
	if n, _ := rdb.Exists(ctx, key).Result(); n != 0 {
		t.Fatal("Evict left the token in Redis")
	}
}

func TestAuthAnswers(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		wantErr error
	}{
		{"a token", 200, `{"token":"` + jwt(time.Now().Add(time.Hour)) + `"}`, nil},
		{"unknown session", 401, `{"code":"UNAUTHORIZED"}`, exchange.ErrUnauthenticated},
		{"auth failing", 503, `{"code":"SERVICE_UNAVAILABLE"}`, exchange.ErrAuthUnavailable},
		{"no token in the answer", 200, `{}`, exchange.ErrAuthUnavailable},
		{"not JSON", 200, `<html>`, exchange.ErrAuthUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer auth.Close()
			x, _ := exchange.New(exchange.Config{TokenURL: auth.URL, Client: http.DefaultClient, CacheSize: 10,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			tok, err := x.Token(context.Background(), session(t, "better-auth.session_token="+signedcookie.EncodeValue(signedcookie.Sign("t", testSecret))))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && tok == "") {
				t.Fatalf("= %q, %v; want %v", tok, err, tc.wantErr)
			}
		})
	}
}
