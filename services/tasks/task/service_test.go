package task_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/tasks/task"
	"github.com/latchid/latch/services/tasks/taskstore"
)

func newService(t *testing.T) *task.Service {
	t.Helper()
	db, err := sqldb.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "tasks.db"), sqldb.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := taskstore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	return task.NewService(taskstore.New(db), func() time.Time { return now })
}

// Found by FuzzTaskBodies: "9999-12-31T23:59:59-12:00" is year 10000 in UTC,
// which the API then rendered as "10000-01-01T11:59:59Z", a date no RFC 3339
// parser (Go's, the JavaScript client's) reads back. Due dates must fall in
// the years RFC 3339 can write once converted to UTC, on create and update.
func TestDueDatesOutsideRFC3339YearsAreInvalid(t *testing.T) {
	t.Parallel()
	s := newService(t)
	ctx := context.Background()
	parse := func(v string) *time.Time {
		d, err := time.Parse(time.RFC3339, v)
		if err != nil {
			t.Fatal(err)
		}
		return &d
	}
	ok, err := s.Create(ctx, task.User("u1"), task.Personal, task.NewTask{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		due   string
		valid bool
	}{
		{"9999-12-31T23:59:59-12:00", false},  // 10000-01-01 in UTC
		{"0001-01-01T00:00:00+14:00", false},  // year 0 in UTC
		{"9999-12-31T23:59:59Z", true},        // the last instant RFC 3339 writes
		{"0001-01-01T13:59:59-10:00", true},   // still year 1 in UTC
		{"2026-12-31T23:59:59.999999Z", true}, // an everyday date
	} {
		_, errCreate := s.Create(ctx, task.User("u1"), task.Personal, task.NewTask{Title: "t", DueDate: parse(tc.due)})
		_, errUpdate := s.Update(ctx, task.User("u1"), ok.ID, task.Patch{DueDate: parse(tc.due)})
		for _, err := range []error{errCreate, errUpdate} {
			var invalid *task.ValidationError
			switch {
			case tc.valid && err != nil:
				t.Errorf("due date %s: %v, want it accepted", tc.due, err)
			case !tc.valid && (!errors.As(err, &invalid) || invalid.Fields[0].Field != "due_date"):
				t.Errorf("due date %s: %v, want a due_date validation error", tc.due, err)
			}
		}
	}
}
