package task_test

// The tasks rules over the real store on SQLite (taskstore passes the same
// conformance suite on SQLite as on PostgreSQL), with a clock the test
// moves. Nothing here needs PostgreSQL.

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/tasks/task"
	"github.com/latchid/latch/services/tasks/taskstore"
)

var start = time.Date(2026, 11, 29, 10, 30, 0, 0, time.UTC)

type fixture struct {
	svc *task.Service
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db, err := sqldb.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "tasks.db"), sqldb.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := taskstore.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	f := &fixture{now: start}
	f.svc = task.NewService(taskstore.New(db), func() time.Time { return f.now })
	return f
}

func (f *fixture) create(t *testing.T, user string, in task.NewTask) task.Task {
	t.Helper()
	tk, err := f.svc.Create(t.Context(), task.User(user), task.Personal, in)
	if err != nil {
		t.Fatalf("create %q: %v", in.Title, err)
	}
	return tk
}

func ptr[T any](v T) *T { return &v }

// fields returns the invalid fields of a ValidationError, nil for another error.
func fields(err error) []string {
	var v *task.ValidationError
	if !errors.As(err, &v) {
		return nil
	}
	var out []string
	for _, f := range v.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestCreateValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		in         task.NewTask
		wantFields []string // nil: created
	}{
		{"title only; priority defaults to medium", task.NewTask{Title: "Buy milk"}, nil},
		{"empty title", task.NewTask{Title: ""}, []string{"title"}},
		{"blank title", task.NewTask{Title: " \t "}, []string{"title"}},
		{"title of 200 characters", task.NewTask{Title: strings.Repeat("é", 200)}, nil},
		{"title of 201 characters", task.NewTask{Title: strings.Repeat("é", 201)}, []string{"title"}},
		{"description of 10001 characters", task.NewTask{Title: "t", Description: ptr(strings.Repeat("d", 10001))}, []string{"description"}},
		{"unknown priority", task.NewTask{Title: "t", Priority: "urgent"}, []string{"priority"}},
		{"empty tag", task.NewTask{Title: "t", Tags: []string{"a", " "}}, []string{"tags"}},
		{"tag of 51 characters", task.NewTask{Title: "t", Tags: []string{strings.Repeat("x", 51)}}, []string{"tags"}},
		{"tag with a control character", task.NewTask{Title: "t", Tags: []string{"a\nb"}}, []string{"tags"}},
		{"21 tags", task.NewTask{Title: "t", Tags: manyTags(21)}, []string{"tags"}},
		{"20 tags after duplicates fold", task.NewTask{Title: "t", Tags: append(manyTags(20), "taga", " tagb ")}, nil},
		{"every field wrong at once", task.NewTask{Title: "", Priority: "x", Tags: []string{""}}, []string{"title", "priority", "tags"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tk, err := f.svc.Create(t.Context(), task.User("ann"), task.Personal, tc.in)
			if tc.wantFields == nil {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tk.UserID != "ann" || !tk.CreatedAt.Equal(start) || !tk.UpdatedAt.Equal(start) || !tk.Priority.Valid() {
					t.Errorf("created %+v", tk)
				}
				return
			}
			if got := fields(err); !slices.Equal(got, tc.wantFields) {
				t.Fatalf("invalid fields %v (err %v), want %v", got, err, tc.wantFields)
			}
		})
	}
	// Refusals wrote nothing: only the three accepted tasks exist.
	_, total, err := f.svc.List(t.Context(), task.User("ann"), task.Personal, task.Query{})
	if err != nil || total != 3 {
		t.Fatalf("ann has %d tasks (err %v), want the 3 accepted", total, err)
	}
}

func manyTags(n int) []string {
	var out []string
	for i := range n {
		out = append(out, "tag"+string(rune('a'+i)))
	}
	return out
}

