package identity_test

// The identity rules over the real store on SQLite (the same Store
// conformance suite as PostgreSQL, sqlstore), the real outbox mailer and
// password length measure, with a clock the test moves: lifetimes are tested by
// moving time, not by rewriting rows. Nothing here needs PostgreSQL.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/mail"
	"github.com/latchid/latch/services/auth/password"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

// clock is the service's time, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// A whole second: verification tokens carry exp in seconds.
var start = time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)

// hasher is a salted SHA-256: a real hash, but cheap. The service's scrypt
// (package password, tested there) costs ~100 ms and 32 MiB per hash, tens
// of seconds across these tests under -race; no rule here depends on which
// hash is used, only on Hash and Verify agreeing.
type hasher struct{}

func (hasher) Hash(pw string) (string, error) {
	salt := make([]byte, 16)
	_, _ = rand.Read(salt)
	sum := sha256.Sum256(append(salt, pw...))
	return hex.EncodeToString(salt) + ":" + hex.EncodeToString(sum[:]), nil
}

func (hasher) Verify(hash, pw string) (bool, error) {
	saltHex, sumHex, ok := strings.Cut(hash, ":")
	salt, err := hex.DecodeString(saltHex)
	if !ok || err != nil {
		return false, errors.New("malformed hash")
	}
	sum := sha256.Sum256(append(salt, pw...))
	return subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(sumHex)) == 1, nil
}

type fixture struct {
	ids    *identity.Service
	store  identity.Store
	clock  *clock
	outbox string
}

type options struct {
	requireVerification bool
	mailPolicy          func(*identity.MailPolicy)
}

func newFixture(t *testing.T, opt options) *fixture {
	t.Helper()
	store := sqlstore.NewIdentityStore(sqlstoretest.Open(t, sqldb.SQLite), time.UTC)
	c := &clock{now: start}
	ids := identity.NewService(store, hasher{}, password.Length, identity.DefaultPolicy(), c.Now)
	outbox := filepath.Join(t.TempDir(), "outbox.jsonl")
	mailer, err := mail.NewOutbox(outbox)
	if err != nil {
		t.Fatal(err)
	}
	mp := identity.DefaultMailPolicy()
	mp.APIBaseURL = "http://localhost:3001/api/auth"
	mp.Secret = "a-secret-of-at-least-thirty-two-characters"
	mp.AnonymousFloor = 0
	mp.RequireEmailVerification = opt.requireVerification
	if opt.mailPolicy != nil {
		opt.mailPolicy(&mp)
	}
	ids.UseMail(mailer, mp)
	return &fixture{ids: ids, store: store, clock: c, outbox: outbox}
}

const pw = "correct horse battery"

func (f *fixture) signUp(t *testing.T, email string, remember bool) (identity.User, identity.Session) {
	t.Helper()
	u, s, err := f.ids.SignUp(t.Context(), identity.SignUpInput{Name: "Ann", Email: email, Password: pw, RememberMe: remember})
	if err != nil {
		t.Fatalf("sign-up %s: %v", email, err)
	}
	return u, s
}

// lastLink is the link in the newest mail of the outbox that matches re.
func (f *fixture) lastLink(t *testing.T, re *regexp.Regexp) string {
	t.Helper()
	file, err := os.Open(f.outbox)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	var found string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var m struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if g := re.FindStringSubmatch(m.Text); g != nil {
			found = g[1]
		}
	}
	if found == "" {
		t.Fatalf("no mail in the outbox matches %s", re)
	}
	return found
}

var (
	resetLink  = regexp.MustCompile(`/reset-password/([A-Za-z0-9]+)\?`)
	verifyLink = regexp.MustCompile(`/verify-email\?token=([^&\s]+)`)
)

func TestSignUpRules(t *testing.T) {
	f := newFixture(t, options{})
	f.signUp(t, "taken@example.com", true)
	tests := []struct {
		name     string
		email    string
		password string
		remember bool
		want     error
		ttl      time.Duration
	}{
		{"remembered session lasts SessionTTL", "ann@example.com", pw, true, nil, 7 * 24 * time.Hour},
		{"remember me off lasts ShortSessionTTL", "bob@example.com", pw, false, nil, 24 * time.Hour},
		{"invalid email", "not-an-email", pw, true, identity.ErrInvalidEmail, 0},
		{"password of 7 is too short", "cy@example.com", "1234567", true, identity.ErrPasswordTooShort, 0},
		{"password of 8 is enough", "dee@example.com", "12345678", true, nil, 7 * 24 * time.Hour},
		{"password of 129 is too long", "eve@example.com", strings.Repeat("a", 129), true, identity.ErrPasswordTooLong, 0},
		{"taken email, other case", "Taken@Example.COM", pw, true, identity.ErrUserExists, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, s, err := f.ids.SignUp(t.Context(), identity.SignUpInput{Name: "N", Email: tc.email, Password: tc.password, RememberMe: tc.remember})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want != nil {
				if tc.want == identity.ErrUserExists {
					return
				}
				if _, err := f.store.UserByEmail(t.Context(), identity.NormalizeEmail(tc.email)); !errors.Is(err, identity.ErrNotFound) {
					t.Errorf("refused sign-up wrote a user (lookup err %v)", err)
				}
				return
			}
			if u.Email != identity.NormalizeEmail(tc.email) || u.EmailVerified {
				t.Errorf("user = %+v", u)
			}
			if got := s.ExpiresAt.Sub(s.CreatedAt); got != tc.ttl || !s.CreatedAt.Equal(start) {
				t.Errorf("session created %v lasts %v, want %v from %v", s.CreatedAt, got, tc.ttl, start)
			}
		})
	}
}

