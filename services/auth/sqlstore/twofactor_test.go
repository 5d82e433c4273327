package sqlstore_test

import (
	"context"
	"encoding/base32"
	"errors"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/mail"
	"github.com/latchid/latch/services/auth/password"
	"github.com/latchid/latch/services/auth/sealedbox"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/twofactor"
)

// clock is a time the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type hasher struct{}

func (hasher) Hash(pw string) (string, error)    { return password.Hash(pw) }
func (hasher) Verify(h, pw string) (bool, error) { return password.Verify(h, pw) }

// twoFactorRig is the identity service with the two-factor plugin over a
// real store, on a clock the test controls, and one enrolled user.
type twoFactorRig struct {
	ids  *identity.Service
	clk  *clock
	user identity.User
	sess identity.Session
	key  []byte
	last int64
}

const rigPassword = "correct horse battery"

func newTwoFactorRig(t *testing.T, dialect sqldb.Dialect) *twoFactorRig {
	t.Helper()
	ctx := context.Background()
	store := sqlstore.NewIdentityStore(openFresh(t, dialect), time.UTC)
	clk := &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	ids := identity.NewService(store, hasher{}, password.Length, identity.DefaultPolicy(), clk.Now)
	outbox, err := mail.NewOutbox(filepath.Join(t.TempDir(), "outbox.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	ids.UseMail(outbox, identity.DefaultMailPolicy())
	ids.UseTwoFactor(store, sealedbox.SingleSecret("a-secret-of-at-least-thirty-two-chars"), identity.DefaultTwoFactorPolicy())
	user, sess, err := ids.SignUp(ctx, identity.SignUpInput{Name: "Ann", Email: "ann@example.com", Password: rigPassword, RememberMe: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := ids.EnableTwoFactor(ctx, identity.Authenticated{User: user, Session: sess}, rigPassword, "totp", "", identity.Client{})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(res.TOTPURI)
	r := &twoFactorRig{ids: ids, clk: clk, user: user, sess: sess}
	r.key = mustBase32(t, u.Query().Get("secret"))
	out, err := ids.VerifyTOTP(ctx, identity.Factor{User: user, Session: &sess}, r.code())
	if err != nil {
		t.Fatal(err)
	}
	r.user, r.sess = out.User, *out.Session
	return r
}

// code is the current step's code, or the next step's when the current one was used.
func (r *twoFactorRig) code() string {
	p := twofactor.DefaultTOTP()
	step := max(p.Step(r.clk.Now()), r.last+1)
	r.last = step
	return twofactor.HOTP(r.key, uint64(step), 6)
}

func (r *twoFactorRig) challenge(t *testing.T, trustID string) identity.SignInChallenge {
	t.Helper()
	ch, err := r.ids.BeginSecondFactor(context.Background(), r.user, true, identity.Client{}, trustID)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func (r *twoFactorRig) factor(ch identity.SignInChallenge) identity.Factor {
	return identity.Factor{User: r.user, Challenge: ch.ChallengeID, RememberMe: true}
}

func mustBase32(t *testing.T, s string) []byte {
	t.Helper()
	key, err := base32NoPad.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func eachDialect(t *testing.T, fn func(t *testing.T, r *twoFactorRig)) {
	for _, d := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(d), func(t *testing.T) {
			t.Parallel()
			fn(t, newTwoFactorRig(t, d))
		})
	}
}

func TestTwoFactorLockoutLastsFifteenMinutes(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, r *twoFactorRig) {
		ctx := context.Background()
		for round := range 2 {
			ch := r.challenge(t, "")
			for i := range 5 {
				if _, err := r.ids.VerifyTOTP(ctx, r.factor(ch), "000000"); !errors.Is(err, identity.ErrInvalidCode) {
					t.Fatalf("round %d wrong code %d: %v", round, i, err)
				}
			}
			if _, err := r.ids.VerifyTOTP(ctx, r.factor(ch), r.code()); !errors.Is(err, identity.ErrTooManyAttempts) && round == 0 {
				t.Fatalf("sixth try: %v, want ErrTooManyAttempts", err)
			}
		}
		ch := r.challenge(t, "")
		if _, err := r.ids.VerifyTOTP(ctx, r.factor(ch), r.code()); !errors.Is(err, identity.ErrAccountLocked) {
			t.Fatalf("after ten failures: %v, want ErrAccountLocked", err)
		}
		r.clk.Advance(15*time.Minute - time.Second)
		ch = r.challenge(t, "")
		if _, err := r.ids.VerifyTOTP(ctx, r.factor(ch), r.code()); !errors.Is(err, identity.ErrAccountLocked) {
			t.Fatalf("a second before the lock ends: %v", err)
		}
		r.clk.Advance(2 * time.Second)
		ch = r.challenge(t, "")
		if _, err := r.ids.VerifyTOTP(ctx, r.factor(ch), r.code()); err != nil {
			t.Fatalf("after the lock: %v", err)
		}
	})
}

func TestTrustedDeviceLivesThirtyDaysAndRotates(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, r *twoFactorRig) {
		ctx := context.Background()
		f := r.factor(r.challenge(t, ""))
		f.TrustDevice = true
		out, err := r.ids.VerifyTOTP(ctx, f, r.code())
		if err != nil || out.TrustID == "" {
			t.Fatalf("verify with trustDevice: %+v, %v", out, err)
		}
		r.clk.Advance(29 * 24 * time.Hour)
		ch := r.challenge(t, out.TrustID)
		if !ch.Trusted || ch.NewTrustID == out.TrustID {
			t.Fatalf("29 days later: %+v, want trusted and rotated", ch)
		}
		if again := r.challenge(t, out.TrustID); again.Trusted {
			t.Fatal("the rotated-out trust record still trusts")
		}
		// The rotated record lives 30 days from its rotation.
		r.clk.Advance(30*24*time.Hour - time.Second)
		if ch2 := r.challenge(t, ch.NewTrustID); !ch2.Trusted {
			t.Fatal("a rotated record expired early")
		} else {
			r.clk.Advance(30*24*time.Hour + time.Second)
			if late := r.challenge(t, ch2.NewTrustID); late.Trusted {
				t.Fatal("a trust record older than 30 days still trusts")
			}
		}
	})
}

