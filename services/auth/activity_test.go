package main

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// activity reads GET /security-activity with cookie and query, expecting 200.
func activity(t *testing.T, ts *testServer, cookie, query string) []map[string]any {
	t.Helper()
	r := ts.get("/api/auth/security-activity"+query, cookieHeader(cookie))
	if r.status != http.StatusOK {
		t.Fatalf("security-activity%s: %d %s", query, r.status, r.body)
	}
	var out []map[string]any
	for _, e := range r.json(t)["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func types(events []map[string]any) []string {
	var out []string
	for _, e := range events {
		out = append(out, e["type"].(string))
	}
	return out
}

// The account page's contract: the caller's own events, newest first, in
// exactly this shape; 401 without a session, 400 for a bad limit.
func TestSecurityActivityEndpoint(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	ts.signUp("ann@example.com", "correct horse battery")
	if r := ts.post("/api/auth/sign-in/email", signInBody("ann@example.com", "wrong password!"), map[string]string{"User-Agent": "AnnBrowser/1"}); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	in := ts.post("/api/auth/sign-in/email", signInBody("ann@example.com", "correct horse battery"), map[string]string{"User-Agent": "AnnBrowser/1"})
	cookie := in.sessionCookie(t)

	r := ts.get("/api/auth/security-activity", cookieHeader(cookie))
	if r.status != http.StatusOK || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("security-activity: %d %v %s", r.status, r.header, r.body)
	}
	events := activity(t, ts, cookie, "")
	if got := strings.Join(types(events), ","); got != "sign-in,sign-in-failed,sign-up" {
		t.Fatalf("events = %s, want sign-in,sign-in-failed,sign-up (newest first)", got)
	}
	first := events[0]
	keys := strings.Join(slices.Sorted(maps.Keys(first)), ",")
	if keys != "createdAt,detail,id,ipAddress,type,userAgent" {
		t.Errorf("event keys = %s", keys)
	}
	if first["ipAddress"] != "127.0.0.1" || first["userAgent"] != "AnnBrowser/1" || first["detail"].(map[string]any)["method"] != "email" || first["id"] == "" {
		t.Errorf("sign-in event = %v", first)
	}
	if at, err := time.Parse(time.RFC3339Nano, first["createdAt"].(string)); err != nil || !strings.HasSuffix(first["createdAt"].(string), "Z") || time.Since(at) > time.Minute {
		t.Errorf("createdAt = %v (%v)", first["createdAt"], err)
	}
	if d := events[1]["detail"].(map[string]any); d["reason"] != "invalid-credentials" || d["method"] != "email" {
		t.Errorf("sign-in-failed detail = %v", d)
	}

	if got := activity(t, ts, cookie, "?limit=1"); len(got) != 1 || got[0]["type"] != "sign-in" {
		t.Errorf("limit=1 answered %v", got)
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?limit=-1", "?limit=1&limit=2", "?limit=" + fmt.Sprint(1<<40)} {
		if r := ts.get("/api/auth/security-activity"+q, cookieHeader(cookie)); r.status != http.StatusBadRequest || r.json(t)["code"] != "VALIDATION_ERROR" {
			t.Errorf("%s: %d %s, want 400 VALIDATION_ERROR", q, r.status, r.body)
		}
	}
	if r := ts.get("/api/auth/security-activity?limit=100", cookieHeader(cookie)); r.status != http.StatusOK {
		t.Errorf("limit=100: %d %s", r.status, r.body)
	}
	if r := ts.get("/api/auth/security-activity", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a session: %d %s, want 401", r.status, r.body)
	}
	if r := ts.get("/api/auth/security-activity", map[string]string{"Cookie": "better-auth.session_token=forged.value"}); r.status != http.StatusUnauthorized {
		t.Errorf("with a forged cookie: %d %s, want 401", r.status, r.body)
	}
}

// Attack: a signed-in user asks for someone else's events. The user is
// always the session's; no parameter can name another or widen the query.
func TestSecurityActivityNeverShowsAnotherUsersEvents(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	ann := ts.signUp("ann@example.com", "correct horse battery")
	annID := ann.json(t)["user"].(map[string]any)["id"].(string)
	ts.post("/api/auth/sign-in/email", signInBody("ann@example.com", "wrong password!"), nil)
	// A failed sign-in for an unknown address has no user: it must not show up for anyone.
	ts.post("/api/auth/sign-in/email", signInBody("nobody@example.com", "wrong password!"), nil)
	bob := ts.signUp("bob@example.com", "correct horse battery").sessionCookie(t)

	for _, q := range []string{"", "?userId=" + annID, "?user=" + annID, "?userId=&limit=100", "?type=sign-in-failed", "?all=true", "?userId=%25"} {
		for _, e := range activity(t, ts, bob, q) {
			if e["type"] != "sign-up" {
				t.Errorf("%q: bob sees %v", q, e)
			}
		}
		if got := activity(t, ts, bob, q); len(got) != 1 {
			t.Errorf("%q: bob sees %d events, want his 1", q, len(got))
		}
	}
}