func TestSignInRules(t *testing.T) {
	f := newFixture(t, options{})
	f.signUp(t, "ann@example.com", true)
	tests := []struct {
		name, email, password string
		want                  error
	}{
		{"right password", "ann@example.com", pw, nil},
		{"email in another case", "ANN@example.com", pw, nil},
		{"wrong password", "ann@example.com", pw + "!", identity.ErrInvalidCredentials},
		{"unknown email answers the same", "nobody@example.com", pw, identity.ErrInvalidCredentials},
		{"invalid email", "ann", pw, identity.ErrInvalidEmail},
		{"password over the maximum is refused before hashing", "ann@example.com", strings.Repeat("a", 129), identity.ErrPasswordTooLong},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, s, err := f.ids.SignIn(t.Context(), identity.SignInInput{Email: tc.email, Password: tc.password, RememberMe: true})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && s.Token == "" {
				t.Error("no session opened")
			}
		})
	}
}

func TestSignInWaitsForVerificationWhenRequired(t *testing.T) {
	f := newFixture(t, options{requireVerification: true})
	u, s, err := f.ids.SignUp(t.Context(), identity.SignUpInput{Name: "Ann", Email: "ann@example.com", Password: pw})
	if err != nil || s.Token != "" {
		t.Fatalf("sign-up: session %q, err %v; want no session", s.Token, err)
	}
	in := identity.SignInInput{Email: "ann@example.com", Password: pw}
	if _, _, err := f.ids.SignIn(t.Context(), in); !errors.Is(err, identity.ErrEmailNotVerified) {
		t.Fatalf("unverified sign-in: %v, want ErrEmailNotVerified", err)
	}
	// A taken address gets the answer of a new one: a user, no session, no error.
	dup, s, err := f.ids.SignUp(t.Context(), identity.SignUpInput{Name: "Eve", Email: "ann@example.com", Password: pw})
	if err != nil || s.Token != "" || dup.ID == u.ID {
		t.Fatalf("duplicate sign-up: user %s session %q err %v", dup.ID, s.Token, err)
	}
	verified := true
	if _, err := f.store.UpdateUser(t.Context(), u.ID, identity.UserPatch{EmailVerified: &verified}, start); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.ids.SignIn(t.Context(), in); err != nil {
		t.Fatalf("verified sign-in: %v", err)
	}
}

// Better Auth's sliding refresh: a remembered session's expiry moves to
// now+SessionTTL once it was last set UpdateAge (1 day) ago, and the
// session ends at its expiry.
func TestSessionRefreshAndExpiry(t *testing.T) {
	const day = 24 * time.Hour
	tests := []struct {
		name          string
		remember      bool
		after         time.Duration
		noRefresh     bool
		wantErr       error
		wantRefreshed bool
		wantExpires   time.Duration // after start
	}{
		{"fresh session is not extended", true, time.Minute, false, nil, false, 7 * day},
		{"just under a day is not extended", true, day - time.Millisecond, false, nil, false, 7 * day},
		{"a day after its expiry was set it slides", true, day, false, nil, true, 8 * day},
		{"six days on it slides to a full week again", true, 6 * day, false, nil, true, 13 * day},
		{"NoRefresh keeps the expiry", true, 3 * day, true, nil, false, 7 * day},
		{"at its expiry it is still live", true, 7 * day, true, nil, false, 7 * day},
		{"past its expiry it is gone", true, 7*day + time.Millisecond, false, identity.ErrUnauthenticated, false, 0},
		{"remember me off ends after a day", false, day + time.Millisecond, true, identity.ErrUnauthenticated, false, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, options{})
			_, s := f.signUp(t, "ann@example.com", tc.remember)
			f.clock.Advance(tc.after)
			auth, err := f.ids.Authenticate(t.Context(), s.Token, identity.SessionOptions{NoRefresh: tc.noRefresh})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				// An expired session is deleted, not only refused.
				if _, _, err := f.store.SessionByToken(t.Context(), s.Token); !errors.Is(err, identity.ErrNotFound) {
					t.Errorf("expired session still stored (err %v)", err)
				}
				return
			}
			if auth.Refreshed != tc.wantRefreshed || !auth.Session.ExpiresAt.Equal(start.Add(tc.wantExpires)) {
				t.Errorf("refreshed %v, expires %v; want %v, %v", auth.Refreshed, auth.Session.ExpiresAt, tc.wantRefreshed, start.Add(tc.wantExpires))
			}
			stored, _, err := f.store.SessionByToken(t.Context(), s.Token)
			if err != nil || !stored.ExpiresAt.Equal(auth.Session.ExpiresAt) {
				t.Errorf("stored expiry %v (err %v), answered %v", stored.ExpiresAt, err, auth.Session.ExpiresAt)
			}
		})
	}
}

