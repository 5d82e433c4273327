package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/identity/identitytest"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// openFresh opens an empty, migrated database of the given dialect.
func openFresh(t *testing.T, dialect sqldb.Dialect) *sqldb.DB {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	if dialect == sqldb.Postgres {
		dsn = testdb.New(t)
	}
	db, err := sqldb.Open(context.Background(), dsn, sqldb.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := sqlstore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestIdentityStoreConformance(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			identitytest.RunStoreTests(t, func(t *testing.T) identity.Store {
				return sqlstore.NewIdentityStore(openFresh(t, dialect))
			})
		})
	}
}
