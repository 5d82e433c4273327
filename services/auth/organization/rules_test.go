package organization_test

// The organization rules over the real store on SQLite (the same Store
// conformance suite as PostgreSQL, sqlstore), with a clock the test moves.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/organization"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

var start = time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

// outbox keeps the mails sent.
type outbox struct {
	mu    sync.Mutex
	mails []identity.Mail
}

func (o *outbox) Send(_ context.Context, m identity.Mail) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mails = append(o.mails, m)
	return nil
}
func (o *outbox) Check(context.Context) error { return nil }

type rig struct {
	t     *testing.T
	store *sqlstore.IdentityStore
	svc   *organization.Service
	clk   *clock
	mail  *outbox
}

func newRig(t *testing.T) *rig {
	t.Helper()
	store := sqlstore.NewIdentityStore(sqlstoretest.Open(t, sqldb.SQLite), time.UTC)
	clk := &clock{now: start}
	mail := &outbox{}
	svc := organization.NewService(store, mail, func(id string) string { return "https://app.example/accept-invitation/" + id },
		organization.DefaultPolicy(), clk.Now)
	return &rig{t: t, store: store, svc: svc, clk: clk, mail: mail}
}

// user creates a user with a session; the actor is refreshed from the store by actor().
func (r *rig) user(name string) organization.Actor {
	r.t.Helper()
	ctx := context.Background()
	now := r.clk.Now()
	u := identity.User{ID: name, Name: name, Email: name + "@example.com", EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	pw := "x"
	a := identity.Account{ID: "acct-" + name, AccountID: name, ProviderID: identity.CredentialProvider, UserID: name, Password: &pw, CreatedAt: now, UpdatedAt: now}
	if err := r.store.CreateUser(ctx, u, a); err != nil {
		r.t.Fatal(err)
	}
	s := identity.Session{ID: "s-" + name, Token: "tok-" + name, UserID: name, ExpiresAt: now.Add(24 * time.Hour), CreatedAt: now, UpdatedAt: now}
	if err := r.store.CreateSession(ctx, s); err != nil {
		r.t.Fatal(err)
	}
	return r.actor(name)
}

// actor is the user as their session is now (its active organization).
func (r *rig) actor(name string) organization.Actor {
	r.t.Helper()
	s, u, err := r.store.SessionByToken(context.Background(), "tok-"+name)
	if err != nil {
		r.t.Fatal(err)
	}
	return organization.Actor{UserID: u.ID, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, SessionID: s.ID, ActiveOrganizationID: s.ActiveOrganizationID}
}

// join invites name to org with role (by owner) and accepts it.
func (r *rig) join(owner organization.Actor, orgID, name, role string) organization.Member {
	r.t.Helper()
	ctx := context.Background()
	inv, err := r.svc.Invite(ctx, owner, organization.InviteInput{Email: name + "@example.com", Roles: []string{role}, OrganizationID: orgID})
	if err != nil {
		r.t.Fatalf("invite %s as %s: %v", name, role, err)
	}
	_, m, err := r.svc.Accept(ctx, r.actor(name), inv.ID)
	if err != nil {
		r.t.Fatalf("accept %s: %v", name, err)
	}
	return m
}

// refusal asserts err is the refusal kind/code.
func refusal(t *testing.T, what string, err error, kind organization.Kind, code string) {
	t.Helper()
	var e *organization.Error
	if !errors.As(err, &e) || e.Kind != kind || e.Code != code {
		t.Errorf("%s: %v (%#v), want kind %d code %s", what, err, e, kind, code)
	}
}

func TestDefaultRolesGrantBetterAuthsStatements(t *testing.T) {
	t.Parallel()
	type P = organization.Permissions
	for _, tc := range []struct {
		role string
		want organization.Permissions
		ok   bool
	}{
		{"owner", P{"organization": {"delete"}}, true},
		{"owner", P{"organization": {"update", "delete"}, "member": {"create", "update", "delete"}}, true},
		{"admin", P{"organization": {"update"}}, true},
		{"admin", P{"organization": {"delete"}}, false},
		{"admin", P{"member": {"delete"}, "invitation": {"create", "cancel"}}, true},
		{"member", P{"organization": {"update"}}, false},
		{"member", P{"member": {"delete"}}, false},
		{"member", P{"invitation": {"create"}}, false},
		{"member", P{"ac": {"read"}}, true},
		{"member,admin", P{"member": {"update"}}, true},    // any role of the member grants
		{" admin , member", P{"member": {"update"}}, true}, // padded names are the same roles
		{"admin", P{"member": {"update"}, "ac": {"read"}, "nope": {"x"}}, false},
		{"owner", P{"billing": {"read"}}, false}, // an unknown resource
		{"owner", P{"member": {}}, false},        // no action asked
		{"owner", P{}, false},
		{"boss", P{"ac": {"read"}}, false}, // an unknown role grants nothing
		{"", P{"ac": {"read"}}, false},
	} {
		if got := organization.Allowed(tc.role, tc.want, false); got != tc.ok {
			t.Errorf("Allowed(%q, %v) = %v, want %v", tc.role, tc.want, got, tc.ok)
		}
	}
	if !organization.Allowed("owner", P{"billing": {"read"}}, true) {
		t.Error("creatorAll does not grant the owner everything")
	}
	if organization.Allowed("admin", P{"billing": {"read"}}, true) {
		t.Error("creatorAll granted a non-owner")
	}
}

func TestInvitationLifetimeAndRecipient(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	ann, bob, eve := r.user("ann"), r.user("bob"), r.user("eve")
	org, _, err := r.svc.Create(ctx, ann, organization.CreateInput{Name: "Acme", Slug: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := r.svc.Invite(ctx, ann, organization.InviteInput{Email: "Bob@Example.com", Roles: []string{"member"}, OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Email != "bob@example.com" || !inv.ExpiresAt.Equal(start.Add(48*time.Hour)) {
		t.Errorf("invitation %+v: want the address lower-cased and 48 h of life", inv)
	}
	if len(r.mail.mails) != 1 || r.mail.mails[0].InvitationID != inv.ID || r.mail.mails[0].Link != "https://app.example/accept-invitation/"+inv.ID {
		t.Errorf("mail: %+v", r.mail.mails)
	}
	_, err = r.svc.Invite(ctx, ann, organization.InviteInput{Email: "bob@example.com", Roles: []string{"member"}, OrganizationID: org.ID})
	refusal(t, "second invitation", err, organization.Invalid, "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION")

	// Another signed-in user holding the link is not the recipient.
	_, err = r.svc.GetInvitation(ctx, eve, inv.ID)
	refusal(t, "eve reads bob's invitation", err, organization.Forbidden, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
	_, _, err = r.svc.Accept(ctx, eve, inv.ID)
	refusal(t, "eve accepts bob's invitation", err, organization.Forbidden, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")

	// Expired one millisecond after 48 h.
	r.clk.Advance(48*time.Hour + time.Millisecond)
	_, _, err = r.svc.Accept(ctx, bob, inv.ID)
	refusal(t, "accept after 48 h", err, organization.Invalid, "INVITATION_NOT_FOUND")
	// Expired, it no longer blocks a new one; resending a live one extends it.
	inv2, err := r.svc.Invite(ctx, ann, organization.InviteInput{Email: "bob@example.com", Roles: []string{"admin"}, OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Advance(47 * time.Hour)
	again, err := r.svc.Invite(ctx, ann, organization.InviteInput{Email: "bob@example.com", Roles: []string{"admin"}, OrganizationID: org.ID, Resend: true})
	if err != nil || again.ID != inv2.ID || !again.ExpiresAt.Equal(r.clk.Now().Add(48*time.Hour)) {
		t.Errorf("resend: %+v, %v", again, err)
	}
	r.clk.Advance(47 * time.Hour) // 94 h after inv2 was made: alive only thanks to the resend
	_, m, err := r.svc.Accept(ctx, bob, inv2.ID)
	if err != nil || m.Role != "admin" {
		t.Fatalf("accept the resent invitation: %+v, %v", m, err)
	}
	if got := r.actor("bob").ActiveOrganizationID; got != org.ID {
		t.Errorf("accepting did not make the organization active: %q", got)
	}
	_, _, err = r.svc.Accept(ctx, bob, inv2.ID)
	refusal(t, "accept twice", err, organization.Invalid, "INVITATION_NOT_FOUND")

	// A cancelled invitation cannot be accepted.
	r.user("cyd")
	inv3, err := r.svc.Invite(ctx, ann, organization.InviteInput{Email: "cyd@example.com", Roles: []string{"member"}, OrganizationID: org.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.svc.Cancel(ctx, ann, inv3.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = r.svc.Accept(ctx, r.actor("cyd"), inv3.ID)
	refusal(t, "accept a cancelled invitation", err, organization.Invalid, "INVITATION_NOT_FOUND")
}

func TestWhoMayDoWhatToWhom(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	owner := r.user("owner")
	for _, n := range []string{"admin", "member", "outsider", "other"} {
		r.user(n)
	}
	org, ownerM, err := r.svc.Create(ctx, owner, organization.CreateInput{Name: "Acme", Slug: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := r.svc.Create(ctx, r.actor("other"), organization.CreateInput{Name: "Other", Slug: "other"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.svc.Invite(ctx, owner, organization.InviteInput{Email: "x@example.com", Roles: []string{"boss"}, OrganizationID: org.ID})
	var e *organization.Error
	if !errors.As(err, &e) || e.Message != "ROLE_NOT_FOUND: boss" || e.Code != "" {
		t.Errorf("unknown role: %#v", e)
	}
	adminM := r.join(owner, org.ID, "admin", "admin")
	memberM := r.join(owner, org.ID, "member", "member")
	otherOwner, err := r.store.Member(ctx, other.ID, "other")
	if err != nil {
		t.Fatal(err)
	}
	admin, member, outsider := r.actor("admin"), r.actor("member"), r.actor("outsider")

	_, err = r.svc.Invite(ctx, admin, organization.InviteInput{Email: "y@example.com", Roles: []string{"owner"}, OrganizationID: org.ID})
	refusal(t, "admin invites an owner", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE")
	_, err = r.svc.Invite(ctx, member, organization.InviteInput{Email: "y@example.com", Roles: []string{"member"}, OrganizationID: org.ID})
	refusal(t, "member invites", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION")

	_, err = r.svc.UpdateRole(ctx, member, organization.UpdateRoleInput{MemberID: memberM.ID, Roles: []string{"owner"}, OrganizationID: org.ID})
	refusal(t, "member makes themselves owner", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	_, err = r.svc.UpdateRole(ctx, member, organization.UpdateRoleInput{MemberID: memberM.ID, Roles: []string{"admin"}, OrganizationID: org.ID})
	refusal(t, "member makes themselves admin", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	_, err = r.svc.UpdateRole(ctx, admin, organization.UpdateRoleInput{MemberID: adminM.ID, Roles: []string{"owner"}, OrganizationID: org.ID})
	refusal(t, "admin makes themselves owner", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	_, err = r.svc.UpdateRole(ctx, admin, organization.UpdateRoleInput{MemberID: ownerM.ID, Roles: []string{"member"}, OrganizationID: org.ID})
	refusal(t, "admin demotes the owner", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	_, err = r.svc.Remove(ctx, admin, organization.RemoveInput{MemberIDOrEmail: ownerM.ID, OrganizationID: org.ID})
	refusal(t, "admin removes the owner", err, organization.Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
	_, err = r.svc.Remove(ctx, member, organization.RemoveInput{MemberIDOrEmail: adminM.ID, OrganizationID: org.ID})
	refusal(t, "member removes the admin", err, organization.Unauthorized, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER")
	_, err = r.svc.UpdateRole(ctx, owner, organization.UpdateRoleInput{MemberID: ownerM.ID, Roles: []string{"admin"}, OrganizationID: org.ID})
	refusal(t, "the only owner steps down", err, organization.Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER")
	_, err = r.svc.Leave(ctx, owner, org.ID)
	refusal(t, "the only owner leaves", err, organization.Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
	_, err = r.svc.Update(ctx, member, org.ID, organization.Patch{})
	refusal(t, "member updates the organization", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION")
	_, err = r.svc.Delete(ctx, admin, org.ID)
	refusal(t, "admin deletes the organization", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION")

	// Ids of another organization in the body.
	_, err = r.svc.UpdateRole(ctx, owner, organization.UpdateRoleInput{MemberID: otherOwner.ID, Roles: []string{"member"}, OrganizationID: org.ID})
	refusal(t, "update a member of another organization", err, organization.Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	_, err = r.svc.Remove(ctx, owner, organization.RemoveInput{MemberIDOrEmail: otherOwner.ID, OrganizationID: org.ID})
	refusal(t, "remove a member of another organization", err, organization.Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
	if _, err := r.store.MemberByID(ctx, otherOwner.ID); err != nil {
		t.Errorf("the other organization's owner is gone: %v", err)
	}

	// Outsiders read nothing and cannot make the organization active.
	_, _, err = r.svc.SetActive(ctx, outsider, organization.Lookup{ID: org.ID}, false)
	refusal(t, "outsider sets it active", err, organization.Forbidden, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	_, _, err = r.svc.GetFull(ctx, outsider, organization.Lookup{ID: org.ID}, 0)
	refusal(t, "outsider reads it", err, organization.Forbidden, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	_, _, err = r.svc.ListMembers(ctx, outsider, organization.Lookup{ID: org.ID}, 0, 0)
	refusal(t, "outsider lists members", err, organization.Forbidden, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
	_, err = r.svc.HasPermission(ctx, outsider, org.ID, organization.Permissions{"ac": {"read"}})
	refusal(t, "outsider asks has-permission", err, organization.Unauthorized, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")

	// What is allowed works.
	if m, err := r.svc.UpdateRole(ctx, admin, organization.UpdateRoleInput{MemberID: memberM.ID, Roles: []string{"admin", "member"}, OrganizationID: org.ID}); err != nil || m.Role != "admin,member" {
		t.Errorf("admin promotes a member: %+v, %v", m, err)
	}
	if _, err := r.svc.Remove(ctx, admin, organization.RemoveInput{MemberIDOrEmail: "member@example.com", OrganizationID: org.ID}); err != nil {
		t.Errorf("admin removes a member by email: %v", err)
	}
	if _, err := r.svc.Leave(ctx, admin, org.ID); err != nil {
		t.Errorf("admin leaves: %v", err)
	}
	if _, err := r.svc.Delete(ctx, owner, org.ID); err != nil {
		t.Errorf("owner deletes: %v", err)
	}
}

// changes is a Store whose latest member change the test sets, over the real store.
type changes struct {
	organization.Store
	at time.Time
}

func (c *changes) MemberForToken(ctx context.Context, orgID, userID string) (organization.Member, time.Time, bool, error) {
	m, err := c.Store.Member(ctx, orgID, userID)
	return m, c.at, !c.at.IsZero(), err
}

func TestTokenClaimsWaitOutTheSecondOfAChange(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	ann := r.user("ann")
	org, _, err := r.svc.Create(ctx, ann, organization.CreateInput{Name: "Acme", Slug: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	store := &changes{Store: r.store}
	svc := organization.NewService(store, nil, nil, organization.DefaultPolicy(), r.clk.Now)
	var slept []time.Duration
	svc.UseSleep(func(ctx context.Context, d time.Duration) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		slept = append(slept, d)
		r.clk.Advance(d)
		return nil
	})
	claim := func() organization.Claims {
		t.Helper()
		c, err := svc.TokenClaims(ctx, "ann", org.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// No change recorded: no wait.
	if c := claim(); c.Organization != org.ID || c.Role != "owner" || len(slept) != 0 {
		t.Errorf("no change: %+v, slept %v", c, slept)
	}
	// A change 300 ms into this second: wait the 700 ms to the next one.
	now := r.clk.Now().Truncate(time.Second).Add(time.Second) // a whole second ahead
	r.clk.Advance(now.Sub(r.clk.Now()) + 300*time.Millisecond)
	store.at = now.Add(100 * time.Millisecond)
	c := claim()
	if c.Organization != org.ID || len(slept) != 1 || slept[0] != 700*time.Millisecond {
		t.Errorf("change in this second: %+v, slept %v", c, slept)
	}
	if c.IssuedAt.Unix() <= store.at.Unix() {
		t.Errorf("iat second %d not after the change's %d", c.IssuedAt.Unix(), store.at.Unix())
	}
	if !c.IssuedAt.Equal(r.clk.Now()) {
		t.Errorf("iat %v is not the moment of the read after the wait (%v)", c.IssuedAt, r.clk.Now())
	}
	// A change in the previous second: no wait.
	slept = nil
	store.at = r.clk.Now().Add(-time.Second)
	if claim(); len(slept) != 0 {
		t.Errorf("change a second ago: slept %v", slept)
	}
	// A change stamped in the future (another replica's clock): the wait is bounded.
	store.at = r.clk.Now().Add(5 * time.Second)
	if claim(); len(slept) != 1 || slept[0] != organization.MaxSameSecondWait {
		t.Errorf("future change: slept %v, want one %v", slept, organization.MaxSameSecondWait)
	}
	// A caller who gave up is not kept waiting.
	store.at = r.clk.Now()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := svc.TokenClaims(cancelled, "ann", org.ID); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	// No longer a member: no organization claims.
	if c, err := svc.TokenClaims(ctx, "ann", "another-org"); err != nil || c != (organization.Claims{}) {
		t.Errorf("not a member: %+v, %v", c, err)
	}
	if c, err := svc.TokenClaims(ctx, "ann", ""); err != nil || c != (organization.Claims{}) {
		t.Errorf("no active organization: %+v, %v", c, err)
	}
}
