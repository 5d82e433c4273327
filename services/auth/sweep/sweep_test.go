package sweep_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testlog"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
	"github.com/latchid/latch/services/auth/sweep"
)

// fixture is an auth database with one user, seen through the identity
// store the service uses.
type fixture struct {
	db    *sqldb.DB
	store *sqlstore.IdentityStore
	user  string
	now   time.Time
}

func newFixture(t *testing.T, dialect sqldb.Dialect, zone *time.Location) *fixture {
	t.Helper()
	db := sqlstoretest.Open(t, dialect)
	f := &fixture{db: db, store: sqlstore.NewIdentityStore(db, zone), now: time.Now().UTC().Truncate(time.Millisecond)}
	u := identity.User{ID: identity.NewID(), Name: "Ann", Email: "ann@example.com", CreatedAt: f.now, UpdatedAt: f.now}
	hash := "00112233445566778899aabbccddeeff:abcd"
	a := identity.Account{ID: identity.NewID(), AccountID: u.ID, ProviderID: identity.CredentialProvider, UserID: u.ID,
		Password: &hash, CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateUser(context.Background(), u, a); err != nil {
		t.Fatal(err)
	}
	f.user = u.ID
	return f
}

// session writes a session that expires at f.now+expiresIn and returns its token.
func (f *fixture) session(t *testing.T, expiresIn time.Duration) string {
	t.Helper()
	s := identity.Session{ID: identity.NewID(), Token: identity.NewID(), UserID: f.user,
		ExpiresAt: f.now.Add(expiresIn), CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateSession(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	return s.Token
}

// verification writes a verification row that expires at f.now+expiresIn.
func (f *fixture) verification(t *testing.T, identifier string, expiresIn time.Duration) {
	t.Helper()
	v := identity.Verification{ID: identity.NewID(), Identifier: identifier, Value: "v",
		ExpiresAt: f.now.Add(expiresIn), CreatedAt: f.now, UpdatedAt: f.now}
	if err := f.store.CreateVerification(context.Background(), v); err != nil {
		t.Fatal(err)
	}
}

// left lists what a table still holds: session tokens or verification identifiers.
func (f *fixture) left(t *testing.T, table, column string) []string {
	t.Helper()
	var out []string
	if err := f.db.Gorm.Table(table).Order(column).Pluck(column, &out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// deletedMetric reads auth_expired_rows_deleted_total{table} from reg.
func deletedMetric(t *testing.T, reg *prometheus.Registry, table string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != "auth_expired_rows_deleted_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "table" && l.GetValue() == table {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no auth_expired_rows_deleted_total{table=%q}", table)
	return 0
}

func TestOnceDeletesWhatExpiredBeforeTheGrace(t *testing.T) {
	t.Parallel()
	saoPaulo, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dialect sqldb.Dialect
		zone    *time.Location // the timestamp columns' zone (DATABASE_TIMEZONE)
	}{
		{"postgres", sqldb.Postgres, time.UTC},
		{"postgres, columns in São Paulo time", sqldb.Postgres, saoPaulo},
		{"sqlite", sqldb.SQLite, time.UTC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.dialect, tt.zone)
			f.session(t, -48*time.Hour)
			f.session(t, -2*time.Minute)
			inGrace := f.session(t, -30*time.Second) // expired, but a slow clock may still honour it
			live := f.session(t, time.Hour)
			f.verification(t, "reset-password:old", -time.Hour)
			f.verification(t, "reset-password:live", time.Hour)

			reg := prometheus.NewRegistry()
			s := sweep.New(f.store, sweep.Config{Every: time.Hour, Grace: time.Minute}, reg, slog.New(slog.DiscardHandler))
			sweep.SetClock(s, func() time.Time { return f.now })
			got, err := s.Once(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if want := (sweep.Result{Sessions: 2, Verifications: 1}); got != want {
				t.Errorf("Once = %+v, want %+v", got, want)
			}
			wantLeft := []string{inGrace, live}
			if live < inGrace {
				wantLeft = []string{live, inGrace}
			}
			if left := f.left(t, "session", "token"); fmt.Sprint(left) != fmt.Sprint(wantLeft) {
				t.Errorf("sessions left %v, want %v", left, wantLeft)
			}
			if left := f.left(t, "verification", "identifier"); fmt.Sprint(left) != "[reset-password:live]" {
				t.Errorf("verifications left %v, want [reset-password:live]", left)
			}
			if n := deletedMetric(t, reg, "session"); n != 2 {
				t.Errorf("sessions counted %v, want 2", n)
			}
			if n := deletedMetric(t, reg, "verification"); n != 1 {
				t.Errorf("verifications counted %v, want 1", n)
			}
			// A sweep with nothing expired deletes nothing.
			if got, err := s.Once(context.Background()); err != nil || got != (sweep.Result{}) {
				t.Errorf("second Once = %+v, %v; want nothing deleted", got, err)
			}
		})
	}
}

// countingStore is the real store, counting the DELETE statements it runs.
type countingStore struct {
	*sqlstore.IdentityStore
	sessionDeletes int
}

func (c *countingStore) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	c.sessionDeletes++
	return c.IdentityStore.DeleteExpiredSessions(ctx, before, limit)
}

func TestOnceClearsABacklogInBatches(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldb.Postgres, time.UTC)
	for range 7 {
		f.session(t, -time.Hour)
	}
	live := f.session(t, time.Hour)
	store := &countingStore{IdentityStore: f.store}
	s := sweep.New(store, sweep.Config{Every: time.Hour, Batch: 3}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
	got, err := s.Once(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got.Sessions != 7 {
		t.Errorf("deleted %d sessions, want 7", got.Sessions)
	}
	if store.sessionDeletes != 3 { // 3 + 3 + 1
		t.Errorf("%d DELETE statements, want 3 batches of at most 3", store.sessionDeletes)
	}
	if left := f.left(t, "session", "token"); fmt.Sprint(left) != fmt.Sprint([]string{live}) {
		t.Errorf("sessions left %v, want only the live one", left)
	}
}

func TestRunSweepsUntilItsContextEnds(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldb.Postgres, time.UTC)
	var logs testlog.Buffer
	s := sweep.New(f.store, sweep.Config{Every: 20 * time.Millisecond}, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(&logs, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()

	f.session(t, -time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for len(f.left(t, "session", "token")) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not delete the expired session within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !strings.Contains(logs.String(), `"msg":"swept expired rows","sessions_deleted":1`) {
		t.Errorf("no log line for the sweep; logs:\n%s", logs.String())
	}
}

// With the database gone a sweep fails, Run logs it and keeps going: the
// next interval tries again.
func TestRunOutlivesADatabaseThatWentAway(t *testing.T) {
	t.Parallel()
	f := newFixture(t, sqldb.Postgres, time.UTC)
	if err := f.db.Close(); err != nil {
		t.Fatal(err)
	}
	var logs testlog.Buffer
	s := sweep.New(f.store, sweep.Config{Every: 10 * time.Millisecond}, prometheus.NewRegistry(), slog.New(slog.NewJSONHandler(&logs, nil)))
	if _, err := s.Once(context.Background()); err == nil {
		t.Fatal("Once on a closed database returned no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "sweeping expired rows failed") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("Run logged %d failed sweeps in 5 s, want at least 2 (it keeps trying); logs:\n%s",
				strings.Count(logs.String(), "sweeping expired rows failed"), logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

// Audit events older than AuditRetention go, in batches; with retention 0
// they stay forever. The clock is the test's: days pass without waiting.
func TestOnceDeletesAuditEventsOlderThanTheRetention(t *testing.T) {
	t.Parallel()
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, dialect, time.UTC)
			var events []audit.Event
			for _, age := range []time.Duration{100 * 24 * time.Hour, 91 * 24 * time.Hour, 90*24*time.Hour + time.Minute, 89 * 24 * time.Hour, time.Hour} {
				events = append(events, audit.Event{ID: identity.NewID(), Type: audit.SignIn, UserID: f.user, CreatedAt: f.now.Add(-age)})
			}
			if err := f.store.RecordAudit(context.Background(), events...); err != nil {
				t.Fatal(err)
			}

			forever := sweep.New(f.store, sweep.Config{Every: time.Hour}, prometheus.NewRegistry(), slog.New(slog.DiscardHandler))
			sweep.SetClock(forever, func() time.Time { return f.now.Add(365 * 24 * time.Hour) })
			if got, err := forever.Once(context.Background()); err != nil || got.AuditEvents != 0 {
				t.Fatalf("retention 0 deleted %d audit events (%v); want none ever", got.AuditEvents, err)
			}

			reg := prometheus.NewRegistry()
			s := sweep.New(f.store, sweep.Config{Every: time.Hour, Batch: 2, AuditRetention: 90 * 24 * time.Hour}, reg, slog.New(slog.DiscardHandler))
			sweep.SetClock(s, func() time.Time { return f.now })
			got, err := s.Once(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got.AuditEvents != 3 {
				t.Errorf("deleted %d audit events, want the 3 older than 90 days", got.AuditEvents)
			}
			if left := f.left(t, "audit_event", "id"); len(left) != 2 {
				t.Errorf("%d audit events left, want 2", len(left))
			}
			if n := deletedMetric(t, reg, "audit_event"); n != 3 {
				t.Errorf("audit events counted %v, want 3", n)
			}
			// Two days later the 89-day-old event is past the retention too.
			sweep.SetClock(s, func() time.Time { return f.now.Add(2 * 24 * time.Hour) })
			if got, err := s.Once(context.Background()); err != nil || got.AuditEvents != 1 {
				t.Errorf("two days later: deleted %d (%v), want 1", got.AuditEvents, err)
			}
		})
	}
}
