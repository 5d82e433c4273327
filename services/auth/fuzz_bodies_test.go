package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/latchid/latch/services/auth/identity"
)

// fuzzRoutes are the routes that read a request body.
var fuzzRoutes = []string{
	"sign-up/email", "sign-in/email", "update-user", "change-password", "revoke-session",
	"send-verification-email", "request-password-reset", "reset-password", "change-email",
	"delete-user", "sign-in/social", "link-social", "unlink-account",
}

var fuzzContentTypes = []string{
	"application/json", "application/x-www-form-urlencoded", "application/json; charset=utf-8",
	"APPLICATION/JSON", "text/plain", "", "multipart/form-data; boundary=x",
}

// fuzzAccount is a signed-up user whose session the routes that need one use.
type fuzzAccount struct {
	ts     *testServer
	n      atomic.Int64
	cookie string
}

// ensureSession signs a new user up when the fuzzed requests signed the
// last one out, deleted it or changed its password.
func (a *fuzzAccount) ensureSession(t *testing.T) {
	t.Helper()
	if a.cookie != "" {
		r := a.serve(http.MethodGet, "get-session", "", "")
		if r.status == http.StatusOK && string(r.body) != "null" {
			return
		}
	}
	email := fmt.Sprintf("fuzz-%d@example.com", a.n.Add(1))
	r := a.serve(http.MethodPost, "sign-up/email", "application/json",
		fmt.Sprintf(`{"name":"Fuzz","email":%q,"password":"correct horse battery"}`, email))
	if r.status != http.StatusOK {
		t.Fatalf("sign-up %s: %d %s", email, r.status, r.body)
	}
	a.cookie = strings.SplitN(r.cookie("better-auth.session_token"), ";", 2)[0]
}

func (a *fuzzAccount) serve(method, route, contentType, body string) response {
	req := httptest.NewRequest(method, "/api/auth/"+route, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Origin", a.ts.base)
	if a.cookie != "" {
		req.Header.Set("Cookie", a.cookie)
	}
	rec := httptest.NewRecorder()
	a.ts.app.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// FuzzAuthBodies posts any body, with any of a few media types, to every
// route of the auth API that reads one, signed in. Nothing is ever
// answered 5xx; a refusal is a 4xx with Better Auth's {message, code} body
// (or its bare 404); an accepted sign-up or profile update holds exactly the
// name and (lower-cased, valid) email the body gave.
func FuzzAuthBodies(f *testing.F) {
	ts := startAuth(f, map[string]string{
		"MAIL_OUTBOX": filepath.Join(f.TempDir(), "outbox.jsonl"), "MAIL_RESPONSE_FLOOR": "0",
	})
	a := &fuzzAccount{ts: ts}
	for i, body := range []string{
		`{"name":"Ann","email":"Ann@Example.com","password":"correct horse battery","rememberMe":false}`,
		`{"email":"fuzz-1@example.com","password":"correct horse battery","callbackURL":"/dashboard"}`,
		`{"name":"New Name","image":null}`,
		`{"currentPassword":"wrong password","newPassword":"another long one","revokeOtherSessions":true}`,
		`{"token":"not-a-session"}`,
		`{"email":"nobody@example.com","callbackURL":"/verified"}`,
		`{"email":"nobody@example.com","redirectTo":"/reset"}`,
		`{"newPassword":"short","token":"bogus"}`,
		`{"newEmail":"new@example.com","callbackURL":"/"}`,
		`{"password":"wrong password"}`,
		`{"provider":"google","callbackURL":"/","errorCallbackURL":"/error"}`,
		`{"provider":"unknown"}`,
		`{"providerId":"credential"}`,
	} {
		f.Add(uint8(i), uint8(0), body)
	}
	for _, body := range []string{
		``, `null`, `[]`, `"str"`, `1e999`, `{"name":1,"email":[],"password":{}}`, `{"email":"a@b.c"} trailing`,
		`{"email":"x@example.com","email":"y@example.com","name":"dup","password":"correct horse battery"}`,
		`{"name":"\ud800","email":"odd@example.com","password":"correct horse battery"}`,
		`{"rememberMe":"yes","email":"a@example.com","password":"p"}`, `{` + strings.Repeat(`"a":[`, 1000),
		`{"name":"a\u0000b"}`, // once a 503 on PostgreSQL (issue 13, finding 3)
	} {
		f.Add(uint8(0), uint8(0), body)
		f.Add(uint8(2), uint8(0), body)
	}
	f.Add(uint8(0), uint8(1), "name=Form&email=form@example.com&password=correct+horse+battery")
	f.Add(uint8(1), uint8(1), "email=%zz&password=x;y")
	f.Add(uint8(0), uint8(4), `{"name":"Ann"}`)
	f.Add(uint8(2), uint8(5), `{"name":"no type"}`)
	f.Add(uint8(0), uint8(3), `{"name":"Upper","email":"upper@example.com","password":"correct horse battery"}`)
	f.Fuzz(func(t *testing.T, route, contentType uint8, body string) {
		a.ensureSession(t)
		path := fuzzRoutes[int(route)%len(fuzzRoutes)]
		ct := fuzzContentTypes[int(contentType)%len(fuzzContentTypes)]
		r := a.serve(http.MethodPost, path, ct, body)
		what := fmt.Sprintf("POST %s (%s) %q", path, ct, body)
		if r.status >= 500 {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		if r.status >= 400 && !(r.status == http.StatusNotFound && len(r.body) == 0) {
			var e struct{ Message *string }
			if err := json.Unmarshal(r.body, &e); err != nil || e.Message == nil {
				t.Fatalf("%s: %d %q is not Better Auth's {message, code}", what, r.status, r.body)
			}
		}
		if r.status != http.StatusOK || !strings.HasPrefix(strings.ToLower(ct), "application/json") {
			return
		}
		var in struct{ Name, Email *string }
		if err := json.Unmarshal([]byte(body), &in); err != nil {
			t.Fatalf("%s: accepted a body encoding/json refuses: %v", what, err)
		}
		switch path {
		case "sign-up/email":
			var out struct{ User struct{ Name, Email string } }
			if err := json.Unmarshal(r.body, &out); err != nil || in.Name == nil || in.Email == nil {
				t.Fatalf("%s: answered %s", what, r.body)
			}
			if out.User.Name != *in.Name || out.User.Email != strings.ToLower(*in.Email) || !identity.ValidEmail(out.User.Email) {
				t.Fatalf("%s: signed up as %q <%s>", what, out.User.Name, out.User.Email)
			}
		case "update-user":
			if in.Name == nil {
				return
			}
			s := a.serve(http.MethodGet, "get-session", "", "")
			var out struct{ User struct{ Name string } }
			if err := json.Unmarshal(s.body, &out); err != nil || out.User.Name != *in.Name {
				t.Fatalf("%s: the session's user is now %s", what, s.body)
			}
		}
	})
}
