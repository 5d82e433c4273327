// Package organizationtest is the conformance suite of organization.Store:
// every implementation (PostgreSQL, SQLite) runs the same tests.
package organizationtest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/organization"
)

// Fixture is a fresh store and what the suite needs around it.
type Fixture struct {
	Store organization.Store
	// User creates a user (email id@example.com) with one live session per sessionID.
	User func(t *testing.T, id string, sessionIDs ...string)
	// ActiveOrganization reads a session's active organization ("" none).
	ActiveOrganization func(t *testing.T, sessionID string) string
	// Events are the revocation events written so far, oldest first.
	Events func(t *testing.T) []revocation.Event
}

var epoch = time.Date(2026, 12, 1, 9, 0, 0, 123_000_000, time.UTC)

func org(id, slug string) organization.Organization {
	meta := `{"plan":"team"}`
	return organization.Organization{ID: id, Name: "Org " + id, Slug: slug, Metadata: &meta, CreatedAt: epoch}
}

func member(id, orgID, userID, role string) organization.Member {
	return organization.Member{ID: id, OrganizationID: orgID, UserID: userID, Role: role, CreatedAt: epoch.Add(time.Duration(len(id)) * time.Second)}
}

// memberEvents renders the member and organization_deleted events as "kind:subject@org".
func memberEvents(events []revocation.Event) []string {
	var out []string
	for _, e := range events {
		if e.Kind == revocation.KindMember || e.Kind == revocation.KindOrganizationDeleted {
			out = append(out, e.Kind+":"+e.Subject+"@"+e.OrganizationID)
		}
	}
	slices.Sort(out)
	return out
}