func TestTagsAreTrimmedAndDeduplicatedInOrder(t *testing.T) {
	f := newFixture(t)
	tk := f.create(t, "ann", task.NewTask{Title: "t", Tags: []string{" work ", "home", "work", "home "}})
	if want := []string{"work", "home"}; !slices.Equal(tk.Tags, want) {
		t.Fatalf("tags %q, want %q", tk.Tags, want)
	}
}

// Someone else's task is ErrForbidden; a task that does not exist is
// ErrNotFound; neither changes anything.
func TestOwnership(t *testing.T) {
	f := newFixture(t)
	mine := f.create(t, "ann", task.NewTask{Title: "Ann's"})
	const missing = 1 << 40
	ops := []struct {
		name string
		do   func(ctx context.Context, user string, id int64) error
	}{
		{"get", func(ctx context.Context, user string, id int64) error {
			_, err := f.svc.Get(ctx, task.User(user), id)
			return err
		}},
		{"update", func(ctx context.Context, user string, id int64) error {
			_, err := f.svc.Update(ctx, task.User(user), id, task.Patch{Title: ptr("taken over")})
			return err
		}},
		{"toggle", func(ctx context.Context, user string, id int64) error {
			_, err := f.svc.Toggle(ctx, task.User(user), id)
			return err
		}},
		{"delete", func(ctx context.Context, user string, id int64) error { return f.svc.Delete(ctx, task.User(user), id) }},
	}
	for _, op := range ops {
		t.Run(op.name, func(t *testing.T) {
			if err := op.do(t.Context(), "bob", mine.ID); !errors.Is(err, task.ErrForbidden) {
				t.Errorf("another user's task: %v, want ErrForbidden", err)
			}
			if err := op.do(t.Context(), "bob", missing); !errors.Is(err, task.ErrNotFound) {
				t.Errorf("no such task: %v, want ErrNotFound", err)
			}
			got, err := f.svc.Get(t.Context(), task.User("ann"), mine.ID)
			if err != nil || got.Title != "Ann's" || got.Completed || !got.UpdatedAt.Equal(start) {
				t.Errorf("the owner's task changed: %+v (err %v)", got, err)
			}
		})
	}
	// Another user's listing never shows it.
	if list, total, err := f.svc.List(t.Context(), task.User("bob"), task.Personal, task.Query{}); err != nil || total != 0 || len(list) != 0 {
		t.Errorf("bob lists %d of %d (err %v)", len(list), total, err)
	}
}

