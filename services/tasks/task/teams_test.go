package task_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch/services/tasks/task"
)

// Actors as their tokens make them (package caller builds these from the
// org and org_role claims; RoleOf is tested below).
func member(user, org string, roles ...string) task.Actor {
	return task.Actor{UserID: user, OrganizationID: org, Role: task.RoleOf(roles)}
}

func TestRoleOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		roles []string
		want  task.Role
	}{
		{nil, task.NoRole},
		{[]string{"member"}, task.MemberRole},
		{[]string{"admin"}, task.AdminRole},
		{[]string{"owner"}, task.AdminRole},
		{[]string{"member", "admin"}, task.AdminRole},
		{[]string{"billing"}, task.NoRole}, // unknown: grants nothing
		{[]string{"Admin"}, task.NoRole},   // role names are exact
	} {
		if got := task.RoleOf(tc.roles); got != tc.want {
			t.Errorf("RoleOf(%v) = %v, want %v", tc.roles, got, tc.want)
		}
	}
}

// The whole team-tasks table: who may read, edit, toggle and delete which
// task, from the actor alone. Rows run on a fresh task each, so a delete
// never hides a later row's answer.
func TestTeamTaskRules(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	var (
		annMember  = member("ann", "acme", "member")  // created the task
		bobMember  = member("bob", "acme", "member")  // another member
		carlAdmin  = member("carl", "acme", "admin")  // an admin
		dotOwner   = member("dot", "acme", "owner")   // the owner
		eveOther   = member("eve", "other", "owner")  // owner of another organization
		annOther   = member("ann", "other", "member") // the creator, with another organization active
		annNoOrg   = task.User("ann")                 // the creator, no organization active
		annNoRole  = member("ann", "acme")            // a token naming acme with no role
		annUnknown = member("ann", "acme", "billing") // a role the tasks service does not know
		orgReader  = task.Actor{UserID: "client:r", OrganizationID: "acme", Role: task.MemberRole, OrganizationOnly: true}
		orgWriter  = task.Actor{UserID: "client:w", OrganizationID: "acme", Role: task.AdminRole, OrganizationOnly: true}
		otherWrite = task.Actor{UserID: "client:w", OrganizationID: "other", Role: task.AdminRole, OrganizationOnly: true}
	)
	type want struct{ read, change error } // change: edit, toggle and delete alike
	ok, forbidden := want{nil, nil}, want{task.ErrForbidden, task.ErrForbidden}
	readOnly := want{nil, task.ErrForbidden}
	tests := []struct {
		name  string
		actor task.Actor
		want  want
	}{
		{"the member who created it", annMember, ok},
		{"another member reads, may not change", bobMember, readOnly},
		{"an admin changes any", carlAdmin, ok},
		{"the owner changes any", dotOwner, ok},
		{"an owner of another organization", eveOther, forbidden},
		{"the creator with another organization active", annOther, forbidden},
		{"the creator with no organization active", annNoOrg, forbidden},
		{"a token naming the organization with no role", annNoRole, forbidden},
		{"a role the service does not know", annUnknown, forbidden},
		{"a client with read access to the organization", orgReader, readOnly},
		{"a client with write access to the organization", orgWriter, ok},
		{"a client with write access to another organization", otherWrite, forbidden},
	}
	ops := []struct {
		name   string
		change bool
		run    func(a task.Actor, id int64) error
	}{
		{"get", false, func(a task.Actor, id int64) error { _, err := f.svc.Get(ctx, a, id); return err }},
		{"update", true, func(a task.Actor, id int64) error {
			_, err := f.svc.Update(ctx, a, id, task.Patch{Title: ptr("changed")})
			return err
		}},
		{"toggle", true, func(a task.Actor, id int64) error { _, err := f.svc.Toggle(ctx, a, id); return err }},
		{"delete", true, func(a task.Actor, id int64) error { return f.svc.Delete(ctx, a, id) }},
	}
	for _, tc := range tests {
		for _, op := range ops {
			t.Run(tc.name+"/"+op.name, func(t *testing.T) {
				tk, err := f.svc.Create(ctx, annMember, task.Organization, task.NewTask{Title: "team task"})
				if err != nil {
					t.Fatal(err)
				}
				want := tc.want.read
				if op.change {
					want = tc.want.change
				}
				if err := op.run(tc.actor, tk.ID); !errors.Is(err, want) || (want == nil) != (err == nil) {
					t.Fatalf("%s: %v, want %v", op.name, err, want)
				}
				got, err := f.svc.Get(ctx, dotOwner, tk.ID)
				if want != nil && (err != nil || got.Title != "team task" || got.Completed) {
					t.Errorf("a refused %s changed the task: %+v, %v", op.name, got, err)
				}
			})
		}
	}
	t.Run("a missing task is not found for everyone", func(t *testing.T) {
		for _, tc := range tests {
			if _, err := f.svc.Get(ctx, tc.actor, 1<<40); !errors.Is(err, task.ErrNotFound) {
				t.Errorf("%s: %v", tc.name, err)
			}
			if err := f.svc.Delete(ctx, tc.actor, 1<<40); !errors.Is(err, task.ErrNotFound) {
				t.Errorf("%s: %v", tc.name, err)
			}
		}
	})
	t.Run("an organization's actor may not touch personal tasks", func(t *testing.T) {
		own := f.create(t, "ann", task.NewTask{Title: "ann's own"})
		for _, a := range []task.Actor{carlAdmin, dotOwner, orgWriter, {UserID: "ann", OrganizationID: "acme", Role: task.AdminRole, OrganizationOnly: true}} {
			if _, err := f.svc.Get(ctx, a, own.ID); !errors.Is(err, task.ErrForbidden) {
				t.Errorf("%+v reads ann's own task: %v", a, err)
			}
		}
		// Ann herself, whatever organization is active, keeps her own.
		for _, a := range []task.Actor{annMember, annOther, annNoOrg} {
			if err := f.svc.Delete(ctx, a, own.ID); err != nil && !errors.Is(err, task.ErrNotFound) {
				t.Errorf("%+v deleting ann's own task: %v", a, err)
			}
		}
	})
}

