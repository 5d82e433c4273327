package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/identity/identitytest"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

// openFresh opens an empty, migrated database of the given dialect.
func openFresh(t *testing.T, dialect sqldb.Dialect) *sqldb.DB { return sqlstoretest.Open(t, dialect) }

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
