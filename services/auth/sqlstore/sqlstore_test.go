package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/identity/identitytest"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

// openFresh opens an empty, migrated database of the given dialect.
func openFresh(t testing.TB, dialect sqldb.Dialect) *sqldb.DB { return sqlstoretest.Open(t, dialect) }

func TestIdentityStoreConformance(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			identitytest.RunStoreTests(t, func(t *testing.T) identity.Store {
				return sqlstore.NewIdentityStore(openFresh(t, dialect), time.UTC)
			})
		})
	}
}

func TestIdentityStoreConformanceOutsideUTC(t *testing.T) {
	t.Parallel()
	zone, err := time.LoadLocation("America/Sao_Paulo")
	if err != nil {
		t.Fatal(err)
	}
	identitytest.RunStoreTests(t, func(t *testing.T) identity.Store {
		return sqlstore.NewIdentityStore(openFresh(t, sqldb.Postgres), zone)
	})
}

// Better Auth writes the zone-less timestamp columns in the Node process's
// local time. With DATABASE_TIMEZONE set to that zone, Latch reads them as
// the instants Better Auth meant, and writes what Better Auth will read.
func TestTimestampsFromABetterAuthThatRanOutsideUTC(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openFresh(t, sqldb.Postgres)
	zone, _ := time.LoadLocation("America/Sao_Paulo") // UTC-3, no DST in 2026
	if err := db.Gorm.Exec(`
INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at) VALUES ('u1', 'Ann', 'ann@example.com', false, '2026-11-29 09:00:00', '2026-11-29 09:00:00');
INSERT INTO session (id, expires_at, token, created_at, updated_at, user_id) VALUES ('s1', '2026-12-06 09:00:00', 'tok', '2026-11-29 09:00:00', '2026-11-29 09:00:00', 'u1');`).Error; err != nil {
		t.Fatal(err)
	}
	store := sqlstore.NewIdentityStore(db, zone)
	sess, user, err := store.SessionByToken(ctx, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC); !sess.ExpiresAt.Equal(want) {
		t.Errorf("expires_at read as %v, want %v", sess.ExpiresAt, want)
	}
	if want := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC); !user.CreatedAt.Equal(want) {
		t.Errorf("user created_at read as %v, want %v", user.CreatedAt, want)
	}
	if err := store.ExtendSession(ctx, "tok", time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := db.Gorm.Raw(`SELECT expires_at::text FROM session WHERE token = 'tok'`).Scan(&stored).Error; err != nil {
		t.Fatal(err)
	}
	if stored != "2026-12-07 09:00:00" {
		t.Errorf("Latch wrote expires_at %q, want São Paulo wall clock 2026-12-07 09:00:00", stored)
	}
}

// TestRefusedDataIsInvalidNotUnavailable: what a database refuses for its
// data is identity.ErrInvalidData (answered 400), never ErrUnavailable
// (503, logged as an outage) as PostgreSQL's NUL refusal was (issue 13).
// SQLite stores such bytes; the HTTP layer refuses them before any store.
func TestRefusedDataIsInvalidNotUnavailable(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := sqlstore.NewIdentityStore(openFresh(t, dialect), time.UTC)
			now := time.Now().UTC()
			u := identity.User{ID: identity.NewID(), Name: "Ann", Email: "ann@example.com", CreatedAt: now, UpdatedAt: now}
			if err := s.CreateUser(ctx, u, identity.Account{ID: identity.NewID(), AccountID: u.ID, ProviderID: "credential", UserID: u.ID, CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"a\x00b", "\xff"} {
				_, err := s.UpdateUser(ctx, u.ID, identity.UserPatch{Name: &bad}, now)
				switch {
				case errors.Is(err, identity.ErrUnavailable):
					t.Errorf("UpdateUser name %q: %v reported as an outage", bad, err)
				case dialect == sqldb.Postgres && !errors.Is(err, identity.ErrInvalidData):
					t.Errorf("UpdateUser name %q on PostgreSQL: %v, want ErrInvalidData", bad, err)
				}
				if _, err := s.Verification(ctx, "reset-password:"+bad); errors.Is(err, identity.ErrUnavailable) {
					t.Errorf("Verification %q: %v reported as an outage", bad, err)
				}
			}
			// A broken foreign key is refused data too, not an outage.
			err := s.CreateSession(ctx, identity.Session{ID: identity.NewID(), Token: identity.NewID(), UserID: "no-such-user", ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now})
			if !errors.Is(err, identity.ErrInvalidData) {
				t.Errorf("a session of no user: %v, want ErrInvalidData", err)
			}
		})
	}
}
