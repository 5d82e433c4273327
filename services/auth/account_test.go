package main

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestChangeEmail(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, map[string]string{"CHANGE_EMAIL_ENABLED": "true"})
	cookie := ts.signUp("carl@example.com", "password-carl").sessionCookie(t)
	ts.signUp("taken@example.com", "password-taken")
	with := map[string]string{"Cookie": cookie}
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"the same address", `{"newEmail":"Carl@example.com"}`, 400, `{"message":"Email is the same"}`},
		{"not an address", `{"newEmail":"nope"}`, 400, `VALIDATION_ERROR`},
		{"an untrusted callbackURL", `{"newEmail":"c2@example.com","callbackURL":"https://evil.example"}`, 403, `INVALID_CALLBACK_URL`},
		{"an address with an account: same answer, no mail", `{"newEmail":"taken@example.com"}`, 200, `{"status":true}`},
	}
	for _, tc := range tests {
		r := ts.post("/api/auth/change-email", tc.body, with)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.want)
		}
	}
	if r := ts.post("/api/auth/change-email", `{"newEmail":"x@example.com"}`, nil); r.status != 401 {
		t.Errorf("signed out: %d", r.status)
	}
	if mails := readOutbox(t, outbox); len(mails) != 0 {
		t.Fatalf("mails sent: %+v", mails)
	}
	if r := ts.post("/api/auth/change-email", `{"newEmail":"carl.new@example.com","callbackURL":"/settings"}`, with); r.status != 200 {
		t.Fatalf("change-email: %d %s", r.status, r.body)
	}
	link := lastLink(t, readOutbox(t, outbox), "carl.new@example.com")
	token := strings.TrimSuffix(strings.SplitN(link, "token=", 2)[1], "&callbackURL=%2Fsettings")
	_, claims := decodeJWT(t, token)
	if claims["email"] != "carl@example.com" || claims["updateTo"] != "carl.new@example.com" || claims["requestType"] != "change-email-verification" {
		t.Errorf("claims %v", claims)
	}
	// Another user's session may not complete Carl's change.
	other := ts.post("/api/auth/sign-in/email", signInBody("taken@example.com", "password-taken"), nil).sessionCookie(t)
	if r := ts.get("/api/auth/verify-email?token="+token, map[string]string{"Cookie": other}); r.status != 401 || r.json(t)["code"] != "INVALID_USER" {
		t.Errorf("followed while signed in as someone else: %d %s", r.status, r.body)
	}
	r := ts.get("/api/auth/verify-email?token="+token, with)
	if r.status != 200 || !strings.Contains(string(r.body), `"email":"carl.new@example.com"`) {
		t.Fatalf("following the link: %d %s", r.status, r.body)
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email = 'carl.new@example.com'`); n != 1 {
		t.Error("email not changed")
	}
	if r := ts.get("/api/auth/verify-email?token="+url.QueryEscape(token), with); r.status != 401 || r.json(t)["code"] != "INVALID_TOKEN" {
		t.Errorf("the link again: %d %s (the old address no longer matches)", r.status, r.body)
	}
	if r := ts.post("/api/auth/sign-in/email", signInBody("carl.new@example.com", "password-carl"), nil); r.status != 200 {
		t.Errorf("sign-in with the new address: %d", r.status)
	}
}

func TestChangeEmailDisabledByDefault(t *testing.T) {
	t.Parallel()
	ts, _ := startWithOutbox(t, nil)
	cookie := ts.signUp("d@example.com", "password-d").sessionCookie(t)
	if r := ts.post("/api/auth/change-email", `{"newEmail":"e@example.com"}`, map[string]string{"Cookie": cookie}); r.status != 400 || r.json(t)["code"] != "CHANGE_EMAIL_DISABLED" {
		t.Errorf("%d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/delete-user", `{}`, map[string]string{"Cookie": cookie}); r.status != 404 || len(r.body) != 0 {
		t.Errorf("delete-user disabled: %d %q, want 404 with no body", r.status, r.body)
	}
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	// Every session is stale a millisecond after it opens (freshness itself is identity's TestFreshness).
	ts, _ := startWithOutbox(t, map[string]string{"DELETE_USER_ENABLED": "true", "SESSION_FRESH_AGE": "1ns"})
	up := ts.signUp("del@example.com", "password-del")
	cookie := map[string]string{"Cookie": up.sessionCookie(t)}
	ts.signUp("keep@example.com", "password-keep")
	second := ts.post("/api/auth/sign-in/email", signInBody("del@example.com", "password-del"), nil)
	if second.status != 200 {
		t.Fatal(second.status)
	}
	time.Sleep(2 * time.Millisecond) // session times are kept in milliseconds
	tests := []struct {
		name, body string
		status     int
		code       string
	}{
		{"no password, stale session", `{}`, 400, "SESSION_EXPIRED"},
		{"wrong password", `{"password":"wrong"}`, 400, "INVALID_PASSWORD"},
		{"a token (never issued)", `{"password":"password-del","token":"abc"}`, 404, "INVALID_TOKEN"},
		{"untrusted callbackURL", `{"password":"password-del","callbackURL":"https://evil.example"}`, 403, "INVALID_CALLBACK_URL"},
	}
	for _, tc := range tests {
		r := ts.post("/api/auth/delete-user", tc.body, cookie)
		if r.status != tc.status || r.json(t)["code"] != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
		}
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email = 'del@example.com'`); n != 1 {
		t.Fatal("deleted by a refused request")
	}
	r := ts.post("/api/auth/delete-user", `{"password":"password-del"}`, cookie)
	if r.status != 200 || string(r.body) != `{"message":"User deleted","success":true}` {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if !strings.Contains(r.cookie("better-auth.session_token"), "Max-Age=0") {
		t.Errorf("cookie not cleared: %v", r.header.Values("Set-Cookie"))
	}
	for table, q := range map[string]string{
		"user":    `SELECT count(*) FROM "user" WHERE email = 'del@example.com'`,
		"session": `SELECT count(*) FROM session WHERE user_id NOT IN (SELECT id FROM "user")`,
		"account": `SELECT count(*) FROM account WHERE user_id NOT IN (SELECT id FROM "user")`,
	} {
		if n := ts.count(q); n != 0 {
			t.Errorf("%d %s rows left", n, table)
		}
	}
	if n := ts.count(`SELECT count(*) FROM session`); n != 1 {
		t.Errorf("the other user's session: %d rows", n)
	}
	if s := ts.get("/api/auth/get-session", map[string]string{"Cookie": second.sessionCookie(t)}); string(s.body) != "null" {
		t.Errorf("the deleted user's other session still works: %s", s.body)
	}

	// A fresh session needs no password.
	ts2, _ := startWithOutbox(t, map[string]string{"DELETE_USER_ENABLED": "true"})
	c2 := ts2.signUp("fresh@example.com", "password-fresh").sessionCookie(t)
	if r := ts2.post("/api/auth/delete-user", `{}`, map[string]string{"Cookie": c2}); r.status != 200 {
		t.Errorf("fresh session: %d %s", r.status, r.body)
	}
}

// Better Auth 1.7.25 has set-password only as a server-side call (auth.api.setPassword), not an
// HTTP route; a signed-in user without a password gets one through the reset flow instead.
func TestSetPasswordIsNotAnHTTPRoute(t *testing.T) {
	t.Parallel()
	ts, _ := startWithOutbox(t, nil)
	cookie := ts.signUp("sp@example.com", "password-sp").sessionCookie(t)
	r := ts.post("/api/auth/set-password", `{"newPassword":"another-password"}`, map[string]string{"Cookie": cookie})
	if r.status != 404 || len(r.body) != 0 {
		t.Errorf("POST /set-password: %d %q, want Better Auth's bare 404", r.status, r.body)
	}
}
