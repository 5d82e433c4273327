package main

import (
	"strings"
	"testing"
)

// TestBadBytesAreBadInputNotAnOutage is issue 13's attack on auth: a NUL in
// a user's name or image made PostgreSQL refuse the statement, answered 503
// with an ERROR "store unavailable" line. On both dialects it is now 400
// VALIDATION_ERROR (Better Auth's code for invalid input), nothing written.
func TestBadBytesAreBadInputNotAnOutage(t *testing.T) {
	t.Parallel()
	for _, dialect := range []string{"postgres", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{}
			if dialect == "sqlite" {
				env["DATABASE_URL"] = "sqlite:" + t.TempDir() + "/auth.db"
			}
			ts := startAuth(t, env)
			cookie := ts.signUp("nel@example.com", "password-nel").sessionCookie(t)
			withCookie := map[string]string{"Cookie": cookie, "Origin": ts.base}
			cases := []struct{ name, method, path, body string }{
				{"sign-up, NUL in the name", "POST", "/api/auth/sign-up/email", `{"name":"a\u0000b","email":"nul1@example.com","password":"password-1"}`},
				{"sign-up, NUL in the image", "POST", "/api/auth/sign-up/email", `{"name":"n","image":"x\u0000","email":"nul2@example.com","password":"password-2"}`},
				{"update-user, NUL in the name", "POST", "/api/auth/update-user", `{"name":"\u0000"}`},
				{"update-user, NUL in the image", "POST", "/api/auth/update-user", `{"image":"https://example.com/\u0000.png"}`},
				{"sign-in, NUL in the email", "POST", "/api/auth/sign-in/email", `{"email":"nel@example.com\u0000","password":"password-nel"}`},
				{"verify-email, NUL in the token", "GET", "/api/auth/verify-email?token=%00", ""},
				{"verify-email, invalid UTF-8 in the token", "GET", "/api/auth/verify-email?token=%FF", ""},
				{"reset link, NUL in the token", "GET", "/api/auth/reset-password/%00?callbackURL=%2Freset", ""},
				{"reset link, invalid UTF-8 in the token", "GET", "/api/auth/reset-password/%C3%28?callbackURL=%2Freset", ""},
			}
			for _, tc := range cases {
				h := map[string]string{}
				if strings.Contains(tc.path, "update-user") {
					h = withCookie
				}
				r := ts.do(req{method: tc.method, path: tc.path, body: tc.body, headers: h})
				if r.status != 400 || r.json(t)["code"] != "VALIDATION_ERROR" {
					t.Errorf("%s: %d %s, want 400 VALIDATION_ERROR", tc.name, r.status, r.body)
				}
			}
			s := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: withCookie}).json(t)
			if user := s["user"].(map[string]any); user["name"] != "Test User" || user["image"] != nil {
				t.Errorf("the user changed: %v", user)
			}
			for _, who := range []string{`{"email":"nul1@example.com","password":"password-1"}`, `{"email":"nul2@example.com","password":"password-2"}`} {
				if r := ts.post("/api/auth/sign-in/email", who, nil); r.status != 401 {
					t.Errorf("a refused sign-up made an account: sign-in %s answered %d", who, r.status)
				}
			}
			if strings.Contains(ts.logs.String(), "store unavailable") {
				t.Errorf("bad input was logged as an outage:\n%s", ts.logs.String())
			}
		})
	}
}

// TestMalformedQueryStringsAreRefused: Go's query parser drops a pair with
// ";" or a broken %-escape, so verify-email?token=T;callbackURL=... lost the
// callback silently. Auth answers 400 VALIDATION_ERROR instead (Better Auth
// reads such queries leniently with URLSearchParams: a documented deviation).
func TestMalformedQueryStringsAreRefused(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	for _, path := range []string{
		"/api/auth/verify-email?token=x;callbackURL=%2Fdone",
		"/api/auth/verify-email?token=%zz",
		"/api/auth/get-session?disableCookieCache=true;x",
		"/api/auth/reset-password/abc?callbackURL=%",
	} {
		if r := ts.get(path, nil); r.status != 400 || r.json(t)["code"] != "VALIDATION_ERROR" {
			t.Errorf("GET %s: %d %s, want 400 VALIDATION_ERROR", path, r.status, r.body)
		}
	}
	if r := ts.get("/api/auth/get-session?disableCookieCache=true", nil); r.status != 200 {
		t.Errorf("a well-formed query: %d %s", r.status, r.body)
	}
}
