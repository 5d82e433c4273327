package taskstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

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

// A database migrated before tasks.tag_list existed keeps every task's tags,
// in order: migration 00003 fills the column from task_tags. Its tasks stay
// personal through 00004 (organization_id NULL), and the owner still lists them.
func TestTagListBackfill(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dsn := "sqlite:" + filepath.Join(t.TempDir(), "tasks.db")
			if dialect == sqldb.Postgres {
				dsn = testdb.New(t)
			}
			db, err := sqldb.Open(ctx, dsn, sqldb.DefaultPool())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })

			before := fstest.MapFS{}
			for _, name := range []string{"00001_tasks.sql", "00002_task_tags_covering_index.sql"} {
				path := string(dialect) + "/" + name
				body, err := os.ReadFile(filepath.Join("migrations", path))
				if err != nil {
					t.Fatal(err)
				}
				before[path] = &fstest.MapFile{Data: body}
			}
			if _, err := db.Migrate(ctx, before, "latch_tasks_migrations"); err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			for _, stmt := range []struct {
				sql  string
				args []any
			}{
				{"INSERT INTO tasks (id, user_id, title, priority, created_at, updated_at) VALUES (1, 'ann', 'tagged', 'low', ?, ?)", []any{now, now}},
				{"INSERT INTO tasks (id, user_id, title, priority, created_at, updated_at) VALUES (2, 'ann', 'untagged', 'low', ?, ?)", []any{now, now}},
				{"INSERT INTO task_tags (task_id, tag, position) VALUES (1, 'zeta', 0), (1, 'alpha', 1), (1, 'mid', 2)", nil},
			} {
				if err := db.Gorm.Exec(stmt.sql, stmt.args...).Error; err != nil {
					t.Fatal(err)
				}
			}

			applied, err := taskstore.Migrate(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied) != 2 || !strings.HasSuffix(applied[0], "00003_tasks_tag_list.sql") || !strings.HasSuffix(applied[1], "00004_task_organization.sql") {
				t.Fatalf("applied %v, want 00003 and 00004", applied)
			}
			store := taskstore.New(db)
			for id, want := range map[int64][]string{1: {"zeta", "alpha", "mid"}, 2: {}} {
				got, err := store.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Tags, want) || got.Tags == nil || got.OrganizationID != "" {
					t.Errorf("task %d tags = %#v, want %#v", id, got.Tags, want)
				}
			}
			page, _, err := store.List(ctx, task.PersonalOf("ann"), task.Query{Sort: task.SortTitle, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(page) != 2 || !slices.Equal(page[0].Tags, []string{"zeta", "alpha", "mid"}) {
				t.Errorf("list = %+v", page)
			}
		})
	}
}

// TestPostgresRefusalsAreInvalidData: what PostgreSQL refuses for its data
// (a NUL: SQLSTATE 54000; invalid UTF-8: 22021) is ErrInvalidData, not the
// outage it was reported as (issue 13), so no transport answers 503.
func TestPostgresRefusalsAreInvalidData(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := sqldb.Open(ctx, testdb.New(t), sqldb.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := taskstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	s := taskstore.New(db)
	now := time.Now().UTC()
	for _, title := range []string{"a\x00b", "\xff"} {
		_, err := s.Create(ctx, task.Task{UserID: "ann", Title: title, Priority: task.Medium, Tags: []string{}, CreatedAt: now, UpdatedAt: now})
		if !errors.Is(err, task.ErrInvalidData) || errors.Is(err, task.ErrUnavailable) {
			t.Errorf("Create with title %q: %v, want ErrInvalidData", title, err)
		}
		// pgx sends some searches so that PostgreSQL never sees the bad
		// byte (a 0xff search matches nothing); an error is ErrInvalidData.
		_, _, err = s.List(ctx, task.PersonalOf("ann"), task.Query{Status: task.All, Sort: task.SortCreatedAt, Limit: 10, Search: title})
		if err != nil && (!errors.Is(err, task.ErrInvalidData) || errors.Is(err, task.ErrUnavailable)) {
			t.Errorf("List searching %q: %v, want no error or ErrInvalidData", title, err)
		}
	}
}
