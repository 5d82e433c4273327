package authn

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/revocation"
)

func TestARememberedTokenOfARevokedSessionIsRefused(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	set := revocation.NewSet(time.Minute, nil)
	set.MarkSynced()
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.Revocations = set })
	token := k1.sign(t, claims(map[string]any{"sid": "sess-1", "jti": "j1"}), nil)
	other := k1.sign(t, claims(map[string]any{"sid": "sess-2"}), nil)
	p, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if p.SessionID != "sess-1" || p.TokenID != "j1" || p.IssuedAt.IsZero() {
		t.Fatalf("principal = %+v, want sid, jti and iat read", p)
	}
	mustVerify(t, v, token) // remembered now
	mustVerify(t, v, other)
	now := time.Now()
	set.Apply(revocation.Event{ID: 1, Kind: revocation.KindSession, Subject: "sess-1", At: now, Until: now.Add(time.Hour)})
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrRevoked) {
		t.Fatalf("remembered token of a revoked session: %v, want ErrRevoked", err)
	}
	mustVerify(t, v, other) // another session of the same user is untouched
}

func TestAStaleDenySetRefusesEveryTokenAsUnavailable(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	set := revocation.NewSet(time.Minute, nil) // never synced: stale
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.Revocations = set })
	token := k1.sign(t, claims(map[string]any{"sid": "sess-1"}), nil)
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrRevocationsUnknown) {
		t.Fatalf("with a stale set: %v, want ErrRevocationsUnknown", err)
	}
	r := gin.New()
	r.GET("/x", Middleware(v), func(c *gin.Context) { c.Status(http.StatusNoContent) })
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("middleware with a stale set: %d %s, want 503 (the fault is not the client's)", w.Code, w.Body)
	}
	set.MarkSynced()
	w = httptest.NewRecorder()
	r.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent {
		t.Fatalf("once synced: %d %s", w.Code, w.Body)
	}
}
