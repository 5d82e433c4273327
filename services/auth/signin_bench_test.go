package main

// Benchmarks behind bench/auth/run's two-factor and audit lines (issue #16,
// "Performance"); bench/README.md records their figures.

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/password"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/twofactor"
)

func p50(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// benchJSON decodes a response body, failing the benchmark on a bad one.
func benchJSON(b *testing.B, r response, what string) map[string]any {
	b.Helper()
	var m map[string]any
	if r.status != http.StatusOK || json.Unmarshal(r.body, &m) != nil {
		b.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	return m
}

func benchCookie(b *testing.B, r response, name string) string {
	b.Helper()
	c := r.cookie(name)
	if c == "" {
		b.Fatalf("no %s cookie in %v", name, r.header.Values("Set-Cookie"))
	}
	return strings.SplitN(c, ";", 2)[0]
}

// BenchmarkSignInSecondFactor: the p50 latency of a plain email sign-in
// beside a two-factor user's sign-in (the password step, then
// verify-totp), through the real HTTP stack on PostgreSQL, one request at a
// time, the two kinds alternating so that drift hits both alike. b.N is
// the sample size per kind; each 2FA sample uses its own user (a TOTP code
// is accepted once). Reports plain-p50-ms, totp-step-p50-ms, 2fa-p50-ms and
// added-p50-ms (2fa − plain; the target is ≤ 5 ms).
func BenchmarkSignInSecondFactor(b *testing.B) {
	ts := startAuth(b, map[string]string{"AUTH_PLUGINS": "two-factor", "MAIL_OUTBOX": filepath.Join(b.TempDir(), "outbox.jsonl")})
	const pw = "correct horse battery"
	type user struct {
		email string
		key   []byte
	}
	plain := make([]string, b.N)
	enrolled := make([]user, b.N)
	for i := range b.N {
		plain[i] = fmt.Sprintf("plain-%d@example.com", i)
		ts.signUp(plain[i], pw)
		u := user{email: fmt.Sprintf("totp-%d@example.com", i)}
		cookie := benchCookie(b, ts.signUp(u.email, pw), "better-auth.session_token")
		en := benchJSON(b, ts.post("/api/auth/two-factor/enable", fmt.Sprintf(`{"password":%q}`, pw), cookieHeader(cookie)), "enable")
		uri, err := url.Parse(en["totpURI"].(string))
		if err != nil {
			b.Fatal(err)
		}
		if u.key, err = base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(uri.Query().Get("secret")); err != nil {
			b.Fatal(err)
		}
		code := twofactor.HOTP(u.key, uint64(twofactor.DefaultTOTP().Step(time.Now())), 6)
		benchJSON(b, ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, code), cookieHeader(cookie)), "enrol")
		enrolled[i] = u
	}
	// The enrolment used each user's current step; the measured code is the next one (within the skew).
	var plainT, passwordT, totpT, totalT []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		benchJSON(b, ts.post("/api/auth/sign-in/email", signInBody(plain[i], pw), nil), "plain sign-in")
		plainT = append(plainT, time.Since(start))

		u := enrolled[i]
		start = time.Now()
		r := ts.post("/api/auth/sign-in/email", signInBody(u.email, pw), nil)
		if benchJSON(b, r, "2fa sign-in")["twoFactorRedirect"] != true {
			b.Fatalf("a 2FA user's sign-in answered %s", r.body)
		}
		mid := time.Now()
		code := twofactor.HOTP(u.key, uint64(twofactor.DefaultTOTP().Step(time.Now())+1), 6)
		benchJSON(b, ts.post("/api/auth/two-factor/verify-totp", fmt.Sprintf(`{"code":%q}`, code), cookieHeader(benchCookie(b, r, "better-auth.two_factor"))), "verify-totp")
		end := time.Now()
		passwordT, totpT, totalT = append(passwordT, mid.Sub(start)), append(totpT, end.Sub(mid)), append(totalT, end.Sub(start))
	}
	b.StopTimer()
	b.ReportMetric(ms(p50(plainT)), "plain-p50-ms")
	b.ReportMetric(ms(p50(passwordT)), "2fa-password-step-p50-ms")
	b.ReportMetric(ms(p50(totpT)), "totp-step-p50-ms")
	b.ReportMetric(ms(p50(totalT)), "2fa-p50-ms")
	b.ReportMetric(ms(p50(totalT))-ms(p50(plainT)), "added-p50-ms")
}

