package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/identity/identitytest"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// openFresh opens an empty, migrated database of the given dialect.
func openFresh(t *testing.T, dialect sqlstore.Dialect) *sqlstore.DB {
	t.Helper()
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "auth.db")
	if dialect == sqlstore.Postgres {
		dsn = testdb.New(t)
	}
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestIdentityStoreConformance(t *testing.T) {
	for _, dialect := range []sqlstore.Dialect{sqlstore.Postgres, sqlstore.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			identitytest.RunStoreTests(t, func(t *testing.T) identity.Store {
				return sqlstore.NewIdentityStore(openFresh(t, dialect))
			})
		})
	}
}
