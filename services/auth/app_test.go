package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
	"github.com/latchid/latch/services/auth/signedcookie"
)

const testSecret = "latch-test-secret-0123456789abcdefghijklmnop"

// testServer is the real auth service (config, database, handlers) on an
// ephemeral port, over its own PostgreSQL database.
type testServer struct {
	t    *testing.T
	app  *app
	srv  *httptest.Server
	dsn  string
	db   *pgx.Conn
	base string // http://127.0.0.1:port
	logs *testlog.Buffer
}

func startAuth(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	dsn := env["DATABASE_URL"]
	if dsn == "" {
		dsn = testdb.New(t)
	}
	ts := &testServer{t: t, dsn: dsn, logs: &testlog.Buffer{}}
	// The base URL must be known before the handler is built; reserve the listener first.
	ts.srv = httptest.NewUnstartedServer(nil)
	ts.base = "http://" + ts.srv.Listener.Addr().String()
	vars := map[string]string{
		"DATABASE_URL": dsn, "BETTER_AUTH_SECRET": testSecret, "BETTER_AUTH_URL": ts.base,
		"TRUSTED_ORIGINS": "http://trusted.example", "LATCH_DATA_DIR": t.TempDir(),
	}
	for k, v := range env {
		vars[k] = v
	}
	log := slog.New(slog.NewJSONHandler(ts.logs, nil))
	cfg, err := loadAll(func(k string) string { return vars[k] }, log)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ts.app = a
	ts.srv.Config.Handler = a.handler
	ts.srv.Start()
	t.Cleanup(func() { ts.srv.Close(); _ = a.Close() })
	if strings.HasPrefix(dsn, "postgres") {
		admin := dsn
		if env["ADMIN_DATABASE_URL"] != "" { // the app's DSN goes through a proxy the test controls
			admin = env["ADMIN_DATABASE_URL"]
		}
		conn, err := pgx.Connect(context.Background(), admin)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		ts.db = conn
	}
	return ts
}

// response is a finished request: status, headers, body, decoded JSON.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// cookie returns the Set-Cookie line for name, or "".
func (r response) cookie(name string) string {
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, name+"=") {
			return c
		}
	}
	return ""
}

// sessionCookie is the value to send back as Cookie after a sign-in.
func (r response) sessionCookie(t *testing.T) string {
	t.Helper()
	c := r.cookie("better-auth.session_token")
	if c == "" {
		t.Fatalf("no session cookie in %v", r.header.Values("Set-Cookie"))
	}
	return strings.SplitN(c, ";", 2)[0]
}

type req struct {
	method, path string
	body         string
	contentType  string
	headers      map[string]string
}

