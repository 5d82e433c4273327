package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchid/latch/services/auth/mail/mailtest"
)

// outboxMail is one line of the MAIL_OUTBOX file.
type outboxMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
	OTP     string `json:"otp"`
	// An organization invitation's.
	InvitationID string `json:"invitationId"`
	Link         string `json:"link"`
}

func readOutbox(t *testing.T, path string) []outboxMail {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []outboxMail
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m outboxMail
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("outbox line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// lastLink returns the link in the newest mail to `to`.
func lastLink(t *testing.T, mails []outboxMail, to string) string {
	t.Helper()
	for i := len(mails) - 1; i >= 0; i-- {
		if mails[i].To == to {
			if l := linkRE.FindString(mails[i].Text); l != "" {
				return l
			}
		}
	}
	t.Fatalf("no mail with a link to %s in %+v", to, mails)
	return ""
}

// startWithOutbox starts the service mailing into a fresh outbox file.
func startWithOutbox(t *testing.T, env map[string]string) (*testServer, string) {
	t.Helper()
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	vars := map[string]string{"MAIL_OUTBOX": outbox, "MAIL_RESPONSE_FLOOR": "0"}
	for k, v := range env {
		vars[k] = v
	}
	return startAuth(t, vars), outbox
}

func (ts *testServer) get(path string, headers map[string]string) response {
	ts.t.Helper()
	return ts.do(req{method: "GET", path: path, headers: headers})
}

func (ts *testServer) post(path, body string, headers map[string]string) response {
	ts.t.Helper()
	return ts.do(req{method: "POST", path: path, body: body, headers: headers})
}

func signInBody(email, password string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q}`, email, password)
}

func TestEmailVerificationRequiredFlow(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"})

	up := ts.post("/api/auth/sign-up/email", `{"name":"Vera","email":"Vera@Example.com","password":"correct horse","callbackURL":"/dashboard"}`, nil)
	if up.status != 200 {
		t.Fatalf("sign-up: %d %s", up.status, up.body)
	}
	if body := up.json(t); body["token"] != nil || up.cookie("better-auth.session_token") != "" {
		t.Errorf("sign-up with verification required gave a session: %s %v", up.body, up.header.Values("Set-Cookie"))
	}
	if n := ts.count(`SELECT count(*) FROM session`); n != 0 {
		t.Errorf("%d sessions after sign-up, want 0", n)
	}
	link := lastLink(t, readOutbox(t, outbox), "vera@example.com")
	wantPrefix := ts.base + "/api/auth/verify-email?token="
	if !strings.HasPrefix(link, wantPrefix) || !strings.HasSuffix(link, "&callbackURL=%2Fdashboard") {
		t.Fatalf("verification link %q, want %s<jwt>&callbackURL=%%2Fdashboard", link, wantPrefix)
	}
	token := strings.TrimSuffix(strings.TrimPrefix(link, wantPrefix), "&callbackURL=%2Fdashboard")
	header, claims := decodeJWT(t, token)
	if len(header) != 1 || header["alg"] != "HS256" {
		t.Errorf("token header %v, want exactly {alg: HS256} as jose writes it", header)
	}
	if claims["email"] != "vera@example.com" || claims["userId"] == "" || claims["exp"].(float64)-claims["iat"].(float64) != 3600 {
		t.Errorf("token claims %v", claims)
	}

	// A second sign-up for the address answers like the first (Better Auth's generic
	// response): a user that was never saved, no session, no mail.
	mailsBefore := len(readOutbox(t, outbox))
	dup := ts.post("/api/auth/sign-up/email", `{"name":"Mallory","email":"vera@example.com","password":"another password"}`, nil)
	if dup.status != 200 || dup.json(t)["token"] != nil || dup.cookie("better-auth.session_token") != "" {
		t.Errorf("duplicate sign-up: %d %s", dup.status, dup.body)
	}
	if dupUser, _ := dup.json(t)["user"].(map[string]any); dupUser == nil || dupUser["email"] != "vera@example.com" || dupUser["id"] == up.json(t)["user"].(map[string]any)["id"] {
		t.Errorf("duplicate sign-up user: %s", dup.body)
	}
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 1 {
		t.Errorf("%d users after a duplicate sign-up", n)
	}
	if len(readOutbox(t, outbox)) != mailsBefore {
		t.Error("a duplicate sign-up sent mail")
	}
	if in := ts.post("/api/auth/sign-in/email", signInBody("vera@example.com", "correct horse"), nil); in.status != 403 || in.json(t)["code"] != "EMAIL_NOT_VERIFIED" {
		t.Fatalf("sign-in before verifying: %d %s", in.status, in.body)
	}
	if in := ts.post("/api/auth/sign-in/email", signInBody("vera@example.com", "wrong password"), nil); in.status != 401 {
		t.Errorf("a wrong password before verifying: %d %s, want 401 (no hint that the account exists)", in.status, in.body)
	}

	path := strings.TrimPrefix(link, ts.base)
	v := ts.get(path, nil)
	if v.status != 302 || v.header.Get("Location") != "/dashboard" {
		t.Fatalf("following the link: %d Location %q", v.status, v.header.Get("Location"))
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email = 'vera@example.com' AND email_verified`); n != 1 {
		t.Fatal("email_verified not set")
	}
	if again := ts.get(path, nil); again.status != 302 || again.header.Get("Location") != "/dashboard" {
		t.Errorf("following the link again: %d %q (Better Auth's tokens are stateless: success again)", again.status, again.header.Get("Location"))
	}
	if in := ts.post("/api/auth/sign-in/email", signInBody("vera@example.com", "correct horse"), nil); in.status != 200 {
		t.Fatalf("sign-in after verifying: %d %s", in.status, in.body)
	}
}