// auditSwitch is the identity store with the sign-in's audit write taken
// out for requests whose context says so: CreateSession then gets no events
// (a single INSERT, as before the audit trail). It is the honest "without"
// baseline: the same process, service, hash queue, database, users and code
// path, minus the audit insert and the transaction around it.
type auditSwitch struct{ identity.Store }

type skipAudit struct{}

func (s auditSwitch) CreateSession(ctx context.Context, sess identity.Session, events ...audit.Event) error {
	if ctx.Value(skipAudit{}) != nil {
		events = nil
	}
	return s.Store.CreateSession(ctx, sess, events...)
}

// BenchmarkSignInAuditCost: password sign-ins (identity.Service with the
// real scrypt hasher, PostgreSQL) with and without the audit insert, b.N of
// each, 8 in flight. The two kinds alternate request by request through one
// service (one queue for the hash), so both run side by side under the same
// load (this machine is shared: rounds run one after the other saw the load
// change between them). Sign-in is CPU-bound, so its throughput falls by
// the share its time per request grows: audit-cost-% = (with − without) ÷
// without of the mean time per sign-in (the target is ≤ 2 %). Also reports
// both means and the combined rate.
func BenchmarkSignInAuditCost(b *testing.B) {
	db, err := sqldb.Open(context.Background(), testdb.New(b), sqldb.DefaultPool())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := sqlstore.Migrate(context.Background(), db); err != nil {
		b.Fatal(err)
	}
	store := sqlstore.NewIdentityStore(db, time.UTC)
	const pw = "correct horse battery"
	hash, err := password.Hash(pw)
	if err != nil {
		b.Fatal(err)
	}
	const users = 64
	emails := make([]string, users)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range emails {
		emails[i] = fmt.Sprintf("user-%d@example.com", i)
		u := identity.User{ID: identity.NewID(), Name: "U", Email: emails[i], CreatedAt: now, UpdatedAt: now}
		a := identity.Account{ID: identity.NewID(), AccountID: u.ID, ProviderID: identity.CredentialProvider, UserID: u.ID, Password: &hash, CreatedAt: now, UpdatedAt: now}
		if err := store.CreateUser(context.Background(), u, a); err != nil {
			b.Fatal(err)
		}
	}
	ids := identity.NewService(auditSwitch{store}, passwordHasher{}, password.Length, identity.DefaultPolicy(), nil)
	contexts := [2]context.Context{context.WithValue(context.Background(), skipAudit{}, true), context.Background()}
	var (
		next  atomic.Int64
		mu    sync.Mutex
		spent [2]time.Duration
		count [2]int
		wg    sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(2*b.N) {
					return
				}
				kind := int(i % 2)
				t0 := time.Now()
				if _, _, err := ids.SignIn(contexts[kind], identity.SignInInput{Email: emails[i%users], Password: pw}); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				spent[kind] += d
				count[kind]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if count[0] == 0 || count[1] == 0 {
		b.Fatal("no sign-in completed")
	}
	meanWithout := ms(spent[0]) / float64(count[0])
	meanWith := ms(spent[1]) / float64(count[1])
	b.ReportMetric(meanWith, "with-audit-ms/signin")
	b.ReportMetric(meanWithout, "without-audit-ms/signin")
	b.ReportMetric(float64(count[0]+count[1])/elapsed.Seconds(), "signins/s")
	b.ReportMetric(100*(meanWith-meanWithout)/meanWithout, "audit-cost-%")
}
