package main

import (
	"encoding/base32"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/services/auth/twofactor"
)

// enrolled is a user with TOTP on: their password, key and backup codes.
type enrolled struct {
	email, password string
	key             []byte
	backupCodes     []string
	session         string // a session cookie opened by the enrolment
	lastStep        int64
}

func startTwoFactor(t *testing.T, env map[string]string) (*testServer, string) {
	t.Helper()
	vars := map[string]string{"AUTH_PLUGINS": "two-factor"}
	for k, v := range env {
		vars[k] = v
	}
	return startWithOutbox(t, vars)
}

func cookieHeader(cookies ...string) map[string]string {
	return map[string]string{"Cookie": strings.Join(cookies, "; ")}
}

// cookiePair is "name=value" of a Set-Cookie line.
func cookiePair(t *testing.T, r response, name string) string {
	t.Helper()
	c := r.cookie(name)
	if c == "" {
		t.Fatalf("no %s cookie in %v", name, r.header.Values("Set-Cookie"))
	}
	return strings.SplitN(c, ";", 2)[0]
}

func keyFromURI(t *testing.T, uri string) []byte {
	t.Helper()
	u, err := url.Parse(uri)
	if err != nil {
		t.Fatal(err)
	}
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret"))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// code is the TOTP code of the step after the last one used (the skew
// admits it), so each call gets a code the replay rule accepts.
func (e *enrolled) code() string {
	p := twofactor.DefaultTOTP()
	now := time.Now()
	step := max(p.Step(now), e.lastStep+1)
	if step > p.Step(now)+1 {
		panic("no fresh TOTP step left within the skew; the test used too many")
	}
	e.lastStep = step
	return twofactor.HOTP(e.key, uint64(step), 6)
}

func enrol(t *testing.T, ts *testServer, email string) *enrolled {
	t.Helper()
	e := &enrolled{email: email, password: "correct horse battery"}
	cookie := ts.signUp(email, e.password).sessionCookie(t)
	r := ts.post("/api/auth/two-factor/enable", fmt.Sprintf(`{"password":%q}`, e.password), cookieHeader(cookie))
	if r.status != http.StatusOK {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	body := r.json(t)
	if body["method"] != "totp" {
		t.Errorf("enable method = %v", body["method"])
	}
	e.key = keyFromURI(t, body["totpURI"].(string))
	for _, c := range body["backupCodes"].([]any) {
		e.backupCodes = append(e.backupCodes, c.(string))
	}
	r = ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, e.code()), cookieHeader(cookie))
	if r.status != http.StatusOK {
		t.Fatalf("verify-totp (enrolment): %d %s", r.status, r.body)
	}
	e.session = r.sessionCookie(t)
	return e
}

