// Package sqlstoretest gives tests an auth database of their own, empty
// and migrated, closed when the test ends.
package sqlstoretest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// Open returns a fresh, migrated database: a PostgreSQL database of the
// test's own (pkg/testdb), or a SQLite file in the test's directory.
func Open(t testing.TB, dialect sqldb.Dialect) *sqldb.DB {
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