// A session that keeps being used lives on; one left alone ends a week
// after its last extension.
func TestSlidingKeepsAUsedSessionAlive(t *testing.T) {
	f := newFixture(t, options{})
	_, s := f.signUp(t, "ann@example.com", true)
	for range 10 { // ten days, used daily
		f.clock.Advance(24 * time.Hour)
		if _, err := f.ids.Authenticate(t.Context(), s.Token, identity.SessionOptions{}); err != nil {
			t.Fatalf("day %v: %v", f.clock.Now().Sub(start), err)
		}
	}
	f.clock.Advance(7*24*time.Hour + time.Millisecond)
	if _, err := f.ids.Authenticate(t.Context(), s.Token, identity.SessionOptions{}); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("a week unused: %v, want ErrUnauthenticated", err)
	}
}

func TestFreshness(t *testing.T) {
	tests := []struct {
		after time.Duration
		want  error
	}{
		{0, nil},
		{24*time.Hour - time.Millisecond, nil},
		{24 * time.Hour, identity.ErrSessionNotFresh},
	}
	for _, tc := range tests {
		t.Run(tc.after.String(), func(t *testing.T) {
			f := newFixture(t, options{})
			_, s := f.signUp(t, "ann@example.com", true)
			f.clock.Advance(tc.after)
			// Sliding the expiry does not make a session fresh again.
			auth, err := f.ids.Authenticate(t.Context(), s.Token, identity.SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.ids.RequireFresh(auth.Session); !errors.Is(err, tc.want) {
				t.Fatalf("RequireFresh = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestResetTokenLifetime(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  error
	}{
		{"within the hour", time.Hour - time.Millisecond, nil},
		{"at the hour", time.Hour, nil},
		{"past the hour", time.Hour + time.Millisecond, identity.ErrInvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, options{})
			_, s := f.signUp(t, "ann@example.com", true)
			if err := f.ids.RequestPasswordReset(t.Context(), "ann@example.com", "/reset"); err != nil {
				t.Fatal(err)
			}
			token := f.lastLink(t, resetLink)
			f.clock.Advance(tc.after)
			if err := f.ids.CheckResetToken(t.Context(), token); !errors.Is(err, tc.want) {
				t.Fatalf("CheckResetToken = %v, want %v", err, tc.want)
			}
			const newPW = "a brand new password"
			if err := f.ids.ResetPassword(t.Context(), token, newPW); !errors.Is(err, tc.want) {
				t.Fatalf("ResetPassword = %v, want %v", err, tc.want)
			}
			signIn := func(p string) error {
				_, _, err := f.ids.SignIn(t.Context(), identity.SignInInput{Email: "ann@example.com", Password: p})
				return err
			}
			if tc.want != nil {
				if err := signIn(pw); err != nil {
					t.Errorf("a refused reset changed the password: %v", err)
				}
				return
			}
			if err := signIn(newPW); err != nil {
				t.Errorf("new password: %v", err)
			}
			if err := signIn(pw); !errors.Is(err, identity.ErrInvalidCredentials) {
				t.Errorf("old password: %v, want ErrInvalidCredentials", err)
			}
			if err := f.ids.ResetPassword(t.Context(), token, "yet another password"); !errors.Is(err, identity.ErrInvalidToken) {
				t.Errorf("second use: %v, want ErrInvalidToken", err)
			}
			if _, err := f.ids.Authenticate(t.Context(), s.Token, identity.SessionOptions{}); !errors.Is(err, identity.ErrUnauthenticated) {
				t.Errorf("session from before the reset: %v, want ErrUnauthenticated", err)
			}
		})
	}
}

func TestResetRules(t *testing.T) {
	f := newFixture(t, options{})
	f.signUp(t, "ann@example.com", true)
	if err := f.ids.RequestPasswordReset(t.Context(), "ann@example.com", "/"); err != nil {
		t.Fatal(err)
	}
	token := f.lastLink(t, resetLink)
	tests := []struct {
		name, token, password string
		want                  error
	}{
		{"no token", "", "a brand new password", identity.ErrInvalidToken},
		{"unknown token", "nope" + token, "a brand new password", identity.ErrInvalidToken},
		{"new password too short", token, "short", identity.ErrPasswordTooShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.ids.ResetPassword(t.Context(), tc.token, tc.password); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The refusals above did not consume the token.
	if err := f.ids.CheckResetToken(t.Context(), token); err != nil {
		t.Fatalf("token after refused attempts: %v", err)
	}
	// An unknown address gets the same answer and no mail.
	if err := f.ids.RequestPasswordReset(t.Context(), "nobody@example.com", "/"); err != nil {
		t.Fatalf("unknown address: %v", err)
	}
	if got := f.lastLink(t, resetLink); got != token {
		t.Fatal("a mail went out for an unknown address")
	}
}

func TestVerificationLinkLifetime(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		want  error
	}{
		{"within the hour", time.Hour - time.Second, nil},
		{"at the hour", time.Hour, identity.ErrTokenExpired},
		{"a day later", 24 * time.Hour, identity.ErrTokenExpired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, options{})
			f.signUp(t, "ann@example.com", true)
			if err := f.ids.SendVerificationEmail(t.Context(), "ann@example.com", "/", nil); err != nil {
				t.Fatal(err)
			}
			token := f.lastLink(t, verifyLink)
			f.clock.Advance(tc.after)
			v, err := f.ids.VerifyEmail(t.Context(), token, nil, identity.Client{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("VerifyEmail = %v, want %v", err, tc.want)
			}
			u, err := f.store.UserByEmail(t.Context(), "ann@example.com")
			if err != nil {
				t.Fatal(err)
			}
			if u.EmailVerified != (tc.want == nil) || (tc.want == nil && !v.User.EmailVerified) {
				t.Errorf("email verified = %v after %v", u.EmailVerified, tc.after)
			}
		})
	}
}

func TestVerificationRules(t *testing.T) {
	f := newFixture(t, options{})
	ann, _ := f.signUp(t, "ann@example.com", true)
	f.signUp(t, "bob@example.com", true)
	if err := f.ids.SendVerificationEmail(t.Context(), "ann@example.com", "/", nil); err != nil {
		t.Fatal(err)
	}
	token := f.lastLink(t, verifyLink)
	bob, err := f.store.UserByEmail(t.Context(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		email   string
		current *identity.Authenticated
		want    error
	}{
		{"signed in as someone else", "ann@example.com", &identity.Authenticated{User: bob}, identity.ErrEmailMismatch},
		{"invalid email", "ann", nil, identity.ErrInvalidEmail},
		{"unknown address answers alike", "nobody@example.com", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := f.ids.SendVerificationEmail(t.Context(), tc.email, "/", tc.current); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := f.ids.VerifyEmail(t.Context(), token[:len(token)-2]+"xx", nil, identity.Client{}); !errors.Is(err, identity.ErrInvalidToken) {
		t.Errorf("tampered token: %v, want ErrInvalidToken", err)
	}
	for range 2 { // following a link twice answers success twice
		v, err := f.ids.VerifyEmail(t.Context(), token, nil, identity.Client{})
		if err != nil || v.User.ID != ann.ID || !v.User.EmailVerified {
			t.Fatalf("VerifyEmail: %+v, %v", v.User, err)
		}
	}
	verified, _ := f.store.UserByEmail(t.Context(), "ann@example.com")
	if err := f.ids.SendVerificationEmail(t.Context(), "ann@example.com", "/", &identity.Authenticated{User: verified}); !errors.Is(err, identity.ErrEmailAlreadyVerified) {
		t.Errorf("verified user asks again: %v, want ErrEmailAlreadyVerified", err)
	}
}

func TestMailFlowsOffWithoutAMailer(t *testing.T) {
	store := sqlstore.NewIdentityStore(sqlstoretest.Open(t, sqldb.SQLite), time.UTC)
	ids := identity.NewService(store, hasher{}, password.Length, identity.DefaultPolicy(), nil)
	ctx := context.Background()
	if err := ids.RequestPasswordReset(ctx, "ann@example.com", "/"); !errors.Is(err, identity.ErrResetPasswordDisabled) {
		t.Errorf("reset: %v", err)
	}
	if err := ids.SendVerificationEmail(ctx, "ann@example.com", "/", nil); !errors.Is(err, identity.ErrVerificationEmailNotEnabled) {
		t.Errorf("verification: %v", err)
	}
}