func (ts *testServer) do(r req) response {
	ts.t.Helper()
	var body io.Reader
	if r.body != "" {
		body = strings.NewReader(r.body)
	}
	hr, err := http.NewRequest(r.method, ts.base+r.path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	if r.body != "" {
		ct := r.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range r.headers {
		hr.Header.Set(k, v)
	}
	// Browsers send Origin on state-changing requests; so do the tests unless told otherwise.
	if r.method != http.MethodGet && hr.Header.Get("Origin") == "" && r.headers["Origin"] != "-" {
		hr.Header.Set("Origin", ts.base)
	}
	if hr.Header.Get("Origin") == "-" {
		hr.Header.Del("Origin")
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(hr)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ts *testServer) signUp(email, password string) response {
	ts.t.Helper()
	r := ts.do(req{method: "POST", path: "/api/auth/sign-up/email",
		body: fmt.Sprintf(`{"name":"Test User","email":%q,"password":%q}`, email, password)})
	if r.status != http.StatusOK {
		ts.t.Fatalf("sign-up %s: %d %s", email, r.status, r.body)
	}
	return r
}

func (ts *testServer) count(query string, args ...any) int {
	ts.t.Helper()
	var n int
	if err := ts.db.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func TestSignUpSignInSessionTokenAndJWKS(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)

	up := ts.signUp("Ann@Example.com", "correct horse battery")
	body := up.json(t)
	user := body["user"].(map[string]any)
	if user["email"] != "ann@example.com" || user["emailVerified"] != false || user["image"] != nil || body["token"] == "" {
		t.Errorf("sign-up body = %s", up.body)
	}
	if c := up.cookie("better-auth.session_token"); !strings.Contains(c, "; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax") {
		t.Errorf("session cookie = %q, want Better Auth's attributes", c)
	}
	if up.header.Get("set-auth-token") == "" {
		t.Errorf("sign-up has no set-auth-token header")
	}

	in := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"ann@example.com","password":"correct horse battery"}`})
	if in.status != 200 || in.json(t)["redirect"] != false {
		t.Fatalf("sign-in: %d %s", in.status, in.body)
	}
	cookie := in.sessionCookie(t)

	sess := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": cookie}})
	if sess.status != 200 || sess.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("get-session: %d %v %s", sess.status, sess.header, sess.body)
	}
	got := sess.json(t)
	if got["user"].(map[string]any)["id"] != user["id"] || got["session"].(map[string]any)["userId"] != user["id"] {
		t.Errorf("get-session = %s", sess.body)
	}
	headerJWT := sess.header.Get("set-auth-jwt")

	tok := ts.do(req{method: "GET", path: "/api/auth/token", headers: map[string]string{"Cookie": cookie}})
	if tok.status != 200 {
		t.Fatalf("token: %d %s", tok.status, tok.body)
	}
	jwks := ts.do(req{method: "GET", path: "/api/auth/jwks"})
	if jwks.status != 200 || !strings.Contains(jwks.header.Get("Cache-Control"), "max-age=") {
		t.Fatalf("jwks: %d %v", jwks.status, jwks.header)
	}
	set, err := jwk.Parse(jwks.body)
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"token": tok.json(t)["token"].(string), "set-auth-jwt": headerJWT} {
		parsed, err := jwt.Parse([]byte(raw), jwt.WithKeySet(set), jwt.WithIssuer(ts.base), jwt.WithAudience(ts.base), jwt.WithValidate(true))
		if err != nil {
			t.Errorf("%s does not verify against the JWKS: %v", name, err)
			continue
		}
		if parsed.Subject() != user["id"] || parsed.Expiration().Sub(parsed.IssuedAt()) != 15*time.Minute {
			t.Errorf("%s claims: sub %s exp-iat %s", name, parsed.Subject(), parsed.Expiration().Sub(parsed.IssuedAt()))
		}
	}

	for name, secret := range map[string]string{
		"password": "correct horse battery", "session token": in.json(t)["token"].(string),
		"cookie": cookie, "JWT": headerJWT, "secret": testSecret,
	} {
		if strings.Contains(ts.logs.String(), secret) {
			t.Errorf("the %s reached the logs", name)
		}
	}
	if !strings.Contains(ts.logs.String(), `"route":"/api/auth/get-session"`) {
		t.Errorf("no request log line for get-session: %s", ts.logs.String())
	}

	out := ts.do(req{method: "POST", path: "/api/auth/sign-out", headers: map[string]string{"Cookie": cookie}})
	if out.status != 200 || string(out.body) != `{"success":true}` || len(out.header.Values("Set-Cookie")) != 3 {
		t.Errorf("sign-out: %d %s %v", out.status, out.body, out.header.Values("Set-Cookie"))
	}
	after := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": cookie}})
	if string(after.body) != "null" {
		t.Errorf("get-session after sign-out = %s, want null", after.body)
	}
}

func TestBadInputGetsBetterAuthErrorsAndWritesNothing(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	ts.signUp("taken@example.com", "password123")
	big := `{"name":"x","email":"big@example.com","password":"password123","pad":"` + strings.Repeat("a", 1<<20) + `"}`
	cases := []struct {
		name        string
		path        string
		body        string
		contentType string
		status      int
		code        string
		message     string
	}{
		{"malformed JSON", "/api/auth/sign-up/email", `{"name":`, "", 400, "BAD_REQUEST", "Invalid JSON in request body"},
		{"wrong types", "/api/auth/sign-up/email", `{"name":1,"email":"a@example.com","password":true}`, "", 400, "VALIDATION_ERROR",
			"[body.name] Invalid input: expected string, received number; [body.password] Invalid input: expected string, received boolean"},
		{"missing fields", "/api/auth/sign-up/email", `{}`, "", 400, "VALIDATION_ERROR",
			"[body.name] Invalid input: expected string, received undefined; [body.email] Invalid input: expected string, received undefined; [body.password] Invalid input: expected string, received undefined"},
		{"a JSON array", "/api/auth/sign-up/email", `[]`, "", 400, "VALIDATION_ERROR", "[body] Invalid input: expected object, received array; [body] Invalid input: expected record, received array"},
		{"invalid email", "/api/auth/sign-up/email", `{"name":"x","email":"not-an-email","password":"password123"}`, "", 400, "VALIDATION_ERROR", "[body.email] Invalid email address"},
		{"short password", "/api/auth/sign-up/email", `{"name":"x","email":"short@example.com","password":"1234567"}`, "", 400, "PASSWORD_TOO_SHORT", "Password too short"},
		{"long password", "/api/auth/sign-up/email", `{"name":"x","email":"long@example.com","password":"` + strings.Repeat("p", 129) + `"}`, "", 400, "PASSWORD_TOO_LONG", "Password too long"},
		{"duplicate email", "/api/auth/sign-up/email", `{"name":"x","email":"TAKEN@example.com","password":"password123"}`, "", 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email."},
		{"text body", "/api/auth/sign-up/email", `hello`, "text/plain", 415, "UNSUPPORTED_MEDIA_TYPE", `Content-Type "text/plain" is not allowed. Allowed types: application/x-www-form-urlencoded, application/json`},
		{"body over 1 MiB", "/api/auth/sign-up/email", big, "", 413, "PAYLOAD_TOO_LARGE", "Request body is too large"},
		{"wrong password", "/api/auth/sign-in/email", `{"email":"taken@example.com","password":"wrong-password"}`, "", 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password"},
		{"unknown email", "/api/auth/sign-in/email", `{"email":"nobody@example.com","password":"password123"}`, "", 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password"},
		{"sign-in with a bad email", "/api/auth/sign-in/email", `{"email":"nope","password":"password123"}`, "", 400, "INVALID_EMAIL", "Invalid email"},
		{"sign-in with wrong types", "/api/auth/sign-in/email", `{"email":["a"],"password":"password123","rememberMe":"yes"}`, "", 400, "VALIDATION_ERROR",
			"[body.email] Invalid input: expected string, received array; [body.rememberMe] Invalid input: expected boolean, received string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(req{method: "POST", path: tc.path, body: tc.body, contentType: tc.contentType})
			if r.status != tc.status {
				t.Fatalf("status = %d (%s), want %d", r.status, r.body, tc.status)
			}
			got := r.json(t)
			if got["code"] != tc.code || got["message"] != tc.message {
				t.Errorf("body = %s, want code %s message %q", r.body, tc.code, tc.message)
			}
		})
	}
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 1 {
		t.Errorf("%d users after the bad requests, want only the first sign-up", n)
	}
	if n := ts.count(`SELECT count(*) FROM account`); n != 1 {
		t.Errorf("%d accounts, want 1", n)
	}
}

func TestTwentyConcurrentSignUpsOfOneEmailMakeOneUser(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	var wg sync.WaitGroup
	statuses := make(chan int, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ts.do(req{method: "POST", path: "/api/auth/sign-up/email",
				body: fmt.Sprintf(`{"name":"racer %d","email":"race@example.com","password":"password123"}`, i)})
			statuses <- r.status
		}()
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[200] != 1 || counts[422] != 19 {
		t.Errorf("statuses = %v, want one 200 and nineteen 422", counts)
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email = 'race@example.com'`); n != 1 {
		t.Errorf("%d user rows, want 1", n)
	}
	if n := ts.count(`SELECT count(*) FROM account a JOIN "user" u ON u.id = a.user_id WHERE u.email = 'race@example.com'`); n != 1 {
		t.Errorf("%d account rows, want 1", n)
	}
}

func TestSessionCookiesAndBearerTokens(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	up := ts.signUp("bea@example.com", "password123")
	cookie := up.sessionCookie(t)
	token := up.json(t)["token"].(string)
	signed := up.header.Get("set-auth-token")
	forgedSig := "better-auth.session_token=" + token + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D"

	cases := []struct {
		name          string
		headers       map[string]string
		wantSession   bool
		wantsClearing bool
	}{
		{"the signed cookie", map[string]string{"Cookie": cookie}, true, false},
		{"the set-auth-token value as Bearer", map[string]string{"Authorization": "Bearer " + signed}, true, false},
		{"the bare session token as Bearer", map[string]string{"Authorization": "Bearer " + token}, true, false},
		{"a cookie with a forged signature", map[string]string{"Cookie": forgedSig}, false, false},
		{"a cookie with a truncated signature", map[string]string{"Cookie": "better-auth.session_token=" + token + ".abc"}, false, false},
		{"an unsigned cookie", map[string]string{"Cookie": "better-auth.session_token=" + token}, false, false},
		{"a forged Bearer", map[string]string{"Authorization": "Bearer " + token + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, false, false},
		{"a Bearer for an unknown session", map[string]string{"Authorization": "Bearer doesnotexist"}, false, true},
		{"a Basic header", map[string]string{"Authorization": "Basic " + token}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: tc.headers})
			if got := string(r.body) != "null"; got != tc.wantSession || r.status != 200 {
				t.Fatalf("get-session = %d %s, want session %v", r.status, r.body, tc.wantSession)
			}
			if cleared := strings.Contains(r.cookie("better-auth.session_token"), "Max-Age=0"); cleared != tc.wantsClearing {
				t.Errorf("cookies cleared = %v, want %v", cleared, tc.wantsClearing)
			}
			tok := ts.do(req{method: "GET", path: "/api/auth/token", headers: tc.headers})
			wantStatus := 401
			if tc.wantSession {
				wantStatus = 200
			}
			if tok.status != wantStatus {
				t.Errorf("token = %d %s, want %d", tok.status, tok.body, wantStatus)
			}
			if tok.status == 401 && string(tok.body) != `{"message":"Unauthorized","code":"UNAUTHORIZED"}` {
				t.Errorf("401 body = %s", tok.body)
			}
		})
	}

	// A validly signed cookie whose session has ended (signed out here; an
	// expired one answers the same, see identity's TestSessionRefreshAndExpiry)
	// gets no session, and its cookies are cleared.
	if r := ts.do(req{method: "POST", path: "/api/auth/sign-out", headers: map[string]string{"Authorization": "Bearer " + token}}); r.status != 200 {
		t.Fatalf("sign-out = %d %s", r.status, r.body)
	}
	r := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": cookie}})
	if string(r.body) != "null" || !strings.Contains(r.cookie("better-auth.session_token"), "Max-Age=0") {
		t.Errorf("ended session: %s %v", r.body, r.header.Values("Set-Cookie"))
	}
}