// RunStoreTests runs the suite; open returns a fresh, empty store.
func RunStoreTests(t *testing.T, open func(t *testing.T) Fixture) {
	ctx := context.Background()

	t.Run("create, find, list, slug taken", func(t *testing.T) {
		f := open(t)
		f.User(t, "ann", "s-ann")
		if err := f.Store.CreateOrganization(ctx, org("o1", "acme"), member("m1", "o1", "ann", "owner"), "s-ann"); err != nil {
			t.Fatal(err)
		}
		if got := f.ActiveOrganization(t, "s-ann"); got != "o1" {
			t.Errorf("active organization = %q, want o1", got)
		}
		err := f.Store.CreateOrganization(ctx, org("o2", "acme"), member("m2", "o2", "ann", "owner"), "")
		if !errors.Is(err, organization.ErrSlugTaken) {
			t.Errorf("second acme: %v, want ErrSlugTaken", err)
		}
		if _, err := f.Store.OrganizationByID(ctx, "o2"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("half-written organization o2: %v", err)
		}
		got, err := f.Store.OrganizationBySlug(ctx, "acme")
		if err != nil || got.ID != "o1" || !got.CreatedAt.Equal(epoch) || got.Metadata == nil || *got.Metadata != `{"plan":"team"}` || got.Logo != nil {
			t.Errorf("by slug: %+v, %v", got, err)
		}
		if _, err := f.Store.OrganizationBySlug(ctx, "nope"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("unknown slug: %v", err)
		}
		list, err := f.Store.OrganizationsOf(ctx, "ann")
		if err != nil || len(list) != 1 || list[0].ID != "o1" {
			t.Errorf("organizations of ann: %+v, %v", list, err)
		}
		name, logo := "Acme Inc", "https://example.com/logo.png"
		upd, err := f.Store.UpdateOrganization(ctx, "o1", organization.Patch{Name: &name, SetLogo: true, Logo: &logo})
		if err != nil || upd.Name != name || upd.Logo == nil || *upd.Logo != logo || upd.Slug != "acme" {
			t.Errorf("update: %+v, %v", upd, err)
		}
		if err := f.Store.CreateOrganization(ctx, org("o3", "other"), member("m3", "o3", "ann", "owner"), ""); err != nil {
			t.Fatal(err)
		}
		taken := "acme"
		if _, err := f.Store.UpdateOrganization(ctx, "o3", organization.Patch{Slug: &taken}); !errors.Is(err, organization.ErrSlugTaken) {
			t.Errorf("update to a taken slug: %v", err)
		}
	})

	t.Run("members with their users", func(t *testing.T) {
		f := open(t)
		f.User(t, "ann")
		f.User(t, "bob")
		f.User(t, "cyd")
		if err := f.Store.CreateOrganization(ctx, org("o1", "acme"), member("m1", "o1", "ann", "owner"), ""); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.CreateOrganization(ctx, org("o2", "beta"), member("m2", "o2", "cyd", "owner"), ""); err != nil {
			t.Fatal(err)
		}
		if ok, err := acceptAs(ctx, f, "i1", "o1", "bob", "m22", "admin,member"); err != nil || !ok {
			t.Fatalf("accept: %v %v", ok, err)
		}
		m, err := f.Store.Member(ctx, "o1", "bob")
		if err != nil || m.ID != "m22" || m.Role != "admin,member" || m.User.Email != "bob@example.com" || m.User.ID != "bob" {
			t.Errorf("member: %+v, %v", m, err)
		}
		if _, err := f.Store.Member(ctx, "o2", "bob"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("bob in o2: %v", err)
		}
		if m, err := f.Store.MemberByID(ctx, "m2"); err != nil || m.OrganizationID != "o2" {
			t.Errorf("by id: %+v, %v", m, err)
		}
		if m, err := f.Store.MemberByEmail(ctx, "o1", "bob@example.com"); err != nil || m.ID != "m22" {
			t.Errorf("by email: %+v, %v", m, err)
		}
		if _, err := f.Store.MemberByEmail(ctx, "o2", "bob@example.com"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("bob by email in o2: %v", err)
		}
		all, total, err := f.Store.Members(ctx, "o1", 10, 0)
		if err != nil || total != 2 || len(all) != 2 || all[0].UserID != "ann" || all[1].UserID != "bob" {
			t.Errorf("members: %+v, %d, %v", all, total, err)
		}
		page, total, err := f.Store.Members(ctx, "o1", 1, 1)
		if err != nil || total != 2 || len(page) != 1 || page[0].UserID != "bob" {
			t.Errorf("second page: %+v, %d, %v", page, total, err)
		}
	})

	t.Run("every membership change writes its member event", func(t *testing.T) {
		f := open(t)
		f.User(t, "ann", "s-ann")
		f.User(t, "bob", "s-bob1", "s-bob2")
		f.User(t, "cyd", "s-cyd")
		before := time.Now().Add(-time.Second)
		if err := f.Store.CreateOrganization(ctx, org("o1", "acme"), member("m1", "o1", "ann", "owner"), "s-ann"); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.CreateOrganization(ctx, org("o2", "beta"), member("m9", "o2", "bob", "owner"), "s-bob2"); err != nil {
			t.Fatal(err)
		}
		if m, _, changed, err := f.Store.MemberForToken(ctx, "o1", "ann"); changed || err != nil || m.Role != "owner" {
			t.Errorf("member for token before any change: %+v %v %v", m, changed, err)
		}
		if _, _, _, err := f.Store.MemberForToken(ctx, "o1", "bob"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("member for token of a non-member: %v", err)
		}
		for _, u := range []struct{ user, mid, sess string }{{"bob", "m2", "s-bob1"}, {"cyd", "m3", "s-cyd"}} {
			if ok, err := acceptAs(ctx, f, "i-"+u.user, "o1", u.user, u.mid, "member"); err != nil || !ok {
				t.Fatalf("accept %s: %v %v", u.user, ok, err)
			}
			if err := f.Store.SetActiveOrganization(ctx, u.sess, "o1"); err != nil {
				t.Fatal(err)
			}
		}
		if got := memberEvents(f.Events(t)); len(got) != 0 {
			t.Errorf("joining wrote %v; a new member has no tokens to refuse", got)
		}
		if m, err := f.Store.SetMemberRole(ctx, "m2", "admin"); err != nil || m.Role != "admin" || m.User.Email != "bob@example.com" {
			t.Fatalf("set role: %+v, %v", m, err)
		}
		if got, want := memberEvents(f.Events(t)), []string{"member:bob@o1"}; !slices.Equal(got, want) {
			t.Errorf("after a role change: %v, want %v", got, want)
		}
		m, at, ok, err := f.Store.MemberForToken(ctx, "o1", "bob")
		if err != nil || !ok || m.Role != "admin" || at.Before(before) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("member for token after a change: %+v %v %v %v", m, at, ok, err)
		}
		if _, err := f.Store.SetMemberRole(ctx, "no-such-member", "admin"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("role of a missing member: %v", err)
		}
		bob, _ := f.Store.MemberByID(ctx, "m2")
		if err := f.Store.RemoveMember(ctx, bob); err != nil {
			t.Fatal(err)
		}
		if got := f.ActiveOrganization(t, "s-bob1"); got != "" {
			t.Errorf("removed bob's session still has %q active", got)
		}
		if got := f.ActiveOrganization(t, "s-bob2"); got != "o2" {
			t.Errorf("bob's other session, active in o2, became %q", got)
		}
		if got := f.ActiveOrganization(t, "s-cyd"); got != "o1" {
			t.Errorf("cyd's session lost o1: %q", got)
		}
		if err := f.Store.RemoveMember(ctx, bob); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("removing twice: %v", err)
		}
		if got, want := memberEvents(f.Events(t)), []string{"member:bob@o1", "member:bob@o1"}; !slices.Equal(got, want) {
			t.Errorf("after the removal: %v, want %v", got, want)
		}
		if err := f.Store.CreateInvitation(ctx, invitation("i9", "o1", "dan@example.com", "ann")); err != nil {
			t.Fatal(err)
		}
		if err := f.Store.DeleteOrganization(ctx, "o1"); err != nil {
			t.Fatal(err)
		}
		want := []string{"member:ann@o1", "member:bob@o1", "member:bob@o1", "member:cyd@o1", "organization_deleted:o1@"}
		if got := memberEvents(f.Events(t)); !slices.Equal(got, want) {
			t.Errorf("after the delete: %v, want %v", got, want)
		}
		for _, s := range []string{"s-ann", "s-cyd"} {
			if got := f.ActiveOrganization(t, s); got != "" {
				t.Errorf("session %s still has the deleted organization %q active", s, got)
			}
		}
		if got := f.ActiveOrganization(t, "s-bob2"); got != "o2" {
			t.Errorf("another organization's session changed: %q", got)
		}
		if _, err := f.Store.Invitation(ctx, "i9"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("invitation of the deleted organization: %v", err)
		}
		if _, err := f.Store.Member(ctx, "o1", "cyd"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("member of the deleted organization: %v", err)
		}
	})

	t.Run("invitations", func(t *testing.T) {
		f := open(t)
		f.User(t, "ann")
		f.User(t, "bob", "s-bob")
		if err := f.Store.CreateOrganization(ctx, org("o1", "acme"), member("m1", "o1", "ann", "owner"), ""); err != nil {
			t.Fatal(err)
		}
		inv := invitation("i1", "o1", "bob@example.com", "ann")
		if err := f.Store.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
		got, err := f.Store.Invitation(ctx, "i1")
		if err != nil || got.Status != organization.StatusPending || !got.ExpiresAt.Equal(inv.ExpiresAt) || *got.Role != "member" || got.InviterID != "ann" {
			t.Errorf("invitation: %+v, %v", got, err)
		}
		mine, err := f.Store.InvitationsFor(ctx, "bob@example.com")
		if err != nil || len(mine) != 1 || mine[0].OrganizationName != "Org o1" || mine[0].ID != "i1" || mine[0].Status != organization.StatusPending || !mine[0].ExpiresAt.Equal(inv.ExpiresAt) {
			t.Errorf("bob's invitations: %+v, %v", mine, err)
		}
		later := inv.ExpiresAt.Add(time.Hour)
		if err := f.Store.ExtendInvitation(ctx, "i1", later); err != nil {
			t.Fatal(err)
		}
		if got, _ := f.Store.Invitation(ctx, "i1"); !got.ExpiresAt.Equal(later) {
			t.Errorf("extended to %v, want %v", got.ExpiresAt, later)
		}
		if _, changed, err := f.Store.SetInvitationStatus(ctx, "i1", organization.StatusAccepted, organization.StatusCanceled); changed || err != nil {
			t.Errorf("status change from the wrong status: %v %v", changed, err)
		}
		if ok, err := f.Store.AcceptInvitation(ctx, "i1", member("m2", "o1", "bob", "member"), "s-bob"); !ok || err != nil {
			t.Fatalf("accept: %v %v", ok, err)
		}
		if got := f.ActiveOrganization(t, "s-bob"); got != "o1" {
			t.Errorf("accepting did not make o1 active: %q", got)
		}
		if ok, err := f.Store.AcceptInvitation(ctx, "i1", member("m3", "o1", "bob", "member"), "s-bob"); ok || err != nil {
			t.Errorf("second accept: %v %v", ok, err)
		}
		if _, err := f.Store.MemberByID(ctx, "m3"); !errors.Is(err, identity.ErrNotFound) {
			t.Errorf("the refused accept wrote member m3: %v", err)
		}
		out, changed, err := f.Store.SetInvitationStatus(ctx, "i1", "", organization.StatusCanceled)
		if !changed || err != nil || out.Status != organization.StatusCanceled {
			t.Errorf("cancel: %+v %v %v", out, changed, err)
		}
		all, err := f.Store.Invitations(ctx, "o1")
		if err != nil || len(all) != 1 {
			t.Errorf("list: %+v %v", all, err)
		}
	})
}

func invitation(id, orgID, email, inviter string) organization.Invitation {
	role := "member"
	return organization.Invitation{ID: id, OrganizationID: orgID, Email: email, Role: &role, Status: organization.StatusPending,
		ExpiresAt: epoch.Add(48 * time.Hour), CreatedAt: epoch, InviterID: inviter}
}

// acceptAs invites userID's address to orgID and accepts it as a member with role.
func acceptAs(ctx context.Context, f Fixture, invID, orgID, userID, memberID, role string) (bool, error) {
	inv := invitation(invID, orgID, userID+"@example.com", "ann")
	inv.Role = &role
	if err := f.Store.CreateInvitation(ctx, inv); err != nil {
		return false, err
	}
	return f.Store.AcceptInvitation(ctx, invID, member(memberID, orgID, userID, role), "")
}
