// Package tasktest is the conformance suite every task.Store must pass.
package tasktest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch/services/tasks/task"
)

// RunStoreTests runs the suite; newStore must return an empty store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) task.Store) {
	tests := []struct {
		name string
		run  func(t *testing.T, s task.Store)
	}{
		{"CreateThenGetRoundTripsEveryField", testRoundTrip},
		{"MissingIDsAreNotFound", testNotFound},
		{"UpdateAppliesTheChangeAndKeepsOwnerAndCreation", testUpdate},
		{"AnUpdateWhoseChangeFailsWritesNothing", testUpdateAborts},
		{"DeleteRespectsItsCheckAndRemovesTags", testDelete},
		{"ListShowsOnlyTheUsersTasks", testListIsolation},
		{"ListFiltersByStatusPriorityTagAndSearch", testListFilters},
		{"ListSortsAndPages", testListSortAndPage},
		{"SearchTreatsWildcardsLiterally", testSearchLiteral},
		{"BadBytesAreRefusedAlikeAndNeverAnOutage", testBadBytes},
		{"DeleteOwnerRemovesOnlyThatUsersTasksAndCanRepeat", testDeleteOwner},
		{"OrganizationTasksRoundTripAndKeepTheirOrganization", testOrganizationRoundTrip},
		{"ListSeparatesPersonalAndOrganizationTasks", testListByOwner},
		{"DeleteOwnerLeavesTheOrganizationTasksTheUserCreated", testDeleteOwnerKeepsOrganizationTasks},
		{"DeleteOrganizationRemovesOnlyItsTasksAndCanRepeat", testDeleteOrganization},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func mk(t *testing.T, s task.Store, user, title string, mut ...func(*task.Task)) task.Task {
	t.Helper()
	tk := task.Task{UserID: user, Title: title, Priority: task.Medium, Tags: []string{}, CreatedAt: t0, UpdatedAt: t0}
	for _, m := range mut {
		m(&tk)
	}
	out, err := s.Create(context.Background(), tk)
	if err != nil {
		t.Fatalf("Create(%q): %v", title, err)
	}
	return out
}

func testRoundTrip(t *testing.T, s task.Store) {
	due := time.Date(2026, 12, 24, 18, 30, 0, 0, time.UTC)
	created := mk(t, s, "ann", "Buy milk", func(k *task.Task) {
		k.Description, k.Priority, k.DueDate, k.Tags = ptr("2 litres"), task.High, &due, []string{"home", "errand"}
	})
	if created.ID == 0 {
		t.Fatal("Create returned no id")
	}
	got, err := s.Get(context.Background(), created.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.UserID != "ann" || got.Title != "Buy milk" || *got.Description != "2 litres" || got.Priority != task.High ||
		!got.DueDate.Equal(due) || !slices.Equal(got.Tags, []string{"home", "errand"}) || !got.CreatedAt.Equal(t0) || got.Completed {
		t.Errorf("Get = %+v", got)
	}
}

func testNotFound(t *testing.T, s task.Store) {
	ctx := context.Background()
	if _, err := s.Get(ctx, 999999); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Get = %v", err)
	}
	if _, err := s.Update(ctx, 999999, func(k task.Task) (task.Task, error) { return k, nil }); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Update = %v", err)
	}
	if err := s.Delete(ctx, 999999, func(task.Task) error { return nil }); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("Delete = %v", err)
	}
}

