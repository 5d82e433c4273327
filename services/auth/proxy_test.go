package main

import (
	"fmt"
	"strings"
	"testing"
)

// TestForgedForwardedForChoosesNoBucket is the attack of a client that
// reaches auth directly (not through a trusted proxy) and sends a new
// X-Forwarded-For with each request to get a fresh rate-limit bucket.
func TestForgedForwardedForChoosesNoBucket(t *testing.T) {
	t.Parallel()
	for name, env := range map[string]map[string]string{
		"nothing trusted":                    {},
		"a proxy range the client is not in": {"TRUSTED_PROXIES": "10.0.0.0/8"},
		"RATE_LIMIT_IP_HEADER, client outside the trusted range": {
			"TRUSTED_PROXIES": "10.0.0.0/8", "RATE_LIMIT_IP_HEADER": "X-Forwarded-For"},
		"a single-address header, client outside the trusted range": {
			"TRUSTED_PROXIES": "10.0.0.0/8", "RATE_LIMIT_IP_HEADER": "X-Real-IP"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env["RATE_LIMIT"], env["RATE_LIMIT_MAIL_MAX"] = "on", "2"
			ts := startAuth(t, env)
			for i := 0; i < 3; i++ {
				forged := fmt.Sprintf("198.51.100.%d", i+1)
				r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`,
					map[string]string{"X-Forwarded-For": forged, "X-Real-IP": forged})
				want := 200
				if i == 2 {
					want = 429
				}
				if r.status != want {
					t.Fatalf("request %d with forged address %s: %d, want %d (a forged header chose a new bucket)", i+1, forged, r.status, want)
				}
			}
		})
	}
}

// TestTrustedProxySeparatesClients: behind a trusted proxy (this test's
// loopback address), the right-most untrusted X-Forwarded-For entry is
// the client, whatever the client wrote to its left.
func TestTrustedProxySeparatesClients(t *testing.T) {
	t.Parallel()
	for name, env := range map[string]map[string]string{
		"X-Forwarded-For":                      {"TRUSTED_PROXIES": "127.0.0.0/8,::1"},
		"RATE_LIMIT_IP_HEADER=X-Forwarded-For": {"TRUSTED_PROXIES": "127.0.0.1,::1", "RATE_LIMIT_IP_HEADER": "X-Forwarded-For"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			env["RATE_LIMIT"], env["RATE_LIMIT_MAIL_MAX"] = "on", "2"
			ts := startAuth(t, env)
			xff := func(v string) map[string]string { return map[string]string{"X-Forwarded-For": v} }
			for i := 0; i < 2; i++ {
				if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, xff("forged, 198.51.100.1")); r.status != 200 {
					t.Fatalf("%d %s", r.status, r.body)
				}
			}
			if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, xff("other-forgery, 198.51.100.1")); r.status != 429 {
				t.Errorf("the same proxy-appended address with a different forged prefix: %d, want 429", r.status)
			}
			if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, xff("198.51.100.1, 198.51.100.2")); r.status != 200 {
				t.Errorf("another client behind the proxy: %d, want 200", r.status)
			}
		})
	}
	t.Run("a single-address header from the trusted proxy", func(t *testing.T) {
		t.Parallel()
		ts := startAuth(t, map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_MAIL_MAX": "1",
			"TRUSTED_PROXIES": "127.0.0.0/8,::1", "RATE_LIMIT_IP_HEADER": "X-Real-IP"})
		for i, want := range []int{200, 429} {
			if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, map[string]string{"X-Real-IP": "198.51.100.1"}); r.status != want {
				t.Fatalf("request %d: %d, want %d", i+1, r.status, want)
			}
		}
		if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, map[string]string{"X-Real-IP": "198.51.100.2"}); r.status != 200 {
			t.Errorf("another client: %d, want 200", r.status)
		}
	})
}

// TestSessionAddressIsNotTheClientsSaySo: the address recorded with a
// session (list-sessions shows it to the user) is the client's under the
// same rule, not a header any client can send.
func TestSessionAddressIsNotTheClientsSaySo(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		trusted, want string
	}{
		"direct client":          {"", "127.0.0.1"},
		"behind a trusted proxy": {"127.0.0.0/8,::1", "203.0.113.66"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := startAuth(t, map[string]string{"TRUSTED_PROXIES": tc.trusted})
			r := ts.do(req{method: "POST", path: "/api/auth/sign-up/email", headers: map[string]string{"X-Forwarded-For": "203.0.113.66"},
				body: `{"name":"Mallory","email":"mallory@example.com","password":"the-right-password"}`})
			if r.status != 200 {
				t.Fatalf("sign-up: %d %s", r.status, r.body)
			}
			if n := ts.count(`SELECT count(*) FROM session WHERE ip_address = $1`, tc.want); n != 1 {
				t.Errorf("no session recorded with address %s", tc.want)
			}
		})
	}
}

// TestTokenIsLimitedPerSession: anonymous GET /token calls (100 of them,
// all from one address, as the gateway's address is behind it) use up
// that address's bucket, and a signed-in session's token exchange still
// answers, because a verified session is counted on its own.
func TestTokenIsLimitedPerSession(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_MAX": "20"})
	cookie := ts.signUp("owner@example.com", "the-right-password").sessionCookie(t)
	limited := 0
	for i := 0; i < 100; i++ {
		headers := map[string]string{}
		switch i % 3 {
		case 1: // an unsigned bearer value is no verified session
			headers["Authorization"] = fmt.Sprintf("Bearer made-up-%d", i)
		case 2: // nor is a cookie whose signature does not verify
			headers["Cookie"] = fmt.Sprintf("better-auth.session_token=made-up-%d.c2lnbmF0dXJl", i)
		}
		if r := ts.get("/api/auth/token", headers); r.status == 429 {
			limited++
		}
	}
	if limited < 70 {
		t.Fatalf("%d of 100 anonymous /token calls refused, want at least 70 (made-up sessions escaped the per-address limit)", limited)
	}
	r := ts.get("/api/auth/token", map[string]string{"Cookie": cookie})
	if r.status != 200 || !strings.Contains(string(r.body), `"token"`) {
		t.Fatalf("a signed-in session's token exchange after the anonymous flood: %d %s, want 200", r.status, r.body)
	}
}

// TestPrivatePeerWarning: with limiting on and no proxy trusted, requests
// from a private address (a proxy's, usually) are warned about once, not
// per request; with TRUSTED_PROXIES set there is nothing to warn about.
func TestPrivatePeerWarning(t *testing.T) {
	t.Parallel()
	const line = "TRUSTED_PROXIES is empty"
	ts := startAuth(t, map[string]string{"RATE_LIMIT": "on"})
	for i := 0; i < 5; i++ {
		ts.get("/api/auth/ok", nil)
	}
	if n := strings.Count(ts.logs.String(), line); n != 1 {
		t.Errorf("%d warnings %q after 5 requests from loopback, want 1:\n%s", n, line, ts.logs.String())
	}
	trusted := startAuth(t, map[string]string{"RATE_LIMIT": "on", "TRUSTED_PROXIES": "127.0.0.1,::1"})
	trusted.get("/api/auth/ok", nil)
	if strings.Contains(trusted.logs.String(), line) {
		t.Errorf("warned with TRUSTED_PROXIES set")
	}
}

// TestStrictTransportSecurity: a base URL on https sends HSTS with every
// answer; on http (development, or behind a gateway on plain http) none.
func TestStrictTransportSecurity(t *testing.T) {
	t.Parallel()
	https := startAuth(t, map[string]string{"BETTER_AUTH_URL": "https://auth.example.test"})
	for _, path := range []string{"/api/auth/ok", "/api/auth/get-session", "/api/auth/no-such-route"} {
		if got := https.get(path, nil).header.Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("https base URL, %s: Strict-Transport-Security %q", path, got)
		}
	}
	plain := startAuth(t, nil)
	if got := plain.get("/api/auth/ok", nil).header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("http base URL: Strict-Transport-Security %q, want none", got)
	}
}

func TestTrustedProxiesConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env  map[string]string
		fail string
	}{
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, fd00::/8, 192.0.2.1"}, ""},
		{map[string]string{"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES"},
		{map[string]string{"TRUSTED_PROXIES": "gateway"}, "TRUSTED_PROXIES"},
		// Believing a header from any peer is what let clients choose their bucket.
		{map[string]string{"RATE_LIMIT_IP_HEADER": "X-Forwarded-For"}, "RATE_LIMIT_IP_HEADER"},
		{map[string]string{"RATE_LIMIT_IP_HEADER": "X-Real-IP", "TRUSTED_PROXIES": "10.0.0.0/8"}, ""},
	} {
		_, err := loadConfig(func(k string) string { return tc.env[k] })
		switch {
		case tc.fail == "" && err != nil:
			t.Errorf("%v: %v", tc.env, err)
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("%v: error %v, want one naming %s", tc.env, err, tc.fail)
		}
	}
}