// signInChallenge signs in with the password and returns the two_factor cookie.
func signInChallenge(t *testing.T, ts *testServer, e *enrolled, extra ...string) (string, response) {
	t.Helper()
	r := ts.post("/api/auth/sign-in/email", signInBody(e.email, e.password), cookieHeader(extra...))
	if r.status != http.StatusOK {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	body := r.json(t)
	if body["twoFactorRedirect"] != true {
		t.Fatalf("sign-in of a 2FA user answered %s", r.body)
	}
	return cookiePair(t, r, "better-auth.two_factor"), r
}

func TestTwoFactorEnrolmentSignInAndJWT(t *testing.T) {
	t.Parallel()
	ts, _ := startTwoFactor(t, nil)
	ann := "ann@example.com"
	cookie := ts.signUp(ann, "correct horse battery").sessionCookie(t)

	// With the plugin on, the user shows twoFactorEnabled.
	s := ts.get("/api/auth/get-session", cookieHeader(cookie)).json(t)
	if s["user"].(map[string]any)["twoFactorEnabled"] != false {
		t.Fatalf("get-session user = %v, want twoFactorEnabled false", s["user"])
	}
	// enable needs the right password and changes nothing otherwise.
	for body, want := range map[string]string{`{}`: "VALIDATION_ERROR", `{"password":"wrong password!"}`: "INVALID_PASSWORD"} {
		r := ts.post("/api/auth/two-factor/enable", body, cookieHeader(cookie))
		if r.status != http.StatusBadRequest || r.json(t)["code"] != want {
			t.Errorf("enable %s: %d %s, want 400 %s", body, r.status, r.body, want)
		}
	}
	if n := ts.count(`SELECT count(*) FROM two_factor`); n != 0 {
		t.Fatalf("refused enables wrote %d rows", n)
	}

	other := ts.post("/api/auth/sign-in/email", signInBody(ann, "correct horse battery"), nil).sessionCookie(t)
	e := enrol(t, ts, "bob@example.com")
	_ = e
	// Enrol Ann by hand to watch the sessions.
	r := ts.post("/api/auth/two-factor/enable", `{"password":"correct horse battery"}`, cookieHeader(cookie))
	key := keyFromURI(t, r.json(t)["totpURI"].(string))
	var secret, codes string
	if err := ts.db.QueryRow(t.Context(), `SELECT secret, backup_codes FROM two_factor t JOIN "user" u ON u.id = t.user_id WHERE u.email = $1`, ann).Scan(&secret, &codes); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(secret, string(key)) || len(secret) < 100 || strings.Trim(secret, "0123456789abcdef") != "" {
		t.Errorf("secret stored as %q, want Better Auth's sealed hex", secret)
	}
	// Until a code is verified, 2FA is off: sign-in opens a session.
	if r := ts.post("/api/auth/sign-in/email", signInBody(ann, "correct horse battery"), nil); r.json(t)["twoFactorRedirect"] != nil {
		t.Fatalf("sign-in before verification asked for a second factor: %s", r.body)
	}
	ae := &enrolled{email: ann, password: "correct horse battery", key: key}
	if r := ts.post("/api/auth/two-factor/verify-totp", `{"code":"000000"}`, cookieHeader(cookie)); r.status != http.StatusUnauthorized || r.json(t)["code"] != "INVALID_CODE" {
		t.Fatalf("wrong code: %d %s", r.status, r.body)
	}
	r = ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, ae.code()), cookieHeader(cookie))
	if r.status != http.StatusOK {
		t.Fatalf("verify-totp: %d %s", r.status, r.body)
	}
	fresh := r.sessionCookie(t)
	// Turning 2FA on ended every other session, the enrolling one included (replaced).
	for _, old := range []string{cookie, other} {
		if b := ts.get("/api/auth/get-session", cookieHeader(old)).body; string(b) != "null" {
			t.Errorf("a session from before 2FA survived: %s", b)
		}
	}
	if u := ts.get("/api/auth/get-session", cookieHeader(fresh)).json(t)["user"].(map[string]any); u["twoFactorEnabled"] != true {
		t.Errorf("after verification user = %v", u)
	}

	// Sign-in now stops at the second factor.
	challenge, r := signInChallenge(t, ts, ae)
	if got := r.json(t)["twoFactorMethods"]; fmt.Sprint(got) != "[totp otp]" {
		t.Errorf("twoFactorMethods = %v", got)
	}
	if c := r.cookie("better-auth.two_factor"); !strings.Contains(c, "Max-Age=600") {
		t.Errorf("two_factor cookie %q, want Max-Age=600", c)
	}
	if c := r.cookie("better-auth.session_token"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("session cookie after a 2FA sign-in: %q, want it cleared", c)
	}
	if n := ts.count(`SELECT count(*) FROM session s JOIN "user" u ON u.id = s.user_id WHERE u.email = $1`, ann); n != 1 {
		t.Errorf("%d sessions after a pending sign-in, want only the enrolment's", n)
	}
	// Attack: replaying the code that enrolled (same time step) is refused.
	replay := twofactor.HOTP(key, uint64(ae.lastStep), 6)
	if r := ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, replay), cookieHeader(challenge)); r.status != http.StatusUnauthorized {
		t.Fatalf("replayed TOTP code: %d %s, want 401", r.status, r.body)
	}
	r = ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q,"trustDevice":true}`, ae.code()), cookieHeader(challenge))
	if r.status != http.StatusOK || r.json(t)["token"] == nil {
		t.Fatalf("verify-totp at sign-in: %d %s", r.status, r.body)
	}
	signedIn := r.sessionCookie(t)
	trust := r.cookie("better-auth.trust_device")
	if !strings.Contains(trust, "Max-Age=2592000") {
		t.Errorf("trust_device cookie %q, want Max-Age=2592000", trust)
	}
	if c := r.cookie("better-auth.two_factor"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("two_factor cookie not cleared: %q", c)
	}
	// The JWT says how the session was opened.
	tok := ts.get("/api/auth/token", cookieHeader(signedIn)).json(t)["token"].(string)
	_, claims := decodeJWT(t, tok)
	if fmt.Sprint(claims["amr"]) != "[pwd otp]" || claims["twoFactorEnabled"] != true {
		t.Errorf("JWT after TOTP: amr %v, twoFactorEnabled %v", claims["amr"], claims["twoFactorEnabled"])
	}
	// A challenge is spent once verified.
	if r := ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, twofactor.HOTP(key, uint64(ae.lastStep), 6)), cookieHeader(challenge)); r.status != http.StatusUnauthorized || r.json(t)["code"] != "INVALID_TWO_FACTOR_COOKIE" {
		t.Errorf("reused challenge: %d %s", r.status, r.body)
	}

	// A trusted device skips the second factor, and the trust rotates.
	trustPair := strings.SplitN(trust, ";", 2)[0]
	r = ts.post("/api/auth/sign-in/email", signInBody(ann, "correct horse battery"), cookieHeader(trustPair))
	if r.status != http.StatusOK || r.json(t)["token"] == nil {
		t.Fatalf("trusted sign-in: %d %s", r.status, r.body)
	}
	rotated := cookiePair(t, r, "better-auth.trust_device")
	if rotated == trustPair {
		t.Error("the trust cookie was not rotated")
	}
	tok = ts.get("/api/auth/token", cookieHeader(r.sessionCookie(t))).json(t)["token"].(string)
	if _, claims := decodeJWT(t, tok); claims["amr"] != nil {
		t.Errorf("a trusted-device session claims amr %v; no second factor was presented", claims["amr"])
	}
	// The replaced cookie no longer trusts: second factor again, and the cookie is cleared.
	_, r = signInChallenge(t, ts, ae, trustPair)
	if c := r.cookie("better-auth.trust_device"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("stale trust cookie not cleared: %q", c)
	}
	// Attack: a trust cookie bound to another user does not trust this one.
	bobTrust := rotated // Ann's cookie, presented at Bob's sign-in
	if _, r := signInChallenge(t, ts, e, bobTrust); r.json(t)["twoFactorRedirect"] != true {
		t.Error("Ann's trust cookie let Bob skip the second factor")
	}
	// /token and get-session know nobody while the second factor is pending.
	if r := ts.get("/api/auth/token", nil); r.status != http.StatusUnauthorized {
		t.Errorf("/token without a session: %d", r.status)
	}
}

func TestTwoFactorAttemptLimitsAndLockout(t *testing.T) {
	t.Parallel()
	ts, _ := startTwoFactor(t, nil)
	e := enrol(t, ts, "cat@example.com")
	challenge, _ := signInChallenge(t, ts, e)
	for i := range 5 {
		if r := ts.post("/api/auth/two-factor/verify-totp", `{"code":"000000"}`, cookieHeader(challenge)); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: %d %s", i+1, r.status, r.body)
		}
	}
	// The sixth try is refused even with the right code, and kills the attempt.
	r := ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, e.code()), cookieHeader(challenge))
	if r.status != http.StatusBadRequest || r.json(t)["code"] != "TOO_MANY_ATTEMPTS_REQUEST_NEW_CODE" {
		t.Fatalf("sixth try: %d %s", r.status, r.body)
	}
	if c := r.cookie("better-auth.two_factor"); !strings.Contains(c, "Max-Age=0") {
		t.Errorf("dead challenge's cookie not cleared: %q", c)
	}
	if r := ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, e.backupCodes[0]), cookieHeader(challenge)); r.status != http.StatusUnauthorized || r.json(t)["code"] != "INVALID_TWO_FACTOR_COOKIE" {
		t.Fatalf("dead challenge: %d %s", r.status, r.body)
	}
	// Ten failures in a row across attempts lock the account for 15 minutes, backup codes included.
	challenge, _ = signInChallenge(t, ts, e)
	for i := range 5 {
		if r := ts.post("/api/auth/two-factor/verify-backup-code", `{"code":"xxxxx-xxxxx"}`, cookieHeader(challenge)); r.status != http.StatusUnauthorized {
			t.Fatalf("wrong backup code %d: %d %s", i+1, r.status, r.body)
		}
	}
	challenge, _ = signInChallenge(t, ts, e)
	r = ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, e.backupCodes[0]), cookieHeader(challenge))
	if r.status != http.StatusTooManyRequests || r.json(t)["code"] != "ACCOUNT_TEMPORARILY_LOCKED" {
		t.Fatalf("locked account: %d %s", r.status, r.body)
	}
	var minutes float64
	if err := ts.db.QueryRow(t.Context(), `SELECT EXTRACT(EPOCH FROM locked_until - now() AT TIME ZONE 'UTC')/60 FROM two_factor`).Scan(&minutes); err != nil {
		t.Fatal(err)
	}
	if minutes < 14 || minutes > 15.1 {
		t.Errorf("locked for %.1f minutes, want 15", minutes)
	}
}

func TestTwoFactorBackupCodeOTPAndDisable(t *testing.T) {
	t.Parallel()
	ts, outbox := startTwoFactor(t, nil)
	e := enrol(t, ts, "dan@example.com")

	// A backup code signs in once, and ends the user's other sessions.
	challenge, _ := signInChallenge(t, ts, e)
	r := ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, e.backupCodes[2]), cookieHeader(challenge))
	if r.status != http.StatusOK {
		t.Fatalf("backup code: %d %s", r.status, r.body)
	}
	session := r.sessionCookie(t)
	if b := ts.get("/api/auth/get-session", cookieHeader(e.session)).body; string(b) != "null" {
		t.Errorf("a backup code left another session alive: %s", b)
	}
	tok := ts.get("/api/auth/token", cookieHeader(session)).json(t)["token"].(string)
	if _, claims := decodeJWT(t, tok); fmt.Sprint(claims["amr"]) != "[pwd mfa]" {
		t.Errorf("amr after a backup code = %v, want [pwd mfa]", claims["amr"])
	}
	challenge, _ = signInChallenge(t, ts, e)
	if r := ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, e.backupCodes[2]), cookieHeader(challenge)); r.status != http.StatusUnauthorized || r.json(t)["code"] != "INVALID_BACKUP_CODE" {
		t.Errorf("a spent backup code: %d %s", r.status, r.body)
	}

	// A mailed code: before send-otp, OTP_HAS_EXPIRED; the code is in the outbox.
	if r := ts.post("/api/auth/two-factor/verify-otp", `{"code":"123456"}`, cookieHeader(challenge)); r.status != http.StatusBadRequest || r.json(t)["code"] != "OTP_HAS_EXPIRED" {
		t.Errorf("verify-otp before send-otp: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/two-factor/send-otp", "", nil); r.status != http.StatusUnauthorized || r.json(t)["code"] != "INVALID_TWO_FACTOR_COOKIE" {
		t.Errorf("send-otp without a cookie: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/two-factor/send-otp", "", cookieHeader(challenge)); r.status != http.StatusOK {
		t.Fatalf("send-otp: %d %s", r.status, r.body)
	}
	mails := readOutbox(t, outbox)
	otp := mails[len(mails)-1].OTP
	if len(otp) != 6 || mails[len(mails)-1].To != e.email || !strings.Contains(mails[len(mails)-1].Text, otp) {
		t.Fatalf("OTP mail = %+v", mails[len(mails)-1])
	}
	if r := ts.post("/api/auth/two-factor/verify-otp", `{"code":"999999x"}`, cookieHeader(challenge)); r.status != http.StatusUnauthorized {
		t.Errorf("wrong OTP: %d %s", r.status, r.body)
	}
	r = ts.post("/api/auth/two-factor/verify-otp", fmt.Sprintf(`{"code":%q}`, otp), cookieHeader(challenge))
	if r.status != http.StatusOK {
		t.Fatalf("verify-otp: %d %s", r.status, r.body)
	}
	session = r.sessionCookie(t)

	// New backup codes replace the old ones.
	r = ts.post("/api/auth/two-factor/generate-backup-codes", `{"password":"correct horse battery"}`, cookieHeader(session))
	if r.status != http.StatusOK || len(r.json(t)["backupCodes"].([]any)) != 10 {
		t.Fatalf("generate-backup-codes: %d %s", r.status, r.body)
	}
	challenge, _ = signInChallenge(t, ts, e)
	if r := ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, e.backupCodes[3]), cookieHeader(challenge)); r.status != http.StatusUnauthorized {
		t.Errorf("an old backup code after regeneration: %d %s", r.status, r.body)
	}

	// disable: password, 2FA off, row gone, sign-in plain again.
	if r := ts.post("/api/auth/two-factor/disable", `{"password":"nope nope nope"}`, cookieHeader(session)); r.status != http.StatusBadRequest {
		t.Errorf("disable with a wrong password: %d %s", r.status, r.body)
	}
	r = ts.post("/api/auth/two-factor/disable", `{"password":"correct horse battery"}`, cookieHeader(session))
	if r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	if b := ts.get("/api/auth/get-session", cookieHeader(session)).body; string(b) != "null" {
		t.Errorf("disable kept the old session: %s", b)
	}
	if n := ts.count(`SELECT count(*) FROM two_factor`); n != 0 {
		t.Errorf("disable left %d two_factor rows", n)
	}
	r = ts.post("/api/auth/sign-in/email", signInBody(e.email, e.password), nil)
	if r.json(t)["token"] == nil || r.json(t)["user"].(map[string]any)["twoFactorEnabled"] != false {
		t.Errorf("sign-in after disable: %s", r.body)
	}
}

// Better Auth lets any signed-in session turn 2FA on through send-otp +
// verify-otp. Attack: a stolen, old session enrols its owner into 2FA
// (mails go to the owner, but the attacker holds the session and can
// complete a flow the owner is tricked into). Latch asks, as enable does,
// for a fresh session or the password.
func TestOTPEnrolmentNeedsAFreshSessionOrThePassword(t *testing.T) {
	t.Parallel()
	ts, outbox := startTwoFactor(t, map[string]string{"SESSION_FRESH_AGE": "1s"})
	cookie := ts.signUp("eve@example.com", "correct horse battery").sessionCookie(t)
	time.Sleep(1100 * time.Millisecond)
	sendAndVerify := func(extra string) response {
		if r := ts.post("/api/auth/two-factor/send-otp", "", cookieHeader(cookie)); r.status != http.StatusOK {
			t.Fatalf("send-otp: %d %s", r.status, r.body)
		}
		mails := readOutbox(t, outbox)
		return ts.post("/api/auth/two-factor/verify-otp", fmt.Sprintf(`{"code":%q%s}`, mails[len(mails)-1].OTP, extra), cookieHeader(cookie))
	}
	if r := sendAndVerify(""); r.status != http.StatusForbidden || r.json(t)["code"] != "SESSION_NOT_FRESH" {
		t.Fatalf("OTP enrolment on a stale session: %d %s, want 403 SESSION_NOT_FRESH", r.status, r.body)
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE two_factor_enabled`); n != 0 {
		t.Fatal("a stale session turned 2FA on")
	}
	r := sendAndVerify(`,"password":"correct horse battery"`)
	if r.status != http.StatusOK || r.json(t)["user"].(map[string]any)["twoFactorEnabled"] != true {
		t.Fatalf("OTP enrolment with the password: %d %s", r.status, r.body)
	}
}

func TestTwoFactorPluginOffKeepsTheCoreAnswers(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	cookie := ts.signUp("fay@example.com", "correct horse battery").sessionCookie(t)
	if r := ts.post("/api/auth/two-factor/enable", `{"password":"correct horse battery"}`, cookieHeader(cookie)); r.status != http.StatusNotFound {
		t.Errorf("two-factor route with the plugin off: %d", r.status)
	}
	u := ts.get("/api/auth/get-session", cookieHeader(cookie)).json(t)["user"].(map[string]any)
	if _, ok := u["twoFactorEnabled"]; ok {
		t.Errorf("twoFactorEnabled shown with the plugin off: %v", u)
	}
	tok := ts.get("/api/auth/token", cookieHeader(cookie)).json(t)["token"].(string)
	if _, claims := decodeJWT(t, tok); slices.Contains(mapsKeys(claims), "twoFactorEnabled") || claims["amr"] != nil {
		t.Errorf("JWT with the plugin off: %v", claims)
	}
}

func mapsKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