func testUpdate(t *testing.T, s task.Store) {
	k := mk(t, s, "ann", "Draft", func(k *task.Task) { k.Tags = []string{"a"} })
	later := t0.Add(time.Hour)
	got, err := s.Update(context.Background(), k.ID, func(k task.Task) (task.Task, error) {
		k.Title, k.Completed, k.Tags, k.UpdatedAt = "Final", true, []string{"b", "c"}, later
		k.UserID, k.CreatedAt = "mallory", later // must not stick
		return k, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := s.Get(context.Background(), k.ID)
	for _, x := range []task.Task{got, again} {
		if x.Title != "Final" || !x.Completed || !slices.Equal(x.Tags, []string{"b", "c"}) || x.UserID != "ann" || !x.CreatedAt.Equal(t0) || !x.UpdatedAt.Equal(later) {
			t.Errorf("after update: %+v", x)
		}
	}
}

func testUpdateAborts(t *testing.T, s task.Store) {
	k := mk(t, s, "ann", "Keep me")
	_, err := s.Update(context.Background(), k.ID, func(k task.Task) (task.Task, error) { return k, task.ErrForbidden })
	if !errors.Is(err, task.ErrForbidden) {
		t.Fatalf("Update = %v, want the change's error", err)
	}
	if got, _ := s.Get(context.Background(), k.ID); got.Title != "Keep me" {
		t.Errorf("aborted update wrote %+v", got)
	}
}

func testDelete(t *testing.T, s task.Store) {
	ctx := context.Background()
	k := mk(t, s, "ann", "Tagged", func(k *task.Task) { k.Tags = []string{"x"} })
	if err := s.Delete(ctx, k.ID, func(task.Task) error { return task.ErrForbidden }); !errors.Is(err, task.ErrForbidden) {
		t.Fatalf("Delete with a refusing check = %v", err)
	}
	if _, err := s.Get(ctx, k.ID); err != nil {
		t.Fatalf("refused delete removed the task: %v", err)
	}
	if err := s.Delete(ctx, k.ID, func(task.Task) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, k.ID); !errors.Is(err, task.ErrNotFound) {
		t.Errorf("deleted task still found: %v", err)
	}
	if got, _, _ := s.List(ctx, task.PersonalOf("ann"), task.Query{Status: task.All, Tag: "x", Sort: task.SortCreatedAt, Limit: 10}); len(got) != 0 {
		t.Errorf("tags outlived their task: %+v", got)
	}
}

func list(t *testing.T, s task.Store, user string, q task.Query) ([]string, int) {
	t.Helper()
	return listOf(t, s, task.PersonalOf(user), q)
}

func listOf(t *testing.T, s task.Store, owner task.Owner, q task.Query) ([]string, int) {
	t.Helper()
	if q.Status == "" {
		q.Status = task.All
	}
	if q.Sort == "" {
		q.Sort = task.SortCreatedAt
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	got, total, err := s.List(context.Background(), owner, q)
	if err != nil {
		t.Fatal(err)
	}
	titles := make([]string, len(got))
	for i, k := range got {
		titles[i] = k.Title
	}
	return titles, total
}

func testListIsolation(t *testing.T, s task.Store) {
	mk(t, s, "ann", "ann's")
	mk(t, s, "bob", "bob's")
	if got, total := list(t, s, "bob", task.Query{}); !slices.Equal(got, []string{"bob's"}) || total != 1 {
		t.Errorf("bob's list = %v (total %d)", got, total)
	}
}

func testListFilters(t *testing.T, s task.Store) {
	mk(t, s, "ann", "Write report", func(k *task.Task) { k.Priority, k.Tags = task.High, []string{"work"} })
	mk(t, s, "ann", "Water plants", func(k *task.Task) { k.Completed, k.Description, k.Tags = true, ptr("the FERNS too"), []string{"home"} })
	mk(t, s, "ann", "Call mum", func(k *task.Task) { k.Priority, k.Tags = task.Low, []string{"home", "family"} })
	cases := []struct {
		name string
		q    task.Query
		want []string
	}{
		{"pending only", task.Query{Status: task.Pending, Sort: task.SortTitle}, []string{"Call mum", "Write report"}},
		{"completed only", task.Query{Status: task.Completed}, []string{"Water plants"}},
		{"by priority", task.Query{Priority: task.High}, []string{"Write report"}},
		{"by tag", task.Query{Tag: "home", Sort: task.SortTitle}, []string{"Call mum", "Water plants"}},
		{"search in the title, any case", task.Query{Search: "WRITE"}, []string{"Write report"}},
		{"search in the description", task.Query{Search: "ferns"}, []string{"Water plants"}},
		{"filters combine", task.Query{Tag: "home", Status: task.Pending}, []string{"Call mum"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, total := list(t, s, "ann", tc.q); !slices.Equal(got, tc.want) || total != len(tc.want) {
				t.Errorf("= %v (total %d), want %v", got, total, tc.want)
			}
		})
	}
}

func testListSortAndPage(t *testing.T, s task.Store) {
	for i, p := range []task.Priority{task.Low, task.High, task.Medium, task.High, task.Low} {
		due := t0.Add(time.Duration(5-i) * time.Hour)
		mk(t, s, "ann", fmt.Sprintf("t%d", i), func(k *task.Task) {
			k.Priority, k.CreatedAt = p, t0.Add(time.Duration(i)*time.Minute)
			if i != 2 {
				k.DueDate = &due
			}
		})
	}
	cases := []struct {
		name string
		q    task.Query
		want []string
	}{
		{"newest first", task.Query{Sort: task.SortCreatedAt, Descending: true}, []string{"t4", "t3", "t2", "t1", "t0"}},
		{"oldest first", task.Query{Sort: task.SortCreatedAt}, []string{"t0", "t1", "t2", "t3", "t4"}},
		{"due date, undated last", task.Query{Sort: task.SortDueDate}, []string{"t4", "t3", "t1", "t0", "t2"}},
		{"priority, highest first", task.Query{Sort: task.SortPriority, Descending: true}, []string{"t3", "t1", "t2", "t4", "t0"}},
		{"title descending", task.Query{Sort: task.SortTitle, Descending: true}, []string{"t4", "t3", "t2", "t1", "t0"}},
		{"second page of two", task.Query{Sort: task.SortCreatedAt, Limit: 2, Offset: 2}, []string{"t2", "t3"}},
		{"past the end", task.Query{Sort: task.SortCreatedAt, Limit: 2, Offset: 10}, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, total := list(t, s, "ann", tc.q)
			if !slices.Equal(got, tc.want) || total != 5 {
				t.Errorf("= %v (total %d), want %v (total 5)", got, total, tc.want)
			}
		})
	}
}

func testSearchLiteral(t *testing.T, s task.Store) {
	mk(t, s, "ann", "100% done")
	mk(t, s, "ann", "1000 done")
	mk(t, s, "ann", "snake_case")
	mk(t, s, "ann", "snakeXcase")
	for search, want := range map[string][]string{"0%": {"100% done"}, "e_c": {"snake_case"}, "'; DROP TABLE tasks; --": {}} {
		if got, _ := list(t, s, "ann", task.Query{Search: search}); !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", search, got, want)
		}
	}
}

// testBadBytes: the service refuses NUL and invalid UTF-8 before any store
// sees them, so every dialect answers alike (PostgreSQL refuses them, SQLite
// would store them); and what a store refuses itself is ErrInvalidData,
// never ErrUnavailable (which clients retry and operators are paged for).
func testBadBytes(t *testing.T, s task.Store) {
	ctx := context.Background()
	svc := task.NewService(s, func() time.Time { return t0 })
	kept := mk(t, s, "ann", "kept")
	bad := []string{"a\x00b", "\xff", "caf\xc3"}
	for _, b := range bad {
		var invalid *task.ValidationError
		if _, err := svc.Create(ctx, task.User("ann"), task.Personal, task.NewTask{Title: b}); !errors.As(err, &invalid) {
			t.Errorf("Create with title %q: %v, want a ValidationError", b, err)
		}
		if _, err := svc.Create(ctx, task.User("ann"), task.Personal, task.NewTask{Title: "ok", Description: &b}); !errors.As(err, &invalid) {
			t.Errorf("Create with description %q: %v, want a ValidationError", b, err)
		}
		if _, err := svc.Create(ctx, task.User("ann"), task.Personal, task.NewTask{Title: "ok", Tags: []string{b}}); !errors.As(err, &invalid) {
			t.Errorf("Create with tag %q: %v, want a ValidationError", b, err)
		}
		if _, err := svc.Update(ctx, task.User("ann"), kept.ID, task.Patch{Title: &b}); !errors.As(err, &invalid) {
			t.Errorf("Update with title %q: %v, want a ValidationError", b, err)
		}
		if _, _, err := svc.List(ctx, task.User("ann"), task.Personal, task.Query{Search: b}); !errors.As(err, &invalid) {
			t.Errorf("List with search %q: %v, want a ValidationError", b, err)
		}
		if _, _, err := svc.List(ctx, task.User("ann"), task.Personal, task.Query{Tag: b}); !errors.As(err, &invalid) {
			t.Errorf("List with tag filter %q: %v, want a ValidationError", b, err)
		}
	}
	if got, n := list(t, s, "ann", task.Query{}); n != 1 || got[0] != "kept" {
		t.Errorf("after refused input: %v (%d)", got, n)
	}
	// Past the rules, straight to the store: it may store the bytes
	// (SQLite) or refuse them (PostgreSQL), but never report an outage.
	_, err := s.Create(ctx, task.Task{UserID: "ann", Title: "a\x00b", Priority: task.Medium, Tags: []string{}, CreatedAt: t0, UpdatedAt: t0})
	if err != nil && (errors.Is(err, task.ErrUnavailable) || !errors.Is(err, task.ErrInvalidData)) {
		t.Errorf("a store given a NUL: %v, want success or ErrInvalidData", err)
	}
	_, _, err = s.List(ctx, task.PersonalOf("ann"), task.Query{Status: task.All, Sort: task.SortCreatedAt, Limit: 10, Search: "\x00"})
	if err != nil && (errors.Is(err, task.ErrUnavailable) || !errors.Is(err, task.ErrInvalidData)) {
		t.Errorf("a store searching for a NUL: %v, want success or ErrInvalidData", err)
	}
}

func testDeleteOwner(t *testing.T, s task.Store) {
	ctx := context.Background()
	mk(t, s, "gone", "one", func(k *task.Task) { k.Tags = []string{"a", "b"} })
	mk(t, s, "gone", "two")
	kept := mk(t, s, "stays", "three", func(k *task.Task) { k.Tags = []string{"a"} })
	n, err := s.DeleteOwner(ctx, "gone")
	if err != nil || n != 2 {
		t.Fatalf("DeleteOwner = %d, %v; want 2", n, err)
	}
	if _, total, err := s.List(ctx, task.PersonalOf("gone"), task.Query{Status: task.All, Sort: task.SortCreatedAt, Limit: 10}); err != nil || total != 0 {
		t.Fatalf("the deleted user still has %d tasks (%v)", total, err)
	}
	if got, err := s.Get(ctx, kept.ID); err != nil || !slices.Equal(got.Tags, []string{"a"}) {
		t.Fatalf("another user's task: %+v, %v", got, err)
	}
	if n, err := s.DeleteOwner(ctx, "gone"); err != nil || n != 0 {
		t.Fatalf("DeleteOwner again = %d, %v; want 0, nil", n, err)
	}
}

func inOrg(org string) func(*task.Task) { return func(k *task.Task) { k.OrganizationID = org } }

func testOrganizationRoundTrip(t *testing.T, s task.Store) {
	ctx := context.Background()
	created := mk(t, s, "ann", "team task", inOrg("org1"), func(k *task.Task) { k.Tags = []string{"x"} })
	if created.OrganizationID != "org1" || created.UserID != "ann" {
		t.Fatalf("created %+v", created)
	}
	got, err := s.Get(ctx, created.ID)
	if err != nil || got.OrganizationID != "org1" || got.UserID != "ann" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	personal := mk(t, s, "ann", "mine")
	if got, err := s.Get(ctx, personal.ID); err != nil || got.OrganizationID != "" {
		t.Fatalf("a personal task read back as %+v, %v", got, err)
	}
	// An update may not move a task between organizations or to a person.
	for _, org := range []string{"org2", ""} {
		_, err := s.Update(ctx, created.ID, func(k task.Task) (task.Task, error) {
			k.OrganizationID, k.UserID, k.Title = org, "mallory", "renamed"
			return k, nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := s.Get(ctx, created.ID); got.OrganizationID != "org1" || got.UserID != "ann" || got.Title != "renamed" {
			t.Fatalf("after an update moving it to %q: %+v", org, got)
		}
	}
}

func testListByOwner(t *testing.T, s task.Store) {
	mk(t, s, "ann", "ann's own")
	mk(t, s, "ann", "ann for org1", inOrg("org1"))
	mk(t, s, "bob", "bob for org1", inOrg("org1"), func(k *task.Task) { k.Tags = []string{"team"} })
	mk(t, s, "bob", "bob for org2", inOrg("org2"))
	if got, n := list(t, s, "ann", task.Query{}); !slices.Equal(got, []string{"ann's own"}) || n != 1 {
		t.Errorf("ann's personal list = %v (%d): organization tasks must not appear there", got, n)
	}
	if got, n := listOf(t, s, task.OrganizationOf("org1"), task.Query{Sort: task.SortTitle}); !slices.Equal(got, []string{"ann for org1", "bob for org1"}) || n != 2 {
		t.Errorf("org1's list = %v (%d)", got, n)
	}
	if got, n := listOf(t, s, task.OrganizationOf("org1"), task.Query{Tag: "team"}); !slices.Equal(got, []string{"bob for org1"}) || n != 1 {
		t.Errorf("org1's list tagged team = %v (%d)", got, n)
	}
	if got, n := listOf(t, s, task.OrganizationOf("org3"), task.Query{}); len(got) != 0 || n != 0 {
		t.Errorf("an organization without tasks lists %v (%d)", got, n)
	}
	if got, n := listOf(t, s, task.OrganizationOf("org1"), task.Query{Limit: 1, Offset: 5}); len(got) != 0 || n != 2 {
		t.Errorf("a page past the end of org1's list = %v, total %d; want none of 2", got, n)
	}
}

func testDeleteOwnerKeepsOrganizationTasks(t *testing.T, s task.Store) {
	ctx := context.Background()
	mk(t, s, "gone", "own")
	team := mk(t, s, "gone", "for the team", inOrg("org1"))
	if n, err := s.DeleteOwner(ctx, "gone"); err != nil || n != 1 {
		t.Fatalf("DeleteOwner = %d, %v; want the 1 personal task", n, err)
	}
	if got, err := s.Get(ctx, team.ID); err != nil || got.OrganizationID != "org1" {
		t.Fatalf("the organization's task: %+v, %v", got, err)
	}
}

func testDeleteOrganization(t *testing.T, s task.Store) {
	ctx := context.Background()
	mk(t, s, "ann", "a", inOrg("gone"), func(k *task.Task) { k.Tags = []string{"x"} })
	mk(t, s, "bob", "b", inOrg("gone"))
	other := mk(t, s, "ann", "c", inOrg("stays"))
	own := mk(t, s, "ann", "d")
	n, err := s.DeleteOrganization(ctx, "gone")
	if err != nil || n != 2 {
		t.Fatalf("DeleteOrganization = %d, %v; want 2", n, err)
	}
	if got, n := listOf(t, s, task.OrganizationOf("gone"), task.Query{Tag: "x"}); len(got) != 0 || n != 0 {
		t.Fatalf("the deleted organization still lists %v", got)
	}
	for _, id := range []int64{other.ID, own.ID} {
		if _, err := s.Get(ctx, id); err != nil {
			t.Fatalf("task %d of another owner: %v", id, err)
		}
	}
	if n, err := s.DeleteOrganization(ctx, "gone"); err != nil || n != 0 {
		t.Fatalf("DeleteOrganization again = %d, %v; want 0, nil", n, err)
	}
}