// The transport's side of "remember me" and sliding refresh: which cookies
// are set, re-sent on refresh, or not. When a session is due for refresh,
// and by how much it slides, is identity's TestSessionRefreshAndExpiry;
// SESSION_UPDATE_AGE=0 makes every use of a remembered session due here.
func TestRememberMeOffAndSlidingRefresh(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, map[string]string{"SESSION_UPDATE_AGE": "0"})
	ts.signUp("rm@example.com", "password123")
	in := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"rm@example.com","password":"password123","rememberMe":false}`})
	sc, dr := in.cookie("better-auth.session_token"), in.cookie("better-auth.dont_remember")
	if strings.Contains(sc, "Max-Age") || dr == "" || !strings.HasPrefix(dr, "better-auth.dont_remember=true.") {
		t.Fatalf("rememberMe=false cookies: %q / %q", sc, dr)
	}

	// A remembered session due for refresh is extended and its cookie re-sent.
	up := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"rm@example.com","password":"password123"}`})
	r := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": up.sessionCookie(t)}})
	if !strings.Contains(r.cookie("better-auth.session_token"), "Max-Age=604800") {
		t.Errorf("refresh did not re-send the cookie: %v", r.header.Values("Set-Cookie"))
	}
	// The not-remembered one is never extended: the dont_remember cookie says so.
	r = ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": strings.SplitN(sc, ";", 2)[0] + "; " + strings.SplitN(dr, ";", 2)[0]}})
	if r.cookie("better-auth.session_token") != "" || string(r.body) == "null" {
		t.Errorf("a not-remembered session was refreshed or lost: %s %v", r.body, r.header.Values("Set-Cookie"))
	}
}

