package taskstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/tasks/task"
	"github.com/latchid/latch/services/tasks/task/tasktest"
	"github.com/latchid/latch/services/tasks/taskstore"
)

func TestStoreConformance(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			tasktest.RunStoreTests(t, func(t *testing.T) task.Store {
				dsn := "sqlite:" + filepath.Join(t.TempDir(), "tasks.db")
				if dialect == sqldb.Postgres {
					dsn = testdb.New(t)
				}
				db, err := sqldb.Open(context.Background(), dsn, sqldb.DefaultPool())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				if _, err := taskstore.Migrate(context.Background(), db); err != nil {
					t.Fatal(err)
				}
				return taskstore.New(db)
			})
		})
	}
}
