package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// accountEnv is what the account pages need of auth, as `make run` sets it:
// the two-factor plugin, change-email and delete-user, and every mail in an
// outbox file the test reads.
func accountEnv(outbox string) []string {
	return []string{
		"AUTH_PLUGINS=two-factor", "CHANGE_EMAIL_ENABLED=true", "DELETE_USER_ENABLED=true",
		"SEND_VERIFICATION_ON_SIGN_UP=true", "MAIL_OUTBOX=" + outbox, "MAIL_RESPONSE_FLOOR=0",
	}
}

// outboxMail is one line of auth's MAIL_OUTBOX.
type outboxMail struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	OTP     string `json:"otp"`
}

func readMails(t *testing.T, path string) []outboxMail {
	t.Helper()
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []outboxMail
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m outboxMail
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("outbox line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

var linkRE = regexp.MustCompile(`https?://[^\s"<>]+`)

// mailCount is how many mails went to this address.
func mailCount(t *testing.T, outbox, to string) int {
	n := 0
	for _, m := range readMails(t, outbox) {
		if m.To == to {
			n++
		}
	}
	return n
}

// lastMail waits for the n-th mail (counting from 1) to this address and
// returns it.
func nthMail(t *testing.T, outbox, to string, n int) outboxMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []outboxMail
		for _, m := range readMails(t, outbox) {
			if m.To == to {
				got = append(got, m)
			}
		}
		if len(got) >= n {
			return got[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail #%d to %s in the outbox (%d there)", n, to, len(got))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// linkIn is the mail's link whose URL contains part.
func linkIn(t *testing.T, m outboxMail, part string) string {
	t.Helper()
	for _, l := range linkRE.FindAllString(m.Text, -1) {
		if strings.Contains(l, part) {
			return l
		}
	}
	t.Fatalf("mail %q to %s has no link with %q: %s", m.Subject, m.To, part, m.Text)
	return ""
}

// totp is RFC 6238 (SHA-1, 6 digits, 30 s) at the given time step, over the
// key an otpauth URI's base32 secret carries: what an authenticator app
// computes, written here because the gateway module may not import auth's.
func totp(t *testing.T, secret string, step int64) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil {
		t.Fatalf("the page's secret %q is not base32: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

func TestTOTPMatchesRFC6238(t *testing.T) {
	// RFC 6238 appendix B, SHA-1: the key "12345678901234567890", T = 59 s
	// → 94287082 (8 digits), whose last six are 287082.
	secret := base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))
	if got := totp(t, secret, 59/30); got != "287082" {
		t.Fatalf("totp = %s, want 287082", got)
	}
	if got := totp(t, secret, 1111111109/30); got != "081804" {
		t.Fatalf("totp = %s, want 081804", got)
	}
}

// authenticator is the test's authenticator app: it hands out a code of a
// later time step each time, since Latch accepts a code once and one step
// of skew either side.
type authenticator struct {
	t      *testing.T
	secret string
	last   int64
}

func (a *authenticator) code() string {
	a.t.Helper()
	now := time.Now().Unix() / 30
	step := max(now, a.last+1)
	for step > time.Now().Unix()/30+1 { // beyond the skew: wait for the clock
		time.Sleep(time.Second)
	}
	a.last = step
	return totp(a.t, a.secret, step)
}

// wrong is a code the server cannot accept now: none of the steps in reach.
func (a *authenticator) wrong() string {
	a.t.Helper()
	now := time.Now().Unix() / 30
	for _, c := range []string{"000000", "111111", "222222"} {
		if c != totp(a.t, a.secret, now-1) && c != totp(a.t, a.secret, now) && c != totp(a.t, a.secret, now+1) && c != totp(a.t, a.secret, now+2) {
			return c
		}
	}
	a.t.Fatal("no wrong code found")
	return ""
}

// TestBrowserAccountRecovery: a new user (whose name is markup) verifies the
// email through the mailed link after asking for it again, forgets the
// password and sets a new one through the mailed link at phone width.
func TestBrowserAccountRecovery(t *testing.T) {
	t.Parallel()
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := startStack(t, accountEnv(outbox)...)
	b := &driver{t: t, ctx: newBrowser(t, 180*time.Second, 1100, 900), dir: artifactsDir(t)}
	const email = "vera@example.com"
	const evil = `<img src=x onerror="window.__xss=1">Vera`

	b.run("open the site", chromedp.Navigate(s.URL), chromedp.WaitVisible("#sign-in-form"))
	b.signUp(evil, email, "password123")

	// The name is markup: the page shows it as text and runs nothing.
	b.textIs("#user-name", evil)
	b.poll("no markup from the name", `!document.querySelector('#who img') && window.__xss === undefined`)
	b.run("to the account page", chromedp.Click("#nav-account"), chromedp.WaitVisible("#account-view"))
	b.poll("the name in the profile form, as text", fmt.Sprintf(`document.querySelector('#pf-name').value === %q && !document.querySelector('#account-view img') && window.__xss === undefined`, evil))

	// Unverified: the notice offers the mail again.
	b.run("verify notice", chromedp.WaitVisible("#verify-notice"))
	b.textContains("#email-verified", "not verified")
	nthMail(t, outbox, email, 1) // mailed at sign-up
	b.run("resend", chromedp.Click("#resend-verification"))
	b.waitText("#resend-status", "Sent")
	link := linkIn(t, nthMail(t, outbox, email, 2), "/verify-email?")
	b.shot("10-unverified")

	b.run("follow the verification link", chromedp.Navigate(link), chromedp.WaitVisible("#verified"))
	b.textIs("#auth-title", "Email verified")
	b.poll("landed on the app's page", `location.pathname === '/email-verified'`)
	b.shot("11-email-verified")
	b.run("continue", chromedp.Click("#verified-continue"), chromedp.WaitVisible("#tasks-view"))
	b.poll("no notice once verified", `document.querySelector('#verify-notice').hidden`)

	// A broken verification link says so in words.
	b.run("a forged verification link", chromedp.Navigate(s.URL+"/api/auth/verify-email?token=forged&callbackURL=%2Femail-verified"), chromedp.WaitVisible("#verified"))
	b.textIs("#auth-title", "The link did not work")
	b.textContains("#verified-text", "not valid")

	b.run("home", chromedp.Navigate(s.URL), chromedp.WaitVisible("#tasks-view"))
	b.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))

	// Forgot password, at phone width, by keyboard: Tab from the password
	// field passes the sign-in button and reaches the link.
	b.run("phone width", chromedp.EmulateViewport(375, 740))
	b.fill("#si-email", email)
	b.run("focus the password", chromedp.Focus("#si-password"), chromedp.KeyEvent("\t"), chromedp.KeyEvent("\t"))
	b.poll("Tab reaches Forgot password?", `document.activeElement === document.querySelector('#forgot-link')`)
	b.run("forgot", chromedp.KeyEvent("\r"), chromedp.WaitVisible("#forgot-form"))
	b.poll("the email carried over, the field focused", fmt.Sprintf(`document.querySelector('#fp-email').value === %q && document.activeElement === document.querySelector('#fp-email')`, email))
	b.run("ask for the link", chromedp.KeyEvent("\r"))
	b.waitText("#forgot-status", "check your email")
	b.poll("no horizontal scrolling at 375 px", `document.documentElement.scrollWidth <= 375`)
	b.shot("12-forgot-phone")
	reset := linkIn(t, nthMail(t, outbox, email, 3), "/reset-password/")

	b.run("follow the reset link", chromedp.Navigate(reset), chromedp.WaitVisible("#reset-form"))
	b.poll("the token in the page's URL", `location.pathname === '/reset-password' && new URLSearchParams(location.search).get('token')`)
	b.fill("#rp-password", "new-password-1")
	b.fill("#rp-confirm", "new-password-2")
	b.run("mismatch", chromedp.Click("#reset-submit"))
	b.waitText("#reset-error", "differ")
	b.fill("#rp-confirm", "new-password-1")
	b.poll("no horizontal scrolling at 375 px", `document.documentElement.scrollWidth <= 375`)
	b.shot("13-reset-phone")
	b.run("set it", chromedp.Click("#reset-submit"), chromedp.WaitVisible("#sign-in-form"))
	b.waitText("#banner", "new password is set")

	b.fill("#si-email", email)
	b.fill("#si-password", "password123")
	b.run("the old password", chromedp.Click("#sign-in-submit"))
	b.waitText("#sign-in-error", "Wrong email or password")
	b.fill("#si-password", "new-password-1")
	b.run("the new password", chromedp.Click("#sign-in-submit"), chromedp.WaitVisible("#tasks-view"))
	b.poll("no horizontal scrolling on the account page at 375 px",
		`(document.querySelector('#nav-account').click(), !document.querySelector('#account-view').hidden && document.documentElement.scrollWidth <= 375)`)
	b.shot("14-account-phone")

	// The link works once: followed again, its page says it is spent.
	b.run("the spent link", chromedp.Navigate(reset), chromedp.WaitVisible("#reset-form"))
	b.waitText("#reset-error", "not valid any more")
	b.poll("the form is off", `document.querySelector('#reset-submit').disabled`)
}

// TestBrowserRequiredVerification: with REQUIRE_EMAIL_VERIFICATION a new
// user gets no session until the link is followed; sign-in says why in words
// and offers the mail again, whose link then lets them in.
func TestBrowserRequiredVerification(t *testing.T) {
	t.Parallel()
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := startStack(t, append(accountEnv(outbox), "REQUIRE_EMAIL_VERIFICATION=true")...)
	b := &driver{t: t, ctx: newBrowser(t, 120*time.Second, 1100, 900), dir: artifactsDir(t)}
	const email = "uma@example.com"

	b.run("open the site", chromedp.Navigate(s.URL), chromedp.WaitVisible("#sign-in-form"))
	b.run("to sign-up", chromedp.Click("#switch-mode"), chromedp.WaitVisible("#sign-up-form"))
	b.fill("#su-name", "Uma")
	b.fill("#su-email", email)
	b.fill("#su-password", "password123")
	b.run("sign up", chromedp.Click("#sign-up-submit"), chromedp.WaitVisible("#sign-in-form"))
	b.waitText("#banner", "mailed a verification link to "+email)
	nthMail(t, outbox, email, 1)

	b.fill("#si-password", "password123")
	b.run("sign in unverified", chromedp.Click("#sign-in-submit"))
	b.waitText("#sign-in-error", "not verified")
	b.run("resend", chromedp.WaitVisible("#si-resend"), chromedp.Click("#si-resend"))
	b.waitText("#banner", "mailed a new verification link")
	b.shot("15-resend-at-sign-in")
	link := linkIn(t, nthMail(t, outbox, email, 2), "/verify-email?")

	b.run("follow the link", chromedp.Navigate(link), chromedp.WaitVisible("#verified"))
	b.textIs("#auth-title", "Email verified")
	b.run("continue", chromedp.Click("#verified-continue"), chromedp.WaitVisible("#sign-in-form"))
	b.signIn(email, "password123")
}

// TestBrowserAccountSecurity: profile, email and password changes, the
// session list across two browsers, two-factor enrolment and every second
// factor at sign-in, trusting a device, turning 2FA off, deleting the account.
func TestBrowserAccountSecurity(t *testing.T) {
	t.Parallel()
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	s := startStack(t, accountEnv(outbox)...)
	browser := newBrowser(t, 300*time.Second, 1100, 900)
	dir := artifactsDir(t)
	a := &driver{t: t, ctx: browser, dir: dir}
	// A second Chromium: its own cookies, as another device. (A second
	// browser context of the same Chromium is refused by this headless build:
	// "Failed to open new tab - no browser is open".)
	b := &driver{t: t, ctx: newBrowser(t, 300*time.Second, 1100, 900), dir: dir}
	// Its user agent is markup: the session list must show it as text.
	const evilAgent = `Mozilla/5.0 (X11; Linux x86_64) <img src=x onerror="window.__xss=1"> Firefox/140.0`
	b.run("user agent", emulation.SetUserAgentOverride(evilAgent))

	a.run("open the site", chromedp.Navigate(s.URL), chromedp.WaitVisible("#sign-in-form"))
	a.signUp("Ann Example", "ann@example.com", "password123")
	a.run("verify the email", chromedp.Navigate(linkIn(t, nthMail(t, outbox, "ann@example.com", 1), "/verify-email?")), chromedp.WaitVisible("#verified"))
	a.textIs("#auth-title", "Email verified")
	a.run("continue", chromedp.Click("#verified-continue"), chromedp.WaitVisible("#tasks-view"))
	a.run("account", chromedp.Click("#nav-account"), chromedp.WaitVisible("#account-view"))
	a.textContains("#email-verified", "verified")
	a.poll("no notice", `document.querySelector('#verify-notice').hidden`)
	a.poll("one session, this device", `document.querySelectorAll('#session-list li').length === 1 && document.querySelector('#session-list li').dataset.current === 'true'`)

	// Profile.
	a.fill("#pf-name", "Ann Smith")
	a.run("save profile", chromedp.Click("#profile-submit"))
	a.waitText("#profile-status", "Saved")
	a.textIs("#user-name", "Ann Smith")

	// Change email through the link mailed to the new address.
	a.fill("#em-new", "ann.smith@example.com")
	a.run("change email", chromedp.Click("#email-submit"))
	a.waitText("#email-status", "confirmation link")
	link := linkIn(t, nthMail(t, outbox, "ann.smith@example.com", 1), "/verify-email?")
	a.run("follow the change link", chromedp.Navigate(link), chromedp.WaitVisible("#verified"))
	a.textIs("#auth-title", "Email changed")
	a.run("back to the account", chromedp.Navigate(s.URL+"/account"), chromedp.WaitVisible("#account-view"))
	a.waitText("#current-email", "ann.smith@example.com")
	a.textIs("#email-verified", "verified") // the flag stays, as in Better Auth
	const email = "ann.smith@example.com"

	// Change password: a wrong current one is refused in words.
	a.fill("#pw-current", "wrong-password")
	a.fill("#pw-new", "password456")
	a.run("wrong current password", chromedp.Click("#password-submit"))
	a.waitText("#password-error", "nvalid password")
	a.fill("#pw-current", "password123")
	a.fill("#pw-new", "password456")
	a.run("change password", chromedp.Click("#password-submit"))
	a.waitText("#password-status", "Your password is changed")
	const password = "password456"

	// Sessions: the other browser signs in; Ann ends that session from here.
	b.run("other browser", chromedp.Navigate(s.URL), chromedp.WaitVisible("#sign-in-form"))
	b.signIn(email, password)
	a.run("reload", chromedp.Reload(), chromedp.WaitVisible("#account-view"))
	a.poll("two sessions, one marked", `document.querySelectorAll('#session-list li').length === 2 && document.querySelectorAll('#session-list li[data-current=true]').length === 1 && document.querySelector('#session-list li[data-current=true] .badge').textContent === 'this device'`)
	a.poll("the other browser's user agent is text", fmt.Sprintf(`!document.querySelector('#session-list img') && window.__xss === undefined && [...document.querySelectorAll('#session-list .title')].some(e => e.title === %q)`, evilAgent))
	a.shot("20-two-sessions")
	a.run("revoke the other", chromedp.Click(`#session-list li[data-current=false] button`, chromedp.NodeVisible))
	a.poll("one session left", `document.querySelectorAll('#session-list li').length === 1`)
	b.run("the other browser is signed out", chromedp.Reload(), chromedp.WaitVisible("#sign-in-form"))

	// Sign out everywhere else.
	b.signIn(email, password)
	a.run("reload", chromedp.Reload(), chromedp.WaitVisible("#account-view"))
	a.poll("two sessions", `document.querySelectorAll('#session-list li').length === 2`)
	a.run("everywhere else", chromedp.Click("#revoke-others", chromedp.NodeVisible))
	a.waitText("#sessions-status", "Every other session is signed out")
	a.poll("one session left", `document.querySelectorAll('#session-list li').length === 1`)
	b.run("the other browser is signed out again", chromedp.Reload(), chromedp.WaitVisible("#sign-in-form"))
	a.run("this one still works", chromedp.Reload(), chromedp.WaitVisible("#account-view"))

	// Two-factor enrolment: a wrong password, then the QR code and the key.
	a.textContains("#tf-state", "off")
	a.fill("#tfe-password", "wrong-password")
	a.run("enable, wrong password", chromedp.Click("#tfe-submit"))
	a.waitText("#tfe-error", "nvalid password")
	a.fill("#tfe-password", password)
	a.run("enable", chromedp.Click("#tfe-submit"), chromedp.WaitVisible("#tf-setup-form"))
	a.run("cancel", chromedp.Click("#tfs-cancel"), chromedp.WaitVisible("#tf-enable-form"))
	a.poll("the key is off the page", `document.querySelector('#tf-setup-form').hidden && document.querySelector('#tf-secret').textContent === '' && !document.querySelector('#tf-qr').dataset.uri`)
	a.textContains("#tf-state", "off")
	a.fill("#tfe-password", password)
	a.run("enable again", chromedp.Click("#tfe-submit"), chromedp.WaitVisible("#tf-setup-form"))
	var secret, uri string
	var modules int
	a.run("read the key", chromedp.Evaluate(`document.querySelector('#tf-secret').dataset.secret`, &secret),
		chromedp.Evaluate(`document.querySelector('#tf-qr').dataset.uri`, &uri),
		chromedp.Evaluate(`Number(document.querySelector('#tf-qr').dataset.modules)`, &modules))
	if secret == "" || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) || modules < 21 {
		t.Fatalf("enrolment page: secret %q, uri %q, QR %d modules", secret, uri, modules)
	}
	a.poll("the QR code is drawn", `(() => { const c = document.querySelector('#tf-qr'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let dark = 0; for (let i = 0; i < d.length; i += 4) if (d[i] === 0) dark++; return dark > 1000; })()`)
	a.textContains("#tf-secret", secret[:4])
	a.shot("21-2fa-setup")
	app := &authenticator{t: t, secret: secret}
	a.fill("#tfs-code", app.wrong())
	a.run("a wrong code", chromedp.Click("#tfs-submit"))
	a.waitText("#tfs-error", "Invalid code")
	a.fill("#tfs-code", app.code())
	a.run("verify", chromedp.Click("#tfs-submit"), chromedp.WaitVisible("#backup-codes"))
	var codes []string
	a.run("read the backup codes", chromedp.Evaluate(`[...document.querySelectorAll('#backup-list li')].map(e => e.textContent)`, &codes))
	if len(codes) != 10 {
		t.Fatalf("backup codes shown: %q", codes)
	}
	a.textContains("#tf-state", "on")
	a.shot("22-backup-codes")
	a.run("saved them", chromedp.Click("#backup-done"))
	a.poll("the codes are gone from the page", `document.querySelector('#backup-codes').hidden && document.querySelectorAll('#backup-list li').length === 0`)

	// The other browser signs in with an authenticator code and trusts itself.
	b.fill("#si-email", email)
	b.fill("#si-password", password)
	b.run("password", chromedp.Click("#sign-in-submit"), chromedp.WaitVisible("#two-factor-form"))
	b.poll("TOTP first", `document.querySelector('#tf-method-totp').checked`)
	b.fill("#tf-code", app.wrong())
	b.run("a wrong code", chromedp.Click("#tf-submit"))
	b.waitText("#tf-error", "Invalid code")
	b.shot("23-second-factor")
	b.fill("#tf-code", app.code())
	b.run("trust", chromedp.Click("#tf-trust"))
	b.run("verify", chromedp.Click("#tf-submit"), chromedp.WaitVisible("#tasks-view"))

	// A trusted device skips the second factor.
	b.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))
	b.signIn(email, password)

	// The account page with 2FA on, two sessions and the recent security
	// activity, the other browser's markup user agent among it as text: the
	// README's picture.
	a.run("reload", chromedp.Reload(), chromedp.WaitVisible("#account-view"))
	a.poll("two sessions", `document.querySelectorAll('#session-list li').length === 2`)
	a.textContains("#tf-state", "on")
	a.poll("the activity lists the enrolment and the other browser's sign-ins", `(() => {
		const items = [...document.querySelectorAll('#activity-list li')];
		const has = (type, detail) => items.some(li => li.dataset.type === type && (!detail || (li.querySelector('.detail')?.textContent || '').includes(detail)));
		return has('two-factor-enabled', 'authenticator app') && has('sign-in', 'with an authenticator code') && has('sign-in', 'on a trusted device') && has('sign-out') && has('session-revoked', 'every other session');
	})()`)
	a.poll("the other browser's user agent in the activity is text", fmt.Sprintf(`!document.querySelector('#activity-list img') && window.__xss === undefined && [...document.querySelectorAll('#activity-list .agent')].some(e => e.title === %q && e.textContent === 'Firefox on Linux')`, evilAgent))
	a.shot("24-account-2fa-on")
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		var png []byte
		a.run("README screenshot", chromedp.EmulateViewport(1000, 900), chromedp.FullScreenshot(&png, 100)) // 100: PNG (less is JPEG)
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "img", "account.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		a.run("back", chromedp.EmulateViewport(1100, 900))
	}

	// Ann signs out and back in with each factor: a backup code, the email code.
	a.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))
	a.fill("#si-email", email)
	a.fill("#si-password", password)
	a.run("password", chromedp.Click("#sign-in-submit"), chromedp.WaitVisible("#two-factor-form"))
	a.fill("#tf-code", app.wrong())
	a.run("a wrong code", chromedp.Click("#tf-submit"))
	a.waitText("#tf-error", "Invalid code")
	// Five wrong codes end the challenge: the sixth try is refused whatever
	// the code, and the page goes back to the password, saying why.
	for i := 2; i <= 5; i++ {
		a.run("clear the error", chromedp.Evaluate(`document.querySelector('#tf-error').textContent = ''`, nil))
		a.run(fmt.Sprintf("wrong code %d", i), chromedp.Click("#tf-submit"))
		a.waitText("#tf-error", "Invalid code")
	}
	a.fill("#tf-code", app.wrong())
	a.run("the sixth try", chromedp.Click("#tf-submit"), chromedp.WaitVisible("#sign-in-form"))
	a.waitText("#sign-in-error", "Too many wrong codes")
	a.fill("#si-password", password)
	a.run("password again", chromedp.Click("#sign-in-submit"), chromedp.WaitVisible("#two-factor-form"))
	a.run("backup code", chromedp.Click("#tf-method-backup"))
	a.waitText("#tf-code-label", "backup codes")
	a.fill("#tf-code", codes[0])
	a.run("verify", chromedp.Click("#tf-submit"), chromedp.WaitVisible("#tasks-view"))
	a.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))

	a.fill("#si-email", email)
	a.fill("#si-password", password)
	a.run("password", chromedp.Click("#sign-in-submit"), chromedp.WaitVisible("#two-factor-form"))
	a.run("email code", chromedp.Click("#tf-method-otp"), chromedp.WaitVisible("#tf-send"))
	n := mailCount(t, outbox, email)
	a.run("send", chromedp.Click("#tf-send"))
	a.waitText("#tf-sent", "mailed you a code")
	otp := nthMail(t, outbox, email, n+1).OTP
	if len(otp) != 6 {
		t.Fatalf("mailed code %q", otp)
	}
	a.fill("#tf-code", otp)
	a.run("verify", chromedp.Click("#tf-submit"), chromedp.WaitVisible("#tasks-view"))

	// And with the authenticator once more, by keyboard alone.
	a.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))
	a.fill("#si-email", email)
	a.fill("#si-password", password+"\r")
	a.run("second step", chromedp.WaitVisible("#two-factor-form"))
	a.poll("the code field has focus", `document.activeElement === document.querySelector('#tf-code')`)
	a.run("type the code", chromedp.SendKeys("#tf-code", app.code()+"\r"), chromedp.WaitVisible("#tasks-view"))

	// New backup codes replace the old; then 2FA goes off.
	a.run("account", chromedp.Click("#nav-account"), chromedp.WaitVisible("#tf-manage-form"))
	a.fill("#tfm-password", password)
	a.run("new codes", chromedp.Click("#tfm-codes"), chromedp.WaitVisible("#backup-codes"))
	var fresh []string
	a.run("read them", chromedp.Evaluate(`[...document.querySelectorAll('#backup-list li')].map(e => e.textContent)`, &fresh))
	if len(fresh) != 10 || fresh[0] == codes[0] {
		t.Fatalf("new backup codes %q (old %q)", fresh, codes)
	}
	a.run("saved", chromedp.Click("#backup-done"))
	a.fill("#tfm-password", password)
	a.run("disable", chromedp.Click("#tfm-disable"), chromedp.WaitVisible("#tf-enable-form"))
	a.textContains("#tf-state", "off")
	a.run("sign out", chromedp.Click("#sign-out"), chromedp.WaitVisible("#sign-in-form"))
	a.signIn(email, password) // no second step now

	// Recent security activity: what just happened, newest first, in words.
	a.run("account", chromedp.Click("#nav-account"), chromedp.WaitVisible("#account-view"))
	a.poll("the newest events", `(() => {
		const items = [...document.querySelectorAll('#activity-list li')];
		const types = items.map(li => li.dataset.type);
		const detail = (type, part) => items.some(li => li.dataset.type === type && li.querySelector('.detail')?.textContent.includes(part));
		return types[0] === 'sign-in' && types[1] === 'sign-out' && types[2] === 'two-factor-disabled' && types[3] === 'backup-codes-regenerated' &&
			detail('sign-in', 'with the password') && detail('sign-in', 'with an emailed code') && detail('sign-in', 'with a backup code') &&
			types.includes('backup-code-used') && items.length <= 20 &&
			items[0].querySelector('.title').textContent === 'Signed in';
	})()`)
	a.shot("25-activity")

	// Delete the account: the password is asked for and checked.
	a.run("account", chromedp.Click("#nav-account"), chromedp.WaitVisible("#delete-form"))
	a.fill("#del-password", "wrong-password")
	a.run("delete, wrong password", chromedp.Click("#delete-submit"))
	a.waitText("#delete-error", "nvalid password")
	a.fill("#del-password", password)
	a.run("delete", chromedp.Click("#delete-submit"), chromedp.WaitVisible("#sign-in-form"))
	a.waitText("#banner", "account is deleted")
	a.fill("#si-email", email)
	a.fill("#si-password", password)
	a.run("sign in to the deleted account", chromedp.Click("#sign-in-submit"))
	a.waitText("#sign-in-error", "Wrong email or password")
}

func (d *driver) signIn(email, password string) {
	d.t.Helper()
	d.fill("#si-email", email)
	d.fill("#si-password", password)
	d.run("sign in "+email, chromedp.Click("#sign-in-submit"), chromedp.WaitVisible("#tasks-view"))
}