func TestCreateAndListByScope(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	ann, bob := member("ann", "acme", "member"), member("bob", "acme", "admin")
	team, err := f.svc.Create(ctx, ann, task.Organization, task.NewTask{Title: "team"})
	if err != nil || team.OrganizationID != "acme" || team.UserID != "ann" || !team.CreatedAt.Equal(start) {
		t.Fatalf("created %+v, %v", team, err)
	}
	own, err := f.svc.Create(ctx, ann, task.Personal, task.NewTask{Title: "own"})
	if err != nil || own.OrganizationID != "" {
		t.Fatalf("created %+v, %v", own, err)
	}
	f.now = start.Add(time.Minute)
	if _, err := f.svc.Create(ctx, bob, task.Organization, task.NewTask{Title: "bob's team"}); err != nil {
		t.Fatal(err)
	}
	titles := func(a task.Actor, s task.Scope) ([]string, int, error) {
		list, total, err := f.svc.List(ctx, a, s, task.Query{})
		var out []string
		for _, k := range list {
			out = append(out, k.Title)
		}
		return out, total, err
	}
	for _, tc := range []struct {
		name  string
		actor task.Actor
		scope task.Scope
		want  []string
		err   error
	}{
		{"ann's personal list has only her own", ann, task.Personal, []string{"own"}, nil},
		{"the organization's list, by creation", ann, task.Organization, []string{"team", "bob's team"}, nil},
		{"bob's personal list is empty", bob, task.Personal, nil, nil},
		{"an admin sees the same organization list", bob, task.Organization, []string{"team", "bob's team"}, nil},
		{"another organization lists none of acme's", member("eve", "other", "owner"), task.Organization, nil, nil},
		{"no active organization", task.User("ann"), task.Organization, nil, task.ErrNoOrganization},
		{"no role in the active organization", member("ann", "acme"), task.Organization, nil, task.ErrNoOrganization},
		{"a client of the organization", task.Actor{UserID: "client:r", OrganizationID: "acme", Role: task.MemberRole, OrganizationOnly: true}, task.Organization, []string{"team", "bob's team"}, nil},
		{"a client of the organization has no personal list", task.Actor{UserID: "client:r", OrganizationID: "acme", Role: task.MemberRole, OrganizationOnly: true}, task.Personal, nil, task.ErrForbidden},
	} {
		got, _, err := titles(tc.actor, tc.scope)
		if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v, %v", tc.name, got, err, tc.want, tc.err)
		}
	}
	// Creating needs the same membership; refusals write nothing.
	for _, a := range []task.Actor{task.User("ann"), member("ann", "acme"), member("ann", "acme", "guest")} {
		if _, err := f.svc.Create(ctx, a, task.Organization, task.NewTask{Title: "x"}); !errors.Is(err, task.ErrNoOrganization) {
			t.Errorf("%+v created in organization scope: %v", a, err)
		}
	}
	if _, err := f.svc.Create(ctx, task.Actor{UserID: "client:w", OrganizationID: "acme", Role: task.AdminRole, OrganizationOnly: true}, task.Personal, task.NewTask{Title: "x"}); !errors.Is(err, task.ErrForbidden) {
		t.Errorf("an organization's client created a personal task: %v", err)
	}
	if _, n, _ := titles(ann, task.Organization); n != 2 {
		t.Errorf("the organization has %d tasks after refused creates, want 2", n)
	}
}

// A member's tasks outlive the membership (the tasks service never hears of
// a removal as a deletion); they go with the organization, and a deleted
// user's personal tasks go without taking the organization's along.
func TestOrganizationAndOwnerDeletion(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ann, admin := member("ann", "acme", "member"), member("carl", "acme", "admin")
	team, _ := f.svc.Create(ctx, ann, task.Organization, task.NewTask{Title: "team"})
	own, _ := f.svc.Create(ctx, ann, task.Personal, task.NewTask{Title: "own"})
	other, _ := f.svc.Create(ctx, member("eve", "other", "owner"), task.Organization, task.NewTask{Title: "other"})
	if n, err := f.svc.DeleteOwner(ctx, "ann"); err != nil || n != 1 {
		t.Fatalf("DeleteOwner = %d, %v; want ann's 1 personal task", n, err)
	}
	if got, err := f.svc.Get(ctx, admin, team.ID); err != nil || got.UserID != "ann" {
		t.Fatalf("the task ann created for acme: %+v, %v", got, err)
	}
	if _, err := f.svc.Get(ctx, task.User("ann"), own.ID); !errors.Is(err, task.ErrNotFound) {
		t.Fatalf("ann's own task after her deletion: %v", err)
	}
	if n, err := f.svc.DeleteOrganization(ctx, "acme"); err != nil || n != 1 {
		t.Fatalf("DeleteOrganization = %d, %v", n, err)
	}
	if n, err := f.svc.DeleteOrganization(ctx, ""); err != nil || n != 0 {
		t.Fatalf("DeleteOrganization(\"\") = %d, %v", n, err)
	}
	if _, err := f.svc.Get(ctx, admin, team.ID); !errors.Is(err, task.ErrNotFound) {
		t.Fatalf("acme's task after acme's deletion: %v", err)
	}
	if _, err := f.svc.Get(ctx, member("eve", "other", "owner"), other.ID); err != nil {
		t.Fatalf("another organization's task: %v", err)
	}
}