// A session older than SESSION_FRESH_AGE may not list sessions: 403
// SESSION_NOT_FRESH. (When a session stops being fresh is identity's
// TestFreshness; here every session is stale a millisecond after it opens.)
func TestStaleSessionsMayNotListSessions(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, map[string]string{"SESSION_FRESH_AGE": "1ns"})
	cookie := ts.signUp("stale@example.com", "password123").sessionCookie(t)
	time.Sleep(2 * time.Millisecond) // session times are kept in milliseconds
	if r := ts.do(req{method: "GET", path: "/api/auth/list-sessions", headers: map[string]string{"Cookie": cookie}}); r.status != 403 || r.json(t)["code"] != "SESSION_NOT_FRESH" {
		t.Errorf("stale list-sessions = %d %s", r.status, r.body)
	}
}

func TestSessionManagementAndPasswordChange(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	first := ts.signUp("multi@example.com", "password123").sessionCookie(t)
	signIn := func() response {
		return ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"multi@example.com","password":"password123"}`})
	}
	second, third := signIn(), signIn()
	h := func(cookie string) map[string]string { return map[string]string{"Cookie": cookie} }

	list := ts.do(req{method: "GET", path: "/api/auth/list-sessions", headers: h(first)})
	var sessions []map[string]any
	if err := json.Unmarshal(list.body, &sessions); err != nil || len(sessions) != 3 {
		t.Fatalf("list-sessions = %d %s", list.status, list.body)
	}
	r := ts.do(req{method: "POST", path: "/api/auth/revoke-session", headers: h(first), body: fmt.Sprintf(`{"token":%q}`, second.json(t)["token"])})
	if r.status != 200 || string(r.body) != `{"status":true}` {
		t.Errorf("revoke-session = %d %s", r.status, r.body)
	}
	if s := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: h(second.sessionCookie(t))}); string(s.body) != "null" {
		t.Errorf("revoked session still works")
	}
	r = ts.do(req{method: "POST", path: "/api/auth/revoke-other-sessions", headers: h(first)})
	if r.status != 200 || ts.count(`SELECT count(*) FROM session`) != 1 {
		t.Errorf("revoke-other-sessions = %d %s, sessions left %d", r.status, r.body, ts.count(`SELECT count(*) FROM session`))
	}
	_ = third

	// update-user: name changes; email cannot; an empty patch is refused.
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"Renamed","image":"https://img.example/a.png"}`, 200, `{"status":true}`},
		{`{"email":"new@example.com"}`, 400, `{"message":"Email can not be updated","code":"EMAIL_CAN_NOT_BE_UPDATED"}`},
		{`{"emailVerified":true}`, 400, `{"message":"No fields to update"}`},
		{`{"name":5}`, 400, `{"message":"[body.name] Invalid input: expected string, received number","code":"VALIDATION_ERROR"}`},
	} {
		r := ts.do(req{method: "POST", path: "/api/auth/update-user", headers: h(first), body: tc.body})
		if r.status != tc.status || string(r.body) != tc.want {
			t.Errorf("update-user %s = %d %s, want %d %s", tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE name = 'Renamed' AND email = 'multi@example.com' AND NOT email_verified`); n != 1 {
		t.Errorf("update-user did not apply exactly the allowed change")
	}

	// change-password: wrong current password, then success revoking the rest.
	r = ts.do(req{method: "POST", path: "/api/auth/change-password", headers: h(first), body: `{"currentPassword":"nope-nope","newPassword":"newpassword456"}`})
	if r.status != 400 || r.json(t)["code"] != "INVALID_PASSWORD" {
		t.Errorf("wrong current password = %d %s", r.status, r.body)
	}
	r = ts.do(req{method: "POST", path: "/api/auth/change-password", headers: h(first), body: `{"currentPassword":"password123","newPassword":"newpassword456","revokeOtherSessions":true}`})
	if r.status != 200 || r.json(t)["token"] == nil {
		t.Fatalf("change-password = %d %s", r.status, r.body)
	}
	if s := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: h(first)}); string(s.body) != "null" {
		t.Errorf("old session survived revokeOtherSessions")
	}
	if s := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: h(r.sessionCookie(t))}); string(s.body) == "null" {
		t.Errorf("the new session from change-password does not work")
	}
	if in := signIn(); in.status != 401 {
		t.Errorf("old password still signs in: %d", in.status)
	}
	if in := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"multi@example.com","password":"newpassword456"}`}); in.status != 200 {
		t.Errorf("new password does not sign in: %d %s", in.status, in.body)
	}
}