func decodeJWT(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a JWT", token)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

func hs256(t *testing.T, secret string, claims jwt.MapClaims, method jwt.SigningMethod) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	var key any = []byte(secret)
	if method == jwt.SigningMethodNone {
		key = jwt.UnsafeAllowNoneSignatureType
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyEmailRefusesBadTokens(t *testing.T) {
	t.Parallel()
	ts, _ := startWithOutbox(t, nil)
	ann := ts.signUp("ann@example.com", "password-ann").json(t)["user"].(map[string]any)
	bob := ts.signUp("bob@example.com", "password-bob").json(t)["user"].(map[string]any)
	now := time.Now()
	claims := func(email, userID string, exp time.Time) jwt.MapClaims {
		return jwt.MapClaims{"email": email, "userId": userID, "iat": now.Unix(), "exp": exp.Unix()}
	}
	good := hs256(t, testSecret, claims("ann@example.com", ann["id"].(string), now.Add(time.Hour)), jwt.SigningMethodHS256)
	tests := []struct {
		name, token, code string
	}{
		{"signed with another secret", hs256(t, "another-secret-another-secret-0123", claims("ann@example.com", ann["id"].(string), now.Add(time.Hour)), jwt.SigningMethodHS256), "INVALID_TOKEN"},
		{"expired", hs256(t, testSecret, claims("ann@example.com", ann["id"].(string), now.Add(-time.Minute)), jwt.SigningMethodHS256), "TOKEN_EXPIRED"},
		{"alg none", hs256(t, testSecret, claims("ann@example.com", ann["id"].(string), now.Add(time.Hour)), jwt.SigningMethodNone), "INVALID_TOKEN"},
		{"HS512 instead of HS256", hs256(t, testSecret, claims("ann@example.com", ann["id"].(string), now.Add(time.Hour)), jwt.SigningMethodHS512), "INVALID_TOKEN"},
		{"another user's id", hs256(t, testSecret, claims("ann@example.com", bob["id"].(string), now.Add(time.Hour)), jwt.SigningMethodHS256), "INVALID_TOKEN"},
		{"an address with no account", hs256(t, testSecret, claims("nobody@example.com", "", now.Add(time.Hour)), jwt.SigningMethodHS256), "USER_NOT_FOUND"},
		{"tampered payload", good[:strings.Index(good, ".")+1] + base64.RawURLEncoding.EncodeToString([]byte(`{"email":"bob@example.com","exp":9999999999}`)) + good[strings.LastIndex(good, "."):], "INVALID_TOKEN"},
		{"not a JWT", "garbage", "INVALID_TOKEN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ts.get("/api/auth/verify-email?token="+url.QueryEscape(tc.token), nil)
			if r.status != 401 || r.json(t)["code"] != tc.code {
				t.Errorf("JSON answer: %d %s, want 401 %s", r.status, r.body, tc.code)
			}
			r = ts.get("/api/auth/verify-email?token="+url.QueryEscape(tc.token)+"&callbackURL=%2Fdone%3Fx%3D1", nil)
			if want := "/done?x=1&error=" + tc.code; r.status != 302 || r.header.Get("Location") != want {
				t.Errorf("with callbackURL: %d Location %q, want 302 %q", r.status, r.header.Get("Location"), want)
			}
		})
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email_verified`); n != 0 {
		t.Errorf("%d users verified by bad tokens", n)
	}
	for _, evil := range []string{"https://evil.example/x", "//evil.example", "/\\evil.example"} {
		r := ts.get("/api/auth/verify-email?token="+good+"&callbackURL="+url.QueryEscape(evil), nil)
		if r.status != 403 || r.json(t)["code"] != "INVALID_CALLBACK_URL" {
			t.Errorf("callbackURL %q: %d %s, want 403 INVALID_CALLBACK_URL", evil, r.status, r.body)
		}
	}
	if r := ts.get("/api/auth/verify-email", nil); r.status != 400 || r.json(t)["code"] != "VALIDATION_ERROR" {
		t.Errorf("no token: %d %s", r.status, r.body)
	}
	if r := ts.get("/api/auth/verify-email?token="+good+"&callbackURL=http%3A%2F%2Ftrusted.example%2Fok", nil); r.status != 302 || r.header.Get("Location") != "http://trusted.example/ok" {
		t.Errorf("trusted absolute callbackURL: %d %q", r.status, r.header.Get("Location"))
	}
}

func TestSendVerificationEmail(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, map[string]string{"AUTO_SIGN_IN_AFTER_VERIFICATION": "true", "MAIL_RESPONSE_FLOOR": "200ms"})
	cookie := ts.signUp("sam@example.com", "password-sam").sessionCookie(t)
	withCookie := map[string]string{"Cookie": cookie}
	if got := readOutbox(t, outbox); len(got) != 0 {
		t.Fatalf("sign-up mailed %d messages without SEND_VERIFICATION_ON_SIGN_UP", len(got))
	}

	if r := ts.post("/api/auth/send-verification-email", `{"email":"other@example.com"}`, withCookie); r.status != 400 || r.json(t)["code"] != "EMAIL_MISMATCH" {
		t.Errorf("another address while signed in: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/send-verification-email", `{"email":"sam@example.com","callbackURL":"https://evil.example"}`, withCookie); r.status != 403 {
		t.Errorf("untrusted callbackURL: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/send-verification-email", `{"email":"not-an-email"}`, nil); r.status != 400 || r.json(t)["code"] != "VALIDATION_ERROR" {
		t.Errorf("bad email: %d %s", r.status, r.body)
	}
	start := time.Now()
	if r := ts.post("/api/auth/send-verification-email", `{"email":"nobody@example.com"}`, nil); r.status != 200 || string(r.body) != `{"status":true}` {
		t.Errorf("unknown address signed out: %d %s", r.status, r.body)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Errorf("unknown address answered in %v, under the 200ms floor", took)
	}
	if got := readOutbox(t, outbox); len(got) != 0 {
		t.Fatalf("an unknown address got mail: %+v", got)
	}
	if r := ts.post("/api/auth/send-verification-email", `{"email":"sam@example.com","callbackURL":"/welcome"}`, withCookie); r.status != 200 {
		t.Fatalf("own address: %d %s", r.status, r.body)
	}
	link := lastLink(t, readOutbox(t, outbox), "sam@example.com")
	v := ts.get(strings.TrimPrefix(link, ts.base), nil) // a fresh browser: no cookie
	if v.status != 302 || v.header.Get("Location") != "/welcome" || v.cookie("better-auth.session_token") == "" {
		t.Fatalf("verifying with auto sign-in: %d %q cookies %v", v.status, v.header.Get("Location"), v.header.Values("Set-Cookie"))
	}
	if s := ts.get("/api/auth/get-session", map[string]string{"Cookie": v.sessionCookie(t)}); !strings.Contains(string(s.body), `"emailVerified":true`) {
		t.Errorf("session after auto sign-in: %s", s.body)
	}
	if r := ts.post("/api/auth/send-verification-email", `{"email":"sam@example.com"}`, withCookie); r.status != 400 || r.json(t)["code"] != "EMAIL_ALREADY_VERIFIED" {
		t.Errorf("already verified: %d %s", r.status, r.body)
	}
}

var resetLinkRE = regexp.MustCompile(`/api/auth/reset-password/([A-Za-z0-9]{24})\?callbackURL=(\S*)`)

func requestReset(t *testing.T, ts *testServer, outbox, email, redirectTo string) (token, callback string) {
	t.Helper()
	body := fmt.Sprintf(`{"email":%q,"redirectTo":%q}`, email, redirectTo)
	r := ts.post("/api/auth/request-password-reset", body, nil)
	if r.status != 200 {
		t.Fatalf("request-password-reset: %d %s", r.status, r.body)
	}
	link := lastLink(t, readOutbox(t, outbox), email)
	m := resetLinkRE.FindStringSubmatch(link)
	if m == nil || !strings.HasPrefix(link, ts.base+"/api/auth/reset-password/") {
		t.Fatalf("reset link %q is not Better Auth's shape", link)
	}
	return m[1], m[2]
}

func TestPasswordResetFlow(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, nil)
	ts.signUp("rita@example.com", "old-password")
	for i := 0; i < 2; i++ {
		if r := ts.post("/api/auth/sign-in/email", signInBody("rita@example.com", "old-password"), nil); r.status != 200 {
			t.Fatal(r.status)
		}
	}
	ts.signUp("bystander@example.com", "password-by")

	token, callback := requestReset(t, ts, outbox, "rita@example.com", "/reset")
	if callback != "%2Freset" {
		t.Errorf("callbackURL in the link = %q, want %%2Freset", callback)
	}
	if n := ts.count(`SELECT count(*) FROM verification WHERE identifier = $1 AND value = (SELECT id FROM "user" WHERE email = 'rita@example.com')`, "reset-password:"+token); n != 1 {
		t.Fatalf("verification row for the token: %d", n)
	}

	link := ts.get("/api/auth/reset-password/"+token+"?callbackURL=%2Freset", nil)
	if want := ts.base + "/reset?token=" + token; link.status != 302 || link.header.Get("Location") != want {
		t.Fatalf("the mailed link: %d %q, want 302 %q", link.status, link.header.Get("Location"), want)
	}

	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"short","token":%q}`, token), nil); r.status != 400 || r.json(t)["code"] != "PASSWORD_TOO_SHORT" {
		t.Errorf("too short: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"new-password-1","token":%q}`, token), nil); r.status != 200 || string(r.body) != `{"status":true}` {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if n := ts.count(`SELECT count(*) FROM session s JOIN "user" u ON u.id = s.user_id WHERE u.email = 'rita@example.com'`); n != 0 {
		t.Errorf("%d of the user's sessions survived the reset", n)
	}
	if n := ts.count(`SELECT count(*) FROM session s JOIN "user" u ON u.id = s.user_id WHERE u.email = 'bystander@example.com'`); n != 1 {
		t.Errorf("another user's sessions changed: %d", n)
	}
	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"new-password-2","token":%q}`, token), nil); r.status != 400 || r.json(t)["code"] != "INVALID_TOKEN" {
		t.Errorf("the token used twice: %d %s", r.status, r.body)
	}
	if r := ts.get("/api/auth/reset-password/"+token+"?callbackURL=%2Freset", nil); r.status != 302 || r.header.Get("Location") != ts.base+"/reset?error=INVALID_TOKEN" {
		t.Errorf("the used link: %d %q", r.status, r.header.Get("Location"))
	}
	if r := ts.post("/api/auth/sign-in/email", signInBody("rita@example.com", "old-password"), nil); r.status != 401 {
		t.Errorf("old password after reset: %d", r.status)
	}
	if r := ts.post("/api/auth/sign-in/email", signInBody("rita@example.com", "new-password-1"), nil); r.status != 200 {
		t.Errorf("new password after reset: %d %s", r.status, r.body)
	}
}

func TestPasswordResetRefusesBadTokensAndRedirects(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, map[string]string{"REVOKE_SESSIONS_ON_PASSWORD_RESET": "false"})
	ts.signUp("ed@example.com", "old-password")
	live, _ := requestReset(t, ts, outbox, "ed@example.com", "")
	// An expired token is refused like an unknown one (identity's TestResetTokenLifetime).
	unknown := strings.Repeat("a", 24)
	tests := []struct{ name, token string }{
		{"unknown", unknown},
		{"another prefix's row", "x"},
		{"empty", ""},
	}
	for _, tc := range tests {
		r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"new-password-1","token":%q}`, tc.token), nil)
		if r.status != 400 || r.json(t)["code"] != "INVALID_TOKEN" {
			t.Errorf("%s token: %d %s", tc.name, r.status, r.body)
		}
	}
	if r := ts.get("/api/auth/reset-password/"+unknown+"?callbackURL=http%3A%2F%2Ftrusted.example%2Freset", nil); r.status != 302 || r.header.Get("Location") != "http://trusted.example/reset?error=INVALID_TOKEN" {
		t.Errorf("a dead link: %d %q", r.status, r.header.Get("Location"))
	}
	if r := ts.get("/api/auth/reset-password/"+live+"?callbackURL=", nil); r.status != 302 || r.header.Get("Location") != ts.base+"/api/auth/error?error=INVALID_TOKEN" {
		t.Errorf("empty callbackURL: %d %q", r.status, r.header.Get("Location"))
	}
	for _, evil := range []string{"https://evil.example/reset", "//evil.example/reset"} {
		if r := ts.get("/api/auth/reset-password/"+live+"?callbackURL="+url.QueryEscape(evil), nil); r.status != 403 || r.json(t)["code"] != "INVALID_CALLBACK_URL" {
			t.Errorf("link callbackURL %q: %d %s", evil, r.status, r.body)
		}
		if r := ts.post("/api/auth/request-password-reset", fmt.Sprintf(`{"email":"ed@example.com","redirectTo":%q}`, evil), nil); r.status != 403 || r.json(t)["code"] != "INVALID_REDIRECT_URL" {
			t.Errorf("redirectTo %q: %d %s", evil, r.status, r.body)
		}
	}
	if r := ts.get("/api/auth/reset-password/"+live, nil); r.status != 400 {
		t.Errorf("no callbackURL: %d %s", r.status, r.body)
	}

	// One token, many concurrent resets: exactly one wins.
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"racing-password-%d","token":%q}`, i, live), nil)
			statuses <- r.status
		}(i)
	}
	wg.Wait()
	close(statuses)
	ok := 0
	for s := range statuses {
		if s == 200 {
			ok++
		} else if s != 400 {
			t.Errorf("a racing reset answered %d", s)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent resets with one token succeeded, want 1", ok)
	}
	if n := ts.count(`SELECT count(*) FROM session`); n != 1 {
		t.Errorf("REVOKE_SESSIONS_ON_PASSWORD_RESET=false: %d sessions left, want the sign-up's 1", n)
	}
}

func TestPasswordResetAnswersUnknownAddressesAlike(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, map[string]string{"MAIL_RESPONSE_FLOOR": "300ms"})
	ts.signUp("known@example.com", "password-known")
	timed := func(email string) (response, time.Duration) {
		start := time.Now()
		r := ts.post("/api/auth/request-password-reset", fmt.Sprintf(`{"email":%q}`, email), nil)
		return r, time.Since(start)
	}
	known, tk := timed("known@example.com")
	unknown, tu := timed("unknown@example.com")
	if known.status != 200 || unknown.status != 200 || string(known.body) != string(unknown.body) {
		t.Errorf("answers differ: %d %s vs %d %s", known.status, known.body, unknown.status, unknown.body)
	}
	if !strings.Contains(string(known.body), resetMessage) {
		t.Errorf("body %s", known.body)
	}
	for _, d := range []time.Duration{tk, tu} {
		if d < 300*time.Millisecond || d > 1500*time.Millisecond {
			t.Errorf("answered in %v; the floor is 300ms and both paths should stay near it (known %v, unknown %v)", d, tk, tu)
		}
	}
	if mails := readOutbox(t, outbox); len(mails) != 1 || mails[0].To != "known@example.com" {
		t.Errorf("mails: %+v, want one to the known address", mails)
	}
}

const resetMessage = "If this email exists in our system, check your email for the reset link"

func TestMailOverSMTPAndWhenItIsDown(t *testing.T) {
	t.Parallel()
	t.Run("delivered through a real SMTP server", func(t *testing.T) {
		t.Parallel()
		srv := mailtest.Start(t, mailtest.Options{User: "latch", Pass: "smtp-pass"})
		ts := startAuth(t, map[string]string{"SMTP_URL": "smtp://latch:smtp-pass@" + srv.Addr, "MAIL_FROM": "Latch <auth@latch.test>", "MAIL_RESPONSE_FLOOR": "0"})
		ts.signUp("smtp@example.com", "password-smtp")
		if r := ts.post("/api/auth/request-password-reset", `{"email":"smtp@example.com","redirectTo":"/r"}`, nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		if r := ts.post("/api/auth/request-password-reset", `{"email":"nobody@example.com"}`, nil); r.status != 200 {
			t.Fatalf("%d %s", r.status, r.body)
		}
		msgs := srv.Messages()
		if len(msgs) != 1 || msgs[0].To != "smtp@example.com" || msgs[0].From != "auth@latch.test" || msgs[0].AuthedAs != "latch" {
			t.Fatalf("server got %+v", msgs)
		}
		if !resetLinkRE.MatchString(msgs[0].Text) || !strings.Contains(msgs[0].HTML, "/api/auth/reset-password/") {
			t.Errorf("mail bodies lack the link: %q", msgs[0].Text)
		}
		if strings.Contains(ts.logs.String(), "smtp-pass") {
			t.Error("the SMTP password is in the logs")
		}
	})
	t.Run("server down: 503 for every address, nothing kept", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		ts := startAuth(t, map[string]string{"SMTP_URL": "smtp://" + addr, "MAIL_RESPONSE_FLOOR": "0"})
		ts.signUp("down@example.com", "password-down")
		for _, email := range []string{"down@example.com", "nobody@example.com"} {
			r := ts.post("/api/auth/request-password-reset", fmt.Sprintf(`{"email":%q}`, email), nil)
			if r.status != http.StatusServiceUnavailable || r.json(t)["code"] != "MAIL_UNAVAILABLE" || r.header.Get("Retry-After") == "" {
				t.Errorf("%s: %d %s, want 503 MAIL_UNAVAILABLE with Retry-After", email, r.status, r.body)
			}
		}
		if n := ts.count(`SELECT count(*) FROM verification`); n != 0 {
			t.Errorf("%d reset tokens kept although no mail went out", n)
		}
		r := ts.post("/api/auth/sign-up/email", `{"name":"x","email":"x@example.com","password":"password-x"}`, nil)
		if r.status != 200 {
			t.Errorf("sign-up without a verification mail does not need the mail server: %d %s", r.status, r.body)
		}
	})
	t.Run("server down at sign-up with SEND_VERIFICATION_ON_SIGN_UP writes nothing", func(t *testing.T) {
		t.Parallel()
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		_ = ln.Close()
		ts := startAuth(t, map[string]string{"SMTP_URL": "smtp://" + addr, "SEND_VERIFICATION_ON_SIGN_UP": "true"})
		r := ts.post("/api/auth/sign-up/email", `{"name":"x","email":"x@example.com","password":"password-x"}`, nil)
		if r.status != 503 {
			t.Errorf("sign-up: %d %s, want 503", r.status, r.body)
		}
		if n := ts.count(`SELECT count(*) FROM "user"`); n != 0 {
			t.Errorf("%d users written although the verification mail failed", n)
		}
	})
}

// TestAResetEndsEveryOlderResetLink is issue 13's attack: request two resets
// (links A and B), reset with B; A used to reset the password again. A
// password change ends every pending link too.
func TestAResetEndsEveryOlderResetLink(t *testing.T) {
	t.Parallel()
	ts, outbox := startWithOutbox(t, nil)
	ts.signUp("tess@example.com", "old-password")
	a, _ := requestReset(t, ts, outbox, "tess@example.com", "/reset")
	b, _ := requestReset(t, ts, outbox, "tess@example.com", "/reset")
	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"password-from-b","token":%q}`, b), nil); r.status != 200 {
		t.Fatalf("reset with B: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"password-from-a","token":%q}`, a), nil); r.status != 400 || r.json(t)["code"] != "INVALID_TOKEN" {
		t.Errorf("reset with the older link A after B: %d %s, want 400 INVALID_TOKEN", r.status, r.body)
	}
	if r := ts.get("/api/auth/reset-password/"+a+"?callbackURL=%2Freset", nil); r.header.Get("Location") != ts.base+"/reset?error=INVALID_TOKEN" {
		t.Errorf("link A after B: %d %q", r.status, r.header.Get("Location"))
	}
	if r := ts.post("/api/auth/sign-in/email", signInBody("tess@example.com", "password-from-b"), nil); r.status != 200 {
		t.Errorf("the password B set: %d %s", r.status, r.body)
	}

	c, _ := requestReset(t, ts, outbox, "tess@example.com", "")
	cookie := ts.post("/api/auth/sign-in/email", signInBody("tess@example.com", "password-from-b"), nil).sessionCookie(t)
	if r := ts.post("/api/auth/change-password", `{"currentPassword":"password-from-b","newPassword":"changed-password"}`, map[string]string{"Cookie": cookie, "Origin": ts.base}); r.status != 200 {
		t.Fatalf("change-password: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":"password-from-c","token":%q}`, c), nil); r.status != 400 || r.json(t)["code"] != "INVALID_TOKEN" {
		t.Errorf("a link requested before a password change: %d %s, want 400 INVALID_TOKEN", r.status, r.body)
	}
}