func TestUpdateToggleAndDelete(t *testing.T) {
	f := newFixture(t)
	due := time.Date(2026, 12, 24, 18, 0, 0, 0, time.FixedZone("CET", 3600))
	tk := f.create(t, "ann", task.NewTask{Title: "t", Description: ptr("d"), DueDate: &due, Tags: []string{"a"}})
	if !tk.DueDate.Equal(due) || tk.DueDate.Location() != time.UTC {
		t.Errorf("due date stored as %v, want %v in UTC", tk.DueDate, due)
	}
	f.now = start.Add(time.Hour)
	got, err := f.svc.Update(t.Context(), task.User("ann"), tk.ID, task.Patch{Priority: ptr(task.High), ClearDescription: true, ClearDueDate: true, Tags: &[]string{}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "t" || got.Priority != task.High || got.Description != nil || got.DueDate != nil || len(got.Tags) != 0 ||
		!got.CreatedAt.Equal(start) || !got.UpdatedAt.Equal(f.now) {
		t.Errorf("after update: %+v", got)
	}
	if _, err := f.svc.Update(t.Context(), task.User("ann"), tk.ID, task.Patch{Title: ptr(""), Priority: ptr(task.Priority("x"))}); !slices.Equal(fields(err), []string{"title", "priority"}) {
		t.Errorf("invalid patch: %v", err)
	}
	f.now = start.Add(2 * time.Hour)
	toggled, err := f.svc.Toggle(t.Context(), task.User("ann"), tk.ID)
	if err != nil || !toggled.Completed || !toggled.UpdatedAt.Equal(f.now) || toggled.Priority != task.High {
		t.Errorf("toggle: %+v (err %v)", toggled, err)
	}
	if err := f.svc.Delete(t.Context(), task.User("ann"), tk.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Get(t.Context(), task.User("ann"), tk.ID); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("deleted task: %v, want ErrNotFound", err)
	}
}

func TestListFiltersSortsAndPages(t *testing.T) {
	f := newFixture(t)
	add := func(title string, p task.Priority, done bool, tags ...string) {
		tk := f.create(t, "ann", task.NewTask{Title: title, Priority: p, Tags: tags, Description: ptr("about " + title)})
		if done {
			if _, err := f.svc.Toggle(t.Context(), task.User("ann"), tk.ID); err != nil {
				t.Fatal(err)
			}
		}
		f.now = f.now.Add(time.Minute) // created_at orders them
	}
	add("Alpha", task.Low, false, "home")
	add("bravo", task.High, true, "work")
	add("Charlie", task.Medium, false, "work", "home")
	add("delta", task.High, false)
	f.create(t, "bob", task.NewTask{Title: "Bob's alpha", Tags: []string{"home"}})

	tests := []struct {
		name  string
		q     task.Query
		want  []string
		total int
	}{
		{"default: all, by created_at", task.Query{}, []string{"Alpha", "bravo", "Charlie", "delta"}, 4},
		{"pending", task.Query{Status: task.Pending}, []string{"Alpha", "Charlie", "delta"}, 3},
		{"completed", task.Query{Status: task.Completed}, []string{"bravo"}, 1},
		{"priority high", task.Query{Priority: task.High}, []string{"bravo", "delta"}, 2},
		{"tag", task.Query{Tag: "home"}, []string{"Alpha", "Charlie"}, 2},
		{"search is case-insensitive, title or description", task.Query{Search: "ALPHA"}, []string{"Alpha"}, 1},
		{"search treats % literally", task.Query{Search: "%"}, nil, 0},
		{"sort by title descending", task.Query{Sort: task.SortTitle, Descending: true}, nil, 4},
		{"page", task.Query{Limit: 2, Offset: 1}, []string{"bravo", "Charlie"}, 4},
		{"past the end", task.Query{Offset: 10}, nil, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := f.svc.List(t.Context(), task.User("ann"), task.Personal, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			var titles []string
			for _, tk := range list {
				if tk.UserID != "ann" {
					t.Fatalf("listed %s's task", tk.UserID)
				}
				titles = append(titles, tk.Title)
			}
			if tc.q.Sort == task.SortTitle {
				if len(titles) != 4 || !slices.IsSortedFunc(titles, func(a, b string) int { return strings.Compare(strings.ToLower(b), strings.ToLower(a)) }) {
					t.Errorf("sorted by title descending: %q", titles)
				}
			} else if !slices.Equal(titles, tc.want) {
				t.Errorf("titles %q, want %q", titles, tc.want)
			}
			if total != tc.total {
				t.Errorf("total %d, want %d", total, tc.total)
			}
		})
	}
}

func TestListValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		q    task.Query
		want []string
	}{
		{"unknown status", task.Query{Status: "done"}, []string{"completed"}},
		{"unknown priority", task.Query{Priority: "urgent"}, []string{"priority"}},
		{"unknown sort field (never reaches ORDER BY)", task.Query{Sort: "id; DROP TABLE tasks"}, []string{"sort"}},
		{"limit over the maximum", task.Query{Limit: task.MaxLimit + 1}, []string{"limit"}},
		{"negative limit", task.Query{Limit: -1}, []string{"limit"}},
		{"negative offset", task.Query{Offset: -1}, []string{"offset"}},
		{"search of 201 characters", task.Query{Search: strings.Repeat("s", 201)}, []string{"search"}},
		{"all at once", task.Query{Status: "x", Sort: "x", Offset: -1}, []string{"completed", "sort", "offset"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.List(t.Context(), task.User("ann"), task.Personal, tc.q)
			if got := fields(err); !slices.Equal(got, tc.want) {
				t.Fatalf("invalid fields %v (err %v), want %v", got, err, tc.want)
			}
		})
	}
}
