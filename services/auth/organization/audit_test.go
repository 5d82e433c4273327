package organization_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/requestid"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/organization"
)

// Every membership change is on the trail, written with the change, with
// whose membership changed, who changed it, the organization and the role,
// and the request's address; a refused change writes nothing.
func TestMembershipChangesAreAudited(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := identity.WithClient(requestid.With(context.Background(), "req-1"), identity.Client{IPAddress: "203.0.113.7", UserAgent: "test-agent"})
	ann := r.user("ann")
	org, _, err := r.svc.Create(ctx, ann, organization.CreateInput{Name: "Acme", Slug: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	ann = r.actor("ann")
	inv, err := r.svc.Invite(ctx, ann, organization.InviteInput{Email: "bob@example.com", Roles: []string{"member"}, OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	r.user("bob")
	bobMember := func() organization.Member {
		_, m, err := r.svc.Accept(ctx, r.actor("bob"), inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}()
	r.clk.Advance(time.Second) // the trail lists newest first by time
	r.user("cyd")
	invCyd, err := r.svc.Invite(ctx, ann, organization.InviteInput{Email: "cyd@example.com", Roles: []string{"member"}, OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.svc.Accept(ctx, r.actor("cyd"), invCyd.ID); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	if _, err := r.svc.UpdateRole(ctx, ann, organization.UpdateRoleInput{MemberID: bobMember.ID, Roles: []string{"admin"}, OrganizationID: org.ID}); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	// Refused: a member cannot remove anyone; nothing is written.
	if _, err := r.svc.Remove(ctx, r.actor("cyd"), organization.RemoveInput{MemberIDOrEmail: bobMember.ID, OrganizationID: org.ID}); err == nil {
		t.Fatal("a member removed an admin")
	}
	if _, err := r.svc.Remove(ctx, r.actor("bob"), organization.RemoveInput{MemberIDOrEmail: "cyd@example.com", OrganizationID: org.ID}); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	if _, err := r.svc.Leave(ctx, r.actor("bob"), org.ID); err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(time.Second)
	if _, err := r.svc.Delete(ctx, r.actor("ann"), org.ID); err != nil {
		t.Fatal(err)
	}

	events, err := r.store.AuditEvents(context.Background(), audit.Query{AllUsers: true, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.Detail[audit.DetailOrganizationID] != org.ID {
			t.Errorf("%s: organization %q, want %q", e.Type, e.Detail[audit.DetailOrganizationID], org.ID)
		}
		if e.IPAddress != "203.0.113.7" || e.UserAgent != "test-agent" {
			t.Errorf("%s: from %q %q, want the request's", e.Type, e.IPAddress, e.UserAgent)
		}
		got = append(got, fmt.Sprintf("%s %s by %q role %q", e.Type, e.UserID, e.ActorID, e.Detail[audit.DetailRole]))
	}
	slices.Reverse(got) // newest first → in order
	want := []string{
		`organization-created ann by "" role ""`,
		`member-added bob by "" role "member"`,
		`member-added cyd by "" role "member"`,
		`member-role-changed bob by "ann" role "admin"`,
		`member-removed cyd by "bob" role ""`,
		`member-left bob by "" role ""`,
		`organization-deleted ann by "" role ""`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("trail:\n%v\nwant\n%v", got, want)
	}
}
