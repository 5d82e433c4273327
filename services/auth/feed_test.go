package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
)

// claimsOf decodes a JWT's claims without verifying it.
func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A sign-out answers a long poll on the feed with the session's id, the
// same id the session's JWTs carry as sid.
func TestSignOutAnswersTheFeedsLongPollWithTheTokensSid(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ts.app.feed.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	cookie := ts.signUp("feed@example.com", "password123").sessionCookie(t)
	h := map[string]string{"Cookie": cookie}
	tok := ts.do(req{method: "GET", path: "/api/auth/token", headers: h}).json(t)["token"].(string)
	claims := claimsOf(t, tok)
	sid, _ := claims["sid"].(string)
	if sid == "" || claims["jti"] == "" {
		t.Fatalf("token claims %v lack sid or jti", claims)
	}

	first := ts.do(req{method: "GET", path: "/api/auth/revocations"})
	var page revocation.Page
	if err := json.Unmarshal(first.body, &page); err != nil || first.status != 200 || len(page.Events) != 0 {
		t.Fatalf("feed before any revocation: %d %s", first.status, first.body)
	}
	if first.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", first.header.Get("Cache-Control"))
	}
	answered := make(chan response, 1)
	go func() {
		answered <- ts.do(req{method: "GET", path: "/api/auth/revocations?after=0&wait=25"})
	}()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	if r := ts.do(req{method: "POST", path: "/api/auth/sign-out", headers: h}); r.status != 200 {
		t.Fatalf("sign-out: %d %s", r.status, r.body)
	}
	signedOut := time.Since(start)
	select {
	case r := <-answered:
		t.Logf("long poll answered %v after the sign-out began (sign-out took %v)", time.Since(start), signedOut)
		if err := json.Unmarshal(r.body, &page); err != nil || len(page.Events) != 1 {
			t.Fatalf("feed after sign-out: %d %s", r.status, r.body)
		}
		e := page.Events[0]
		if e.Kind != revocation.KindSession || e.Subject != sid || e.UserID != claims["sub"] {
			t.Errorf("event %+v, want session %s of user %v", e, sid, claims["sub"])
		}
		if e.Until.Sub(e.At) != 16*time.Minute {
			t.Errorf("until - at = %v, want JWT_EXPIRATION + 60 s leeway", e.Until.Sub(e.At))
		}
		if strings.Contains(string(r.body), cookie) || strings.Contains(string(r.body), strings.Split(strings.TrimPrefix(cookie, "better-auth.session_token="), ".")[0]) {
			t.Error("the feed carries the session token")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the long poll did not answer the sign-out")
	}
	if r := ts.do(req{method: "POST", path: "/api/auth/revocations"}); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST to the feed: %d", r.status)
	}
}
