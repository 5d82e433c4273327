package sqldb_test

import (
	"context"
	"testing"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
)

// TestRefusedTellsBadDataFromOutages runs statements each dialect refuses
// for their data, and one that fails for another reason.
func TestRefusedTellsBadDataFromOutages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, dsn := range []string{testdb.New(t), "sqlite:" + t.TempDir() + "/refused.db"} {
		db, err := sqldb.Open(ctx, dsn, sqldb.DefaultPool())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		g := db.Gorm.WithContext(ctx)
		if err := g.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> 'bad'))`).Error; err != nil {
			t.Fatal(err)
		}
		if err := g.Exec(`INSERT INTO t (id, name) VALUES (1, 'a')`).Error; err != nil {
			t.Fatal(err)
		}
		refused := map[string]string{
			"a duplicate key":    `INSERT INTO t (id, name) VALUES (1, 'b')`,
			"a NULL in NOT NULL": `INSERT INTO t (id, name) VALUES (2, NULL)`,
			"a check constraint": `INSERT INTO t (id, name) VALUES (3, 'bad')`,
		}
		if db.Dialect == sqldb.Postgres {
			refused["a NUL byte"] = "INSERT INTO t (id, name) VALUES (4, 'a' || chr(0))"
			refused["a number out of range"] = `SELECT 2147483647::int + 1`
		}
		for name, stmt := range refused {
			if err := g.Exec(stmt).Error; err == nil || !sqldb.Refused(err) {
				t.Errorf("%s, %s: Refused(%v) = false, want true", db.Dialect, name, err)
			}
		}
		if err := g.Exec(`SELECT * FROM no_such_table`).Error; err == nil || sqldb.Refused(err) {
			t.Errorf("%s, a missing table: Refused(%v) = true, want false", db.Dialect, err)
		}
	}
	if sqldb.Refused(context.DeadlineExceeded) || sqldb.Refused(nil) {
		t.Error("a timeout or no error counted as refused data")
	}
}