func TestOriginChecksAndRouting(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	cookie := ts.signUp("origin@example.com", "password123").sessionCookie(t)
	cases := []struct {
		name   string
		r      req
		status int
		body   string
	}{
		{"an untrusted Origin with a cookie", req{method: "POST", path: "/api/auth/sign-out", headers: map[string]string{"Cookie": cookie, "Origin": "http://evil.example"}},
			403, `{"message":"Invalid origin","code":"INVALID_ORIGIN"}`},
		{"no Origin with a cookie", req{method: "POST", path: "/api/auth/sign-out", headers: map[string]string{"Cookie": cookie, "Origin": "-"}},
			403, `{"message":"Missing or null Origin","code":"MISSING_OR_NULL_ORIGIN"}`},
		{"a TRUSTED_ORIGINS origin", req{method: "POST", path: "/api/auth/revoke-other-sessions", headers: map[string]string{"Cookie": cookie, "Origin": "http://trusted.example"}},
			200, `{"status":true}`},
		{"an untrusted callbackURL", req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"origin@example.com","password":"password123","callbackURL":"https://evil.example/x"}`},
			403, `{"message":"Invalid callbackURL","code":"INVALID_CALLBACK_URL"}`},
		{"a cross-site form navigation", req{method: "POST", path: "/api/auth/sign-in/email", body: "email=origin%40example.com&password=password123", contentType: "application/x-www-form-urlencoded",
			headers: map[string]string{"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate", "Origin": "-"}},
			403, `{"message":"Cross-site navigation login blocked. This request appears to be a CSRF attack.","code":"CROSS_SITE_NAVIGATION_LOGIN_BLOCKED"}`},
		{"an unknown route", req{method: "GET", path: "/api/auth/nope"}, 404, ""},
		{"a trailing slash", req{method: "GET", path: "/api/auth/get-session/"}, 404, ""},
		{"a wrong method", req{method: "GET", path: "/api/auth/sign-in/email"}, 404, ""},
		{"POST get-session", req{method: "POST", path: "/api/auth/get-session"}, 405,
			`{"message":"POST method requires deferSessionRefresh to be enabled in session config","code":"METHOD_NOT_ALLOWED_DEFER_SESSION_REQUIRED"}`},
		{"ok", req{method: "GET", path: "/api/auth/ok"}, 200, `{"ok":true}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.do(tc.r)
			if r.status != tc.status || string(r.body) != tc.body {
				t.Errorf("= %d %q, want %d %q", r.status, r.body, tc.status, tc.body)
			}
		})
	}
	cfg := ts.do(req{method: "GET", path: "/.well-known/openid-configuration"}).json(t)
	if cfg["issuer"] != ts.base || cfg["jwks_uri"] != ts.base+"/api/auth/jwks" {
		t.Errorf("openid-configuration = %v", cfg)
	}
}

