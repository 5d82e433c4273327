package identity_test

import (
	"encoding/base32"
	"errors"
	"maps"
	"net/url"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/password"
	"github.com/latchid/latch/services/auth/sealedbox"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
	"github.com/latchid/latch/services/auth/twofactor"
)

// twoFactorFixture: a user with TOTP on, signed in once (the enrolment's
// session), over SQLite, with the revocation feed readable.
type twoFactorFixture struct {
	ids   *identity.Service
	store *sqlstore.IdentityStore
	feed  *sqlstore.RevocationFeed
	clock *clock
	user  identity.User
	key   []byte
	step  int64
}

func newTwoFactorFixture(t *testing.T) *twoFactorFixture {
	t.Helper()
	ctx := t.Context()
	db := sqlstoretest.Open(t, sqldb.SQLite)
	store := sqlstore.NewIdentityStore(db, time.UTC)
	c := &clock{now: start}
	ids := identity.NewService(store, hasher{}, password.Length, identity.DefaultPolicy(), c.Now)
	ids.UseTwoFactor(store, sealedbox.SingleSecret("a-secret-of-at-least-thirty-two-characters"), identity.DefaultTwoFactorPolicy())
	f := &twoFactorFixture{ids: ids, store: store, feed: sqlstore.NewRevocationFeed(db), clock: c}
	user, sess, err := ids.SignUp(ctx, identity.SignUpInput{Name: "Ann", Email: "ann@example.com", Password: pw, RememberMe: true})
	if err != nil {
		t.Fatal(err)
	}
	en, err := ids.EnableTwoFactor(ctx, identity.Authenticated{User: user, Session: sess}, pw, "totp", "", identity.Client{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(en.TOTPURI)
	if err != nil {
		t.Fatal(err)
	}
	if f.key, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(u.Query().Get("secret")); err != nil {
		t.Fatal(err)
	}
	out, err := ids.VerifyTOTP(ctx, identity.Factor{User: user, Session: &sess}, f.code())
	if err != nil || !out.User.TwoFactorEnabled {
		t.Fatalf("enrol: %+v, %v", out, err)
	}
	f.user = out.User
	return f
}

// code is the next unused TOTP code.
func (f *twoFactorFixture) code() string {
	f.step = max(twofactor.DefaultTOTP().Step(f.clock.Now()), f.step+1)
	return twofactor.HOTP(f.key, uint64(f.step), 6)
}

func (f *twoFactorFixture) sessions(t *testing.T) []identity.Session {
	t.Helper()
	got, err := f.ids.ListSessions(t.Context(), f.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func (f *twoFactorFixture) feedHead(t *testing.T) int64 {
	t.Helper()
	head, err := f.feed.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return head
}

// The password step of a 2FA sign-in opens no session: no session row, no
// revocation event (Better Auth opens one and deletes it again), only its
// sign-in event. The session opens at the second factor.
func TestTwoFactorPasswordStepOpensNoSession(t *testing.T) {
	t.Parallel()
	f := newTwoFactorFixture(t)
	ctx := t.Context()
	before, head := f.sessions(t), f.feedHead(t)
	client := identity.Client{IPAddress: "198.51.100.7", UserAgent: "step-agent"}
	f.clock.Advance(time.Minute)

	user, sess, err := f.ids.SignIn(ctx, identity.SignInInput{Email: "ann@example.com", Password: pw, RememberMe: true, Client: client})
	if err != nil || !f.ids.SecondFactorDue(user) {
		t.Fatalf("sign-in: %v, second factor due %v", err, f.ids.SecondFactorDue(user))
	}
	if sess != (identity.Session{}) {
		t.Fatalf("the password step answered a session: %+v", sess)
	}
	// A caller that ignored SecondFactorDue holds no usable token.
	if _, err := f.ids.Authenticate(ctx, sess.Token, identity.SessionOptions{}); !errors.Is(err, identity.ErrUnauthenticated) {
		t.Fatalf("the zero session's token authenticated: %v", err)
	}
	ch, err := f.ids.BeginSecondFactor(ctx, user, true, client, "")
	if err != nil || ch.Trusted || ch.Session != nil || ch.ChallengeID == "" {
		t.Fatalf("challenge: %+v, %v", ch, err)
	}
	if got := f.sessions(t); len(got) != len(before) {
		t.Fatalf("%d sessions after the password step, want %d", len(got), len(before))
	}
	if got := f.feedHead(t); got != head {
		t.Fatalf("the password step wrote revocation events: head %d → %d", head, got)
	}
	events, err := f.store.AuditEvents(ctx, audit.Query{UserID: user.ID, Limit: 1})
	if err != nil || len(events) != 1 {
		t.Fatalf("events: %v, %v", events, err)
	}
	want := map[string]string{audit.DetailMethod: audit.MethodEmail, audit.DetailSecondFactor: "required"}
	if e := events[0]; e.Type != audit.SignIn || !maps.Equal(e.Detail, want) || e.IPAddress != client.IPAddress || e.UserAgent != client.UserAgent || !e.CreatedAt.Equal(f.clock.Now()) {
		t.Fatalf("password step recorded %+v, want sign-in %v from the client", e, want)
	}

	out, err := f.ids.VerifyTOTP(ctx, identity.Factor{User: user, Challenge: ch.ChallengeID, RememberMe: true, Client: client}, f.code())
	if err != nil || !out.NewSession || out.Session == nil || out.Session.AMR != identity.AMROTP {
		t.Fatalf("verify-totp: %+v, %v", out, err)
	}
	if got := f.sessions(t); len(got) != len(before)+1 {
		t.Fatalf("%d sessions after the second factor, want %d", len(got), len(before)+1)
	}
	if got := f.feedHead(t); got != head {
		t.Fatalf("the whole 2FA sign-in wrote revocation events: head %d → %d", head, got)
	}
	if _, err := f.ids.Authenticate(ctx, out.Session.Token, identity.SessionOptions{}); err != nil {
		t.Fatalf("the second factor's session: %v", err)
	}
}

// A trusted device skips the challenge: the password step opens the
// session itself (recorded as before) and rotates the trust record; a
// trust record that is another user's, or expired, opens nothing.
func TestTrustedDevicePasswordStepOpensTheSession(t *testing.T) {
	t.Parallel()
	f := newTwoFactorFixture(t)
	ctx := t.Context()
	ch, err := f.ids.BeginSecondFactor(ctx, f.user, true, identity.Client{}, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.ids.VerifyTOTP(ctx, identity.Factor{User: f.user, Challenge: ch.ChallengeID, RememberMe: true, TrustDevice: true}, f.code())
	if err != nil || out.TrustID == "" {
		t.Fatalf("verify with trustDevice: %+v, %v", out, err)
	}
	before := f.sessions(t)

	// Another user's sign-in presenting Ann's trust id (its MAC is checked
	// by the transport; the record must still be Ann's).
	bob, bobSess, err := f.ids.SignUp(ctx, identity.SignUpInput{Name: "Bob", Email: "bob@example.com", Password: pw, RememberMe: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ids.EnableTwoFactor(ctx, identity.Authenticated{User: bob, Session: bobSess}, pw, "otp", "", identity.Client{}); err != nil {
		t.Fatal(err)
	}
	bob.TwoFactorEnabled = true
	head := f.feedHead(t)
	if got, err := f.ids.BeginSecondFactor(ctx, bob, true, identity.Client{}, out.TrustID); err != nil || got.Trusted || got.Session != nil {
		t.Fatalf("Bob with Ann's trust record: %+v, %v; want a challenge", got, err)
	}

	f.clock.Advance(time.Minute) // the trail lists newest first
	trusted, err := f.ids.BeginSecondFactor(ctx, f.user, false, identity.Client{IPAddress: "198.51.100.9"}, out.TrustID)
	if err != nil || !trusted.Trusted || trusted.Session == nil || trusted.NewTrustID == out.TrustID {
		t.Fatalf("trusted device: %+v, %v", trusted, err)
	}
	if s := trusted.Session; s.UserID != f.user.ID || s.AMR != "" || s.IPAddress != "198.51.100.9" || !s.ExpiresAt.Equal(f.clock.Now().Add(identity.DefaultPolicy().ShortSessionTTL)) {
		t.Fatalf("trusted session %+v: want Ann's, no amr, remember me off", s)
	}
	if got := f.sessions(t); len(got) != len(before)+1 {
		t.Fatalf("%d sessions, want %d", len(got), len(before)+1)
	}
	if got := f.feedHead(t); got != head {
		t.Fatalf("a trusted sign-in wrote revocation events: head %d → %d", head, got)
	}
	events, err := f.store.AuditEvents(ctx, audit.Query{UserID: f.user.ID, Limit: 1})
	if err != nil || len(events) != 1 || events[0].Type != audit.SignIn || events[0].Detail[audit.DetailSecondFactor] != audit.SecondFactorTrustedDevice {
		t.Fatalf("trusted sign-in recorded %+v, %v; want secondFactor trusted-device (a session opened)", events, err)
	}

	f.clock.Advance(twofactor.TrustDeviceTTL + time.Second)
	if late, err := f.ids.BeginSecondFactor(ctx, f.user, true, identity.Client{}, trusted.NewTrustID); err != nil || late.Trusted || late.Session != nil {
		t.Fatalf("expired trust: %+v, %v; want a challenge", late, err)
	}
}
