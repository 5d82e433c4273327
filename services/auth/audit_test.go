package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// auditDump is every audit_event row as text, every column.
func (ts *testServer) auditDump(t *testing.T) string {
	t.Helper()
	rows, err := ts.db.Query(context.Background(), `SELECT row_to_json(a)::text FROM audit_event a ORDER BY created_at, id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// auditTypes lists the types of the user's events, oldest first.
func (ts *testServer) auditTypes(t *testing.T, email string) string {
	t.Helper()
	rows, err := ts.db.Query(context.Background(), `SELECT type FROM audit_event WHERE user_id = (SELECT id FROM "user" WHERE email = $1) ORDER BY created_at, id`, email)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return strings.Join(out, ",")
}

// Attack: anyone who can read the trail (an operator, a leaked backup)
// learns no secret from it. A full flow runs with every kind of secret —
// passwords, a reset token, TOTP codes, backup codes, a mailed code, an
// email-change token, session tokens — and none appears in any column.
func TestAuditRowsHoldNoSecret(t *testing.T) {
	t.Parallel()
	ts, outbox := startTwoFactor(t, map[string]string{"CHANGE_EMAIL_ENABLED": "true", "DELETE_USER_ENABLED": "true"})
	var secrets []string
	e := enrol(t, ts, "sam@example.com") // sign-up, 2FA on with a TOTP code
	secrets = append(secrets, e.password, e.session)
	secrets = append(secrets, e.backupCodes...)

	wrong := "wrong-password-123"
	secrets = append(secrets, wrong)
	if r := ts.post("/api/auth/sign-in/email", signInBody(e.email, wrong), nil); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d", r.status)
	}
	challenge, _ := signInChallenge(t, ts, e)
	secrets = append(secrets, challenge)
	if r := ts.post("/api/auth/two-factor/verify-totp", `{"code":"000000"}`, cookieHeader(challenge)); r.status != http.StatusUnauthorized {
		t.Fatalf("wrong TOTP: %d %s", r.status, r.body)
	}
	code := e.code()
	secrets = append(secrets, code)
	r := ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, code), cookieHeader(challenge))
	if r.status != http.StatusOK {
		t.Fatalf("verify-totp: %d %s", r.status, r.body)
	}
	session := r.sessionCookie(t)
	secrets = append(secrets, session, r.json(t)["token"].(string))

	challenge, _ = signInChallenge(t, ts, e)
	r = ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, e.backupCodes[0]), cookieHeader(challenge))
	if r.status != http.StatusOK {
		t.Fatalf("backup code: %d %s", r.status, r.body)
	}
	session = r.sessionCookie(t)
	secrets = append(secrets, session)

	challenge, _ = signInChallenge(t, ts, e)
	if r := ts.post("/api/auth/two-factor/send-otp", "", cookieHeader(challenge)); r.status != http.StatusOK {
		t.Fatalf("send-otp: %d %s", r.status, r.body)
	}
	mails := readOutbox(t, outbox)
	otp := mails[len(mails)-1].OTP
	secrets = append(secrets, otp)
	r = ts.post("/api/auth/two-factor/verify-otp", fmt.Sprintf(`{"code":%q}`, otp), cookieHeader(challenge))
	if r.status != http.StatusOK {
		t.Fatalf("verify-otp: %d %s", r.status, r.body)
	}
	session = r.sessionCookie(t)

	r = ts.post("/api/auth/two-factor/generate-backup-codes", fmt.Sprintf(`{"password":%q}`, e.password), cookieHeader(session))
	if r.status != http.StatusOK {
		t.Fatalf("generate-backup-codes: %d %s", r.status, r.body)
	}
	var fresh []string
	for _, c := range r.json(t)["backupCodes"].([]any) {
		fresh = append(fresh, c.(string))
	}
	secrets = append(secrets, fresh...)

	newPassword := "brand new password 1"
	secrets = append(secrets, newPassword)
	r = ts.post("/api/auth/change-password", fmt.Sprintf(`{"currentPassword":%q,"newPassword":%q,"revokeOtherSessions":true}`, e.password, newPassword), cookieHeader(session))
	if r.status != http.StatusOK {
		t.Fatalf("change-password: %d %s", r.status, r.body)
	}
	session = r.sessionCookie(t)

	if r := ts.post("/api/auth/change-email", `{"newEmail":"sam.new@example.com"}`, cookieHeader(session)); r.status != http.StatusOK {
		t.Fatalf("change-email: %d %s", r.status, r.body)
	}
	link := lastLink(t, readOutbox(t, outbox), "sam.new@example.com")
	emailToken := strings.SplitN(strings.SplitN(link, "token=", 2)[1], "&", 2)[0]
	secrets = append(secrets, emailToken, emailToken[strings.LastIndexByte(emailToken, '.')+1:])
	if r := ts.get("/api/auth/verify-email?token="+emailToken, cookieHeader(session)); r.status != http.StatusOK {
		t.Fatalf("verify-email: %d %s", r.status, r.body)
	}

	resetToken, _ := requestReset(t, ts, outbox, "sam.new@example.com", "/reset")
	resetPassword := "reset password 12345"
	secrets = append(secrets, resetToken, resetPassword)
	if r := ts.post("/api/auth/reset-password", fmt.Sprintf(`{"newPassword":%q,"token":%q}`, resetPassword, resetToken), nil); r.status != http.StatusOK {
		t.Fatalf("reset-password: %d %s", r.status, r.body)
	}
	in := ts.post("/api/auth/sign-in/email", signInBody("sam.new@example.com", resetPassword), nil)
	challenge = cookiePair(t, in, "better-auth.two_factor")
	r = ts.post("/api/auth/two-factor/verify-backup-code", fmt.Sprintf(`{"code":%q}`, fresh[0]), cookieHeader(challenge))
	if r.status != http.StatusOK {
		t.Fatalf("backup code after reset: %d %s", r.status, r.body)
	}
	session = r.sessionCookie(t)
	secrets = append(secrets, session)
	if r := ts.post("/api/auth/revoke-other-sessions", "", cookieHeader(session)); r.status != http.StatusOK {
		t.Fatalf("revoke-other-sessions: %d %s", r.status, r.body)
	}
	r = ts.post("/api/auth/two-factor/disable", fmt.Sprintf(`{"password":%q}`, resetPassword), cookieHeader(session))
	if r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	session = r.sessionCookie(t)

	want := "sign-up,two-factor-enabled,sign-in-failed,sign-in,sign-in-failed,sign-in,sign-in,backup-code-used,sign-in," +
		"sign-in,sign-in,backup-codes-regenerated,password-changed,email-change-requested,email-changed,password-reset," +
		"sign-in,backup-code-used,sign-in,session-revoked,two-factor-disabled"
	if got := ts.auditTypes(t, "sam.new@example.com"); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
	if r := ts.post("/api/auth/delete-user", fmt.Sprintf(`{"password":%q}`, resetPassword), cookieHeader(session)); r.status != http.StatusOK {
		t.Fatalf("delete-user: %d %s", r.status, r.body)
	}

	dump := ts.auditDump(t)
	if !strings.Contains(dump, `"account-deleted"`) || strings.Count(dump, "\n") < 20 {
		t.Fatalf("the trail is missing events:\n%s", dump)
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret would match anything")
		}
		// A cookie "name=value": look for the value (and its signed token part).
		if _, v, ok := strings.Cut(s, "="); ok {
			s = v
		}
		if tok, _, ok := strings.Cut(s, "."); ok && len(tok) >= 16 {
			if strings.Contains(dump, tok) {
				t.Errorf("a secret's token part %q is in the audit trail", tok)
			}
		}
		if strings.Contains(dump, s) {
			t.Errorf("secret %q is in the audit trail:\n%s", s, dump)
		}
	}
	for _, addr := range []string{"sam@example.com", "sam.new@example.com"} {
		if strings.Contains(dump, addr) {
			t.Errorf("the address %s is in the audit trail (it names users by id)", addr)
		}
	}
}

// Attack: a client forges X-Forwarded-For to have the trail (and the
// account page) show another address. Only a trusted proxy's header is
// believed, as for sessions and the rate limit.
func TestAuditIPIgnoresForgedForwardedFor(t *testing.T) {
	t.Parallel()
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no proxy trusted":                      {nil, "127.0.0.1"},
		"a proxy range the client is not in":    {map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8"}, "127.0.0.1"},
		"the peer is a trusted proxy (control)": {map[string]string{"TRUSTED_PROXIES": "127.0.0.0/8,::1"}, "198.51.100.9"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ts := startAuth(t, tc.env)
			forged := map[string]string{"X-Forwarded-For": "198.51.100.9", "X-Real-IP": "198.51.100.9", "Forwarded": "for=198.51.100.9"}
			r := ts.do(req{method: "POST", path: "/api/auth/sign-up/email", headers: forged,
				body: `{"name":"Eve","email":"eve@example.com","password":"correct horse battery"}`})
			if r.status != http.StatusOK {
				t.Fatalf("sign-up: %d %s", r.status, r.body)
			}
			ts.do(req{method: "POST", path: "/api/auth/sign-in/email", headers: forged, body: signInBody("eve@example.com", "wrong password!")})
			ts.do(req{method: "POST", path: "/api/auth/sign-in/email", headers: forged, body: signInBody("nobody@example.com", "wrong password!")})
			if n := ts.count(`SELECT count(*) FROM audit_event`); n != 3 {
				t.Fatalf("%d audit rows, want 3", n)
			}
			if n := ts.count(`SELECT count(*) FROM audit_event WHERE ip_address = $1`, tc.want); n != 3 {
				t.Errorf("%d of 3 audit rows have ip_address %s:\n%s", n, tc.want, ts.auditDump(t))
			}
		})
	}
}

// get-session is the hot path: it reads, and writes no audit row, even
// when it extends the session or deletes an expired one.
func TestGetSessionWritesNoAuditRow(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	cookie := ts.signUp("gil@example.com", "correct horse battery").sessionCookie(t)
	before := ts.count(`SELECT count(*) FROM audit_event`)
	for range 5 {
		if r := ts.get("/api/auth/get-session", cookieHeader(cookie)); r.status != http.StatusOK {
			t.Fatalf("get-session: %d", r.status)
		}
	}
	// Due for a refresh: the session's expiry was set over a day ago.
	if _, err := ts.db.Exec(context.Background(), `UPDATE session SET expires_at = expires_at - interval '2 days'`); err != nil {
		t.Fatal(err)
	}
	if r := ts.get("/api/auth/get-session", cookieHeader(cookie)); r.status != http.StatusOK || r.cookie("better-auth.session_token") == "" {
		t.Fatalf("get-session did not refresh: %d %v", r.status, r.header.Values("Set-Cookie"))
	}
	// Expired: get-session deletes it, and that is no sign-out.
	if _, err := ts.db.Exec(context.Background(), `UPDATE session SET expires_at = now() - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	if r := ts.get("/api/auth/get-session", cookieHeader(cookie)); string(r.body) != "null" {
		t.Fatalf("expired get-session: %s", r.body)
	}
	if after := ts.count(`SELECT count(*) FROM audit_event`); after != before {
		t.Errorf("get-session wrote %d audit rows", after-before)
	}
}