func TestEmbeddedSQLiteDefault(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ts := startAuth(t, map[string]string{"DATABASE_URL": "sqlite:" + dir + "/auth.db"})
	cookie := ts.signUp("lite@example.com", "password123").sessionCookie(t)
	if r := ts.do(req{method: "GET", path: "/api/auth/token", headers: map[string]string{"Cookie": cookie}}); r.status != 200 {
		t.Errorf("token on SQLite = %d %s", r.status, r.body)
	}
}

// With BETTER_AUTH_SECRETS, cookies are signed with the current versioned
// secret and new private keys are sealed in Better Auth's $ba$<version>$
// envelope; a key sealed under the old single secret still signs.
func TestVersionedSecrets(t *testing.T) {
	t.Parallel()
	dsn := testdb.New(t)
	old := startAuth(t, map[string]string{"DATABASE_URL": dsn})
	oldCookie := old.signUp("versioned@example.com", "password123").sessionCookie(t)
	if r := old.do(req{method: "GET", path: "/api/auth/token", headers: map[string]string{"Cookie": oldCookie}}); r.status != 200 {
		t.Fatalf("token before versioning: %d", r.status)
	}
	var oldKey string
	if err := old.db.QueryRow(context.Background(), "SELECT id FROM jwks").Scan(&oldKey); err != nil {
		t.Fatal(err)
	}

	current := "current-versioned-secret-0123456789abcdef"
	ts := startAuth(t, map[string]string{
		"DATABASE_URL": dsn, "BETTER_AUTH_SECRETS": "2:" + current + ",1:" + testSecret,
		"KEY_CACHE_TTL": "1ms",
	})
	// The single secret is gone from cookie signing: the old cookie no longer verifies.
	if r := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": oldCookie}}); string(r.body) != "null" {
		t.Errorf("a cookie signed with the old secret still works: %s", r.body)
	}
	in := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"versioned@example.com","password":"password123"}`})
	cookie := in.sessionCookie(t)
	token := in.json(t)["token"].(string)
	if want := signedcookie.EncodeValue(signedcookie.Sign(token, current)); !strings.HasSuffix(cookie, "="+want) {
		t.Errorf("cookie %s is not signed with the current versioned secret", cookie)
	}
	// The key Better Auth's single secret sealed still opens (legacy) and signs.
	r := ts.do(req{method: "GET", path: "/api/auth/token", headers: map[string]string{"Cookie": cookie}})
	if r.status != 200 {
		t.Fatalf("token with versioned secrets: %d %s", r.status, r.body)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(r.json(t)["token"].(string), ".")[0])
	if !strings.Contains(string(header), oldKey) {
		t.Errorf("token header %s is not signed by the existing key %s", header, oldKey)
	}
	// A key made now is sealed under version 2.
	if _, err := ts.db.Exec(context.Background(), "UPDATE jwks SET expires_at = now() - interval '1 day'"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if r := ts.do(req{method: "GET", path: "/api/auth/jwks"}); r.status != 200 {
		t.Fatalf("jwks: %d", r.status)
	}
	var sealed string
	if err := ts.db.QueryRow(context.Background(), "SELECT private_key FROM jwks ORDER BY created_at DESC LIMIT 1").Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, `"$ba$2$`) {
		t.Errorf("new private key stored as %.12s…, want a $ba$2$ envelope", sealed)
	}
}
