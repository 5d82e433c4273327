package main

import (
	"net/url"
	"testing"
)

// encodedSlashAttacks are callback URLs that look root-relative to a check of
// the raw text but become "//evil.example/..." once something decodes them.
var encodedSlashAttacks = []string{
	"/%2Fevil.example/%20x",
	"/%2fevil.example",
	"/%5Cevil.example",
	"/%5cevil.example/x?y=1",
}

// TestRedirectsRefuseEncodedSlashes is the open-redirect attack of issue 13:
// verify-email with callbackURL=/%2Fevil.example/%20x answered
// Location: //evil.example/%20x?error=INVALID_TOKEN. Every route that
// redirects to a caller's URL refuses it, as Better Auth 1.7 does.
func TestRedirectsRefuseEncodedSlashes(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, nil)
	ts.signUp("rita@example.com", "password-rita")
	token, _ := requestReset(t, ts, outbox, "rita@example.com", "")
	for _, evil := range encodedSlashAttacks {
		q := url.QueryEscape(evil)
		if r := ts.get("/api/auth/verify-email?token=x&callbackURL="+q, nil); r.status != 403 || r.json(t)["code"] != "INVALID_CALLBACK_URL" {
			t.Errorf("verify-email callbackURL %q: %d Location %q %s, want 403 INVALID_CALLBACK_URL", evil, r.status, r.header.Get("Location"), r.body)
		}
		for _, tok := range []string{token, "unknown-token"} {
			if r := ts.get("/api/auth/reset-password/"+tok+"?callbackURL="+q, nil); r.status != 403 || r.json(t)["code"] != "INVALID_CALLBACK_URL" {
				t.Errorf("reset-password link callbackURL %q: %d Location %q %s, want 403 INVALID_CALLBACK_URL", evil, r.status, r.header.Get("Location"), r.body)
			}
		}
		if r := ts.post("/api/auth/request-password-reset", `{"email":"rita@example.com","redirectTo":"`+evil+`"}`, nil); r.status != 403 || r.json(t)["code"] != "INVALID_REDIRECT_URL" {
			t.Errorf("request-password-reset redirectTo %q: %d %s, want 403 INVALID_REDIRECT_URL", evil, r.status, r.body)
		}
		if r := ts.post("/api/auth/sign-up/email", `{"name":"E","email":"e@example.com","password":"password-e","callbackURL":"`+evil+`"}`, nil); r.status != 403 || r.json(t)["code"] != "INVALID_CALLBACK_URL" {
			t.Errorf("sign-up callbackURL %q: %d %s, want 403 INVALID_CALLBACK_URL", evil, r.status, r.body)
		}
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email = 'e@example.com'`); n != 0 {
		t.Errorf("a refused sign-up created %d users", n)
	}
}

// TestOAuthErrorCallbackRefusesEncodedSlashes: the same attack through the
// errorCallbackURL of a Google sign-in, which the callback appends ?error= to.
func TestOAuthErrorCallbackRefusesEncodedSlashes(t *testing.T) {
	t.Parallel()
	ts, _ := startWithGoogle(t, nil)
	for _, field := range []struct{ name, code string }{
		{"callbackURL", "INVALID_CALLBACK_URL"},
		{"errorCallbackURL", "INVALID_ERROR_CALLBACK_URL"},
		{"newUserCallbackURL", "INVALID_NEW_USER_CALLBACK_URL"},
	} {
		for _, evil := range encodedSlashAttacks {
			r := ts.post("/api/auth/sign-in/social", `{"provider":"google","`+field.name+`":"`+evil+`"}`, nil)
			if r.status != 403 || r.json(t)["code"] != field.code {
				t.Errorf("%s %q: %d %s, want 403 %s", field.name, evil, r.status, r.body, field.code)
			}
		}
	}
	// An accepted errorCallbackURL gets ?error= appended as text: the
	// provider's error code cannot add a path or a host.
	authURL, stateCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google","errorCallbackURL":"/oops/%20x#frag"}`, "")
	cb, _ := url.Parse(consent(t, authURL))
	q := cb.Query()
	q.Del("code")
	q.Set("error", "/evil.example/#")
	cb.RawQuery = q.Encode()
	if r := callback(ts, cb.RequestURI(), stateCookie); r.status != 302 || r.header.Get("Location") != "/oops/%20x?error=%2Fevil.example%2F%23#frag" {
		t.Errorf("provider error: %d Location %q, want /oops/%%20x?error=%%2Fevil.example%%2F%%23#frag", r.status, r.header.Get("Location"))
	}
}