func TestChallengeAndMailedCodeExpire(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, r *twoFactorRig) {
		ctx := context.Background()
		ch := r.challenge(t, "")
		if err := r.ids.SendOTP(ctx, r.factor(ch)); err != nil {
			t.Fatal(err)
		}
		r.clk.Advance(twofactor.OTPTTL + time.Second)
		if _, err := r.ids.VerifyOTP(ctx, r.factor(ch), "123456", ""); !errors.Is(err, identity.ErrOTPExpired) {
			t.Fatalf("a mailed code after 3 minutes: %v", err)
		}
		r.clk.Advance(twofactor.ChallengeTTL)
		if _, err := r.ids.ResolveChallenge(ctx, ch.ChallengeID); !errors.Is(err, identity.ErrInvalidTwoFactorCookie) {
			t.Fatalf("a challenge after 10 minutes: %v", err)
		}
	})
}

func TestTOTPStepIsAcceptedOnce(t *testing.T) {
	t.Parallel()
	eachDialect(t, func(t *testing.T, r *twoFactorRig) {
		ctx := context.Background()
		p := twofactor.DefaultTOTP()
		r.clk.Advance(time.Minute)
		now := p.Step(r.clk.Now())
		code := twofactor.HOTP(r.key, uint64(now), 6)
		if _, err := r.ids.VerifyTOTP(ctx, r.factor(r.challenge(t, "")), code); err != nil {
			t.Fatal(err)
		}
		for _, step := range []int64{now, now - 1} {
			old := twofactor.HOTP(r.key, uint64(step), 6)
			if _, err := r.ids.VerifyTOTP(ctx, r.factor(r.challenge(t, "")), old); !errors.Is(err, identity.ErrInvalidCode) {
				t.Errorf("code of step %d after step %d was used: %v, want ErrInvalidCode", step, now, err)
			}
		}
	})
}

var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)
