package organization

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/latchid/latch/pkg/requestid"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
)

// Organization is an organization row. Metadata is the stored JSON text.
type Organization struct {
	ID        string
	Name      string
	Slug      string
	Logo      *string
	Metadata  *string
	CreatedAt time.Time
}

// UserRef is the part of a user shown beside a member.
type UserRef struct {
	ID    string
	Name  string
	Email string
	Image *string
}

// Member is a member row with its user. Role is the stored, comma-separated value.
type Member struct {
	ID             string
	OrganizationID string
	UserID         string
	Role           string
	CreatedAt      time.Time
	User           UserRef
}

// Invitation statuses.
const (
	StatusPending  = "pending"
	StatusAccepted = "accepted"
	StatusRejected = "rejected"
	StatusCanceled = "canceled"
)

// Invitation is an invitation row.
type Invitation struct {
	ID             string
	OrganizationID string
	Email          string
	Role           *string
	Status         string
	ExpiresAt      time.Time
	CreatedAt      time.Time
	InviterID      string
}

// Live reports whether the invitation can still be used at now.
func (i Invitation) Live(now time.Time) bool {
	return i.Status == StatusPending && !i.ExpiresAt.Before(now)
}

// UserInvitation is an invitation with its organization's name.
type UserInvitation struct {
	Invitation
	OrganizationName string
}

// Patch is update's changes; nil leaves a field alone.
type Patch struct {
	Name, Slug *string
	SetLogo    bool
	Logo       *string
	Metadata   *string
}

// Store keeps organizations, members and invitations. It returns
// identity.ErrNotFound for a missing row and errors wrapping
// identity.ErrUnavailable when the database is down. Every change of a
// membership writes its revocation event in the same transaction.
// The methods that change membership take the audit events that record the
// change (docs/audit.md) and write them in the change's own transaction.
type Store interface {
	// CreateOrganization inserts org and its first member and, when
	// sessionID is set, makes org that session's active organization.
	// A taken slug is ErrSlugTaken.
	CreateOrganization(ctx context.Context, org Organization, owner Member, sessionID string, trail ...audit.Event) error
	OrganizationByID(ctx context.Context, id string) (Organization, error)
	OrganizationBySlug(ctx context.Context, slug string) (Organization, error)
	UpdateOrganization(ctx context.Context, id string, p Patch) (Organization, error)
	// DeleteOrganization deletes the organization, its members and
	// invitations, records a member event for each member and an
	// organization_deleted event, and clears it as every session's active one.
	DeleteOrganization(ctx context.Context, id string, trail ...audit.Event) error
	OrganizationsOf(ctx context.Context, userID string) ([]Organization, error)

	Member(ctx context.Context, orgID, userID string) (Member, error)
	MemberByID(ctx context.Context, id string) (Member, error)
	MemberByEmail(ctx context.Context, orgID, email string) (Member, error)
	// Members lists an organization's members, oldest first, and counts them all.
	Members(ctx context.Context, orgID string, limit, offset int) ([]Member, int, error)
	// SetMemberRole changes a member's role and records a member event.
	SetMemberRole(ctx context.Context, memberID, role string, trail ...audit.Event) (Member, error)
	// RemoveMember deletes the member, records a member event and clears
	// the organization as active in the removed user's sessions.
	RemoveMember(ctx context.Context, m Member, trail ...audit.Event) error
	// SetActiveOrganization sets (or, with "", clears) a session's active organization.
	SetActiveOrganization(ctx context.Context, sessionID, orgID string) error

	CreateInvitation(ctx context.Context, inv Invitation) error
	Invitation(ctx context.Context, id string) (Invitation, error)
	Invitations(ctx context.Context, orgID string) ([]Invitation, error)
	InvitationsFor(ctx context.Context, email string) ([]UserInvitation, error)
	// SetInvitationStatus moves an invitation to status; with from set,
	// only from that status. It reports whether a row changed.
	SetInvitationStatus(ctx context.Context, id, from, status string) (Invitation, bool, error)
	ExtendInvitation(ctx context.Context, id string, expiresAt time.Time) error
	// AcceptInvitation moves the pending invitation to accepted, adds m and
	// makes the organization the session's active one, in one transaction;
	// false when the invitation was no longer pending.
	AcceptInvitation(ctx context.Context, invitationID string, m Member, sessionID string, trail ...audit.Event) (bool, error)

	// MemberForToken reads userID's member row in orgID (identity.ErrNotFound
	// when not a member) and when the newest member event for them was
	// written (changed false: never), as one view no change slips past: a
	// change the read does not see records its event after the read began.
	// On PostgreSQL the read holds a SHARE lock on revocation_event, which
	// waits for writers in flight (they hold EXCLUSIVE until commit) and
	// makes later ones wait for it.
	MemberForToken(ctx context.Context, orgID, userID string) (m Member, lastChange time.Time, changed bool, err error)
}

// ErrSlugTaken is a slug another organization holds (the unique index).
var ErrSlugTaken = errors.New("organization slug taken")

// Policy is the plugin's options; DefaultPolicy is Better Auth's defaults.
type Policy struct {
	InvitationTTL   time.Duration
	MembershipLimit int
	InvitationLimit int
	// MembersListed bounds list-members and get-full-organization.
	MembersListed int
}

// DefaultPolicy: invitations expire after 48 hours (invitationExpiresIn
// 172800 s); 100 members and 100 pending invitations per organization.
func DefaultPolicy() Policy {
	return Policy{InvitationTTL: 48 * time.Hour, MembershipLimit: 100, InvitationLimit: 100, MembersListed: 100}
}

// Actor is the signed-in caller and their session.
type Actor struct {
	UserID        string
	Name          string
	Email         string
	EmailVerified bool
	SessionID     string
	// ActiveOrganizationID is the session's active organization ("" none).
	ActiveOrganizationID string
}

// Service applies the plugin's rules over a Store.
type Service struct {
	store  Store
	mailer identity.Mailer
	link   func(invitationID string) string
	policy Policy
	now    func() time.Time
	// sleep waits d or until ctx ends (the same-second rule); tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
}

// NewService returns the rules over store. link builds an invitation's
// accept URL for its mail; now may be nil (time.Now).
func NewService(store Store, mailer identity.Mailer, link func(string) string, policy Policy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, mailer: mailer, link: link, policy: policy, now: now, sleep: sleepCtx}
}

// UseSleep replaces how the same-second rule waits (tests move a clock instead).
func (s *Service) UseSleep(sleep func(context.Context, time.Duration) error) { s.sleep = sleep }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func notFound(err error) bool { return errors.Is(err, identity.ErrNotFound) }

// member finds the actor's membership; missing is refusal.
func (s *Service) member(ctx context.Context, orgID, userID string, missing *Error) (Member, error) {
	m, err := s.store.Member(ctx, orgID, userID)
	if notFound(err) {
		return Member{}, missing
	}
	return m, err
}

// CreateInput is create's body.
type CreateInput struct {
	Name, Slug string
	Logo       *string
	Metadata   *string // JSON text
	KeepActive bool    // keepCurrentActiveOrganization
}

// Create makes an organization with the actor as its owner and, unless
// KeepActive, the session's active organization.
func (s *Service) Create(ctx context.Context, a Actor, in CreateInput) (Organization, Member, error) {
	if _, err := s.store.OrganizationBySlug(ctx, in.Slug); err == nil {
		return Organization{}, Member{}, refuse(Invalid, "ORGANIZATION_ALREADY_EXISTS")
	} else if !notFound(err) {
		return Organization{}, Member{}, err
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	org := Organization{ID: identity.NewID(), Name: in.Name, Slug: in.Slug, Logo: in.Logo, Metadata: in.Metadata, CreatedAt: now}
	owner := Member{ID: identity.NewID(), OrganizationID: org.ID, UserID: a.UserID, Role: CreatorRole, CreatedAt: now,
		User: UserRef{ID: a.UserID, Name: a.Name, Email: a.Email}}
	activate := a.SessionID
	if in.KeepActive {
		activate = ""
	}
	err := s.store.CreateOrganization(ctx, org, owner, activate,
		s.event(ctx, audit.OrganizationCreated, a.UserID, "", org.ID, ""))
	if errors.Is(err, ErrSlugTaken) {
		return Organization{}, Member{}, refuse(Invalid, "ORGANIZATION_ALREADY_EXISTS")
	}
	return org, owner, err
}

// CheckSlug is nil when no organization holds slug.
func (s *Service) CheckSlug(ctx context.Context, slug string) error {
	_, err := s.store.OrganizationBySlug(ctx, slug)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return refuse(Invalid, "ORGANIZATION_SLUG_ALREADY_TAKEN")
}

// Update changes the organization orgID (the active one when "").
func (s *Service) Update(ctx context.Context, a Actor, orgID string, p Patch) (Organization, error) {
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		return Organization{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	m, err := s.member(ctx, orgID, a.UserID, refuse(Invalid, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"))
	if err != nil {
		return Organization{}, err
	}
	if !Allowed(m.Role, Permissions{"organization": {"update"}}, false) {
		return Organization{}, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_ORGANIZATION")
	}
	if p.Slug != nil {
		other, err := s.store.OrganizationBySlug(ctx, *p.Slug)
		if err == nil && other.ID != orgID {
			return Organization{}, refuse(Invalid, "ORGANIZATION_SLUG_ALREADY_TAKEN")
		} else if err != nil && !notFound(err) {
			return Organization{}, err
		}
	}
	org, err := s.store.UpdateOrganization(ctx, orgID, p)
	if errors.Is(err, ErrSlugTaken) {
		return Organization{}, refuse(Invalid, "ORGANIZATION_SLUG_ALREADY_TAKEN")
	}
	return org, err
}

// Delete deletes the organization; only a role with organization:delete may.
func (s *Service) Delete(ctx context.Context, a Actor, orgID string) (Organization, error) {
	if orgID == "" {
		return Organization{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	m, err := s.member(ctx, orgID, a.UserID, refuse(Invalid, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"))
	if err != nil {
		return Organization{}, err
	}
	if !Allowed(m.Role, Permissions{"organization": {"delete"}}, false) {
		return Organization{}, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_ORGANIZATION")
	}
	org, err := s.store.OrganizationByID(ctx, orgID)
	if notFound(err) {
		return Organization{}, &Error{Kind: Invalid}
	}
	if err != nil {
		return Organization{}, err
	}
	return org, s.store.DeleteOrganization(ctx, orgID, s.event(ctx, audit.OrganizationDeleted, a.UserID, "", orgID, ""))
}

// List is the actor's organizations.
func (s *Service) List(ctx context.Context, a Actor) ([]Organization, error) {
	return s.store.OrganizationsOf(ctx, a.UserID)
}

// Lookup names an organization by id or slug ("" both: the active one).
type Lookup struct{ ID, Slug string }

// resolve finds the organization of l for a read: none at all (no active
// organization) is ok=false. A caller who is not a member has the
// organization cleared as their active one (Better Auth's side effect) and
// is refused.
func (s *Service) resolve(ctx context.Context, a Actor, l Lookup) (Organization, Member, bool, error) {
	var (
		org Organization
		err error
	)
	switch {
	case l.Slug != "":
		org, err = s.store.OrganizationBySlug(ctx, l.Slug)
	case l.ID != "":
		org, err = s.store.OrganizationByID(ctx, l.ID)
	case a.ActiveOrganizationID != "":
		org, err = s.store.OrganizationByID(ctx, a.ActiveOrganizationID)
	default:
		return Organization{}, Member{}, false, nil
	}
	if notFound(err) {
		return Organization{}, Member{}, false, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	if err != nil {
		return Organization{}, Member{}, false, err
	}
	m, err := s.store.Member(ctx, org.ID, a.UserID)
	if notFound(err) {
		if err := s.store.SetActiveOrganization(ctx, a.SessionID, ""); err != nil {
			return Organization{}, Member{}, false, err
		}
		return Organization{}, Member{}, false, refuse(Forbidden, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	}
	return org, m, err == nil, err
}

// Get is get-organization: ok=false when there is nothing to show (null).
func (s *Service) Get(ctx context.Context, a Actor, l Lookup) (Organization, bool, error) {
	org, _, ok, err := s.resolve(ctx, a, l)
	return org, ok, err
}

// Full is get-full-organization's answer.
type Full struct {
	Organization
	Members     []Member
	Invitations []Invitation
}

// GetFull is get-full-organization. Invitations are shown only to roles
// that may create them, and those granting the owner role only to owners.
func (s *Service) GetFull(ctx context.Context, a Actor, l Lookup, membersLimit int) (Full, bool, error) {
	org, me, ok, err := s.resolve(ctx, a, l)
	if !ok || err != nil {
		return Full{}, ok, err
	}
	limit := s.policy.MembersListed
	if membersLimit > 0 {
		limit = membersLimit
	}
	members, _, err := s.store.Members(ctx, org.ID, limit, 0)
	if err != nil {
		return Full{}, false, err
	}
	invs, err := s.store.Invitations(ctx, org.ID)
	if err != nil {
		return Full{}, false, err
	}
	return Full{Organization: org, Members: members, Invitations: s.visibleInvitations(me.Role, invs)}, true, nil
}

func (s *Service) visibleInvitations(role string, invs []Invitation) []Invitation {
	out := []Invitation{}
	if !Allowed(role, Permissions{"invitation": {"create"}}, false) {
		return out
	}
	owner := HasRole(role, CreatorRole)
	for _, inv := range invs {
		if !owner && inv.Role != nil && HasRole(*inv.Role, CreatorRole) {
			continue
		}
		out = append(out, inv)
	}
	return out
}

// SetActive is set-active: clear (unset with an explicit null), or make an
// organization the actor is a member of their session's active one.
// ok=false answers null.
func (s *Service) SetActive(ctx context.Context, a Actor, l Lookup, unset bool) (Organization, bool, error) {
	if unset {
		if a.ActiveOrganizationID == "" {
			return Organization{}, false, nil
		}
		return Organization{}, false, s.store.SetActiveOrganization(ctx, a.SessionID, "")
	}
	orgID := l.ID
	if orgID == "" && l.Slug == "" {
		if a.ActiveOrganizationID == "" {
			return Organization{}, false, nil
		}
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		org, err := s.store.OrganizationBySlug(ctx, l.Slug)
		if notFound(err) {
			return Organization{}, false, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
		}
		if err != nil {
			return Organization{}, false, err
		}
		orgID = org.ID
	}
	if _, err := s.store.Member(ctx, orgID, a.UserID); notFound(err) {
		if err := s.store.SetActiveOrganization(ctx, a.SessionID, ""); err != nil {
			return Organization{}, false, err
		}
		return Organization{}, false, refuse(Forbidden, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION")
	} else if err != nil {
		return Organization{}, false, err
	}
	org, err := s.store.OrganizationByID(ctx, orgID)
	if notFound(err) {
		return Organization{}, false, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	if err != nil {
		return Organization{}, false, err
	}
	return org, true, s.store.SetActiveOrganization(ctx, a.SessionID, org.ID)
}

// InviteInput is invite-member's body.
type InviteInput struct {
	Email          string
	Roles          []string
	OrganizationID string
	Resend         bool
}

// Invite invites an email address with roles and mails them the
// invitation's id and accept link. Resend re-mails a pending invitation
// with a new expiry.
func (s *Service) Invite(ctx context.Context, a Actor, in InviteInput) (Invitation, error) {
	orgID := in.OrganizationID
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		return Invitation{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	email := strings.ToLower(in.Email)
	if !validEmail(email) {
		return Invitation{}, refuse(Invalid, "INVALID_EMAIL")
	}
	me, err := s.member(ctx, orgID, a.UserID, refuse(Invalid, "MEMBER_NOT_FOUND"))
	if err != nil {
		return Invitation{}, err
	}
	if !Allowed(me.Role, Permissions{"invitation": {"create"}}, false) {
		return Invitation{}, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USERS_TO_THIS_ORGANIZATION")
	}
	roles := ParseRoles(in.Roles...)
	if len(roles) == 0 {
		return Invitation{}, refuse(Invalid, "ROLE_NOT_FOUND")
	}
	var unknown []string
	for _, r := range roles {
		if !KnownRole(r) {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		return Invitation{}, bare(Invalid, "ROLE_NOT_FOUND: "+strings.Join(unknown, ", "))
	}
	owner := HasRole(me.Role, CreatorRole)
	if !owner && slices.Contains(roles, CreatorRole) {
		return Invitation{}, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE")
	}
	if _, err := s.store.MemberByEmail(ctx, orgID, email); err == nil {
		return Invitation{}, refuse(Invalid, "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION")
	} else if !notFound(err) {
		return Invitation{}, err
	}
	all, err := s.store.Invitations(ctx, orgID)
	if err != nil {
		return Invitation{}, err
	}
	now := s.now()
	var mine []Invitation
	pending := 0
	for _, inv := range all {
		if inv.Status == StatusPending && inv.ExpiresAt.After(now) {
			pending++
			if strings.EqualFold(inv.Email, email) {
				mine = append(mine, inv)
			}
		}
	}
	if len(mine) > 0 && !in.Resend {
		return Invitation{}, refuse(Invalid, "USER_IS_ALREADY_INVITED_TO_THIS_ORGANIZATION")
	}
	org, err := s.store.OrganizationByID(ctx, orgID)
	if notFound(err) {
		return Invitation{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	if err != nil {
		return Invitation{}, err
	}
	if len(mine) > 0 {
		inv := mine[0]
		if !owner && inv.Role != nil && HasRole(*inv.Role, CreatorRole) {
			return Invitation{}, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_INVITE_USER_WITH_THIS_ROLE")
		}
		inv.ExpiresAt = now.Add(s.policy.InvitationTTL).UTC().Truncate(time.Millisecond)
		if err := s.store.ExtendInvitation(ctx, inv.ID, inv.ExpiresAt); err != nil {
			return Invitation{}, err
		}
		return inv, s.mailInvitation(ctx, a, org, inv)
	}
	if pending >= s.policy.InvitationLimit {
		return Invitation{}, refuse(Forbidden, "INVITATION_LIMIT_REACHED")
	}
	role := JoinRoles(roles)
	inv := Invitation{
		ID: identity.NewID(), OrganizationID: orgID, Email: email, Role: &role, Status: StatusPending,
		ExpiresAt: now.Add(s.policy.InvitationTTL).UTC().Truncate(time.Millisecond),
		CreatedAt: now.UTC().Truncate(time.Millisecond), InviterID: a.UserID,
	}
	if err := s.store.CreateInvitation(ctx, inv); err != nil {
		return Invitation{}, err
	}
	return inv, s.mailInvitation(ctx, a, org, inv)
}

// validEmail is zod's z.email() closely enough: one address, no display name.
func validEmail(e string) bool {
	addr, err := mail.ParseAddress(e)
	return err == nil && addr.Address == e && strings.Contains(e[strings.LastIndex(e, "@"):], ".")
}

func (s *Service) mailInvitation(ctx context.Context, a Actor, org Organization, inv Invitation) error {
	if s.mailer == nil {
		return nil
	}
	link := s.link(inv.ID)
	inviter := a.Name
	if inviter == "" {
		inviter = a.Email
	}
	m := identity.InvitationMail(inv.Email, inviter, org.Name, inv.ID, link)
	if err := s.mailer.Send(ctx, m); err != nil {
		return fmt.Errorf("%w: %w", identity.ErrMailUnavailable, err)
	}
	return nil
}

// InvitationView is get-invitation's answer.
type InvitationView struct {
	Invitation
	OrganizationName string
	OrganizationSlug string
	InviterEmail     string
}

// recipient checks that a live invitation is addressed to the actor.
func (s *Service) recipient(ctx context.Context, a Actor, id string) (Invitation, error) {
	inv, err := s.store.Invitation(ctx, id)
	if notFound(err) {
		return Invitation{}, refuse(Invalid, "INVITATION_NOT_FOUND")
	}
	if err != nil {
		return Invitation{}, err
	}
	if !inv.Live(s.now()) {
		return Invitation{}, refuse(Invalid, "INVITATION_NOT_FOUND")
	}
	if !strings.EqualFold(inv.Email, a.Email) {
		return Invitation{}, refuse(Forbidden, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
	}
	return inv, nil
}

// GetInvitation shows a live invitation to its recipient.
func (s *Service) GetInvitation(ctx context.Context, a Actor, id string) (InvitationView, error) {
	inv, err := s.recipient(ctx, a, id)
	if err != nil {
		return InvitationView{}, err
	}
	org, err := s.store.OrganizationByID(ctx, inv.OrganizationID)
	if notFound(err) {
		return InvitationView{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	}
	if err != nil {
		return InvitationView{}, err
	}
	inviter, err := s.member(ctx, inv.OrganizationID, inv.InviterID, refuse(Invalid, "INVITER_IS_NO_LONGER_A_MEMBER_OF_THE_ORGANIZATION"))
	if err != nil {
		return InvitationView{}, err
	}
	return InvitationView{Invitation: inv, OrganizationName: org.Name, OrganizationSlug: org.Slug, InviterEmail: inviter.User.Email}, nil
}

// Accept makes the invitation's recipient a member with its role and the
// organization their session's active one.
func (s *Service) Accept(ctx context.Context, a Actor, id string) (Invitation, Member, error) {
	inv, err := s.recipient(ctx, a, id)
	if err != nil {
		return Invitation{}, Member{}, err
	}
	if _, err := s.store.OrganizationByID(ctx, inv.OrganizationID); notFound(err) {
		return Invitation{}, Member{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	} else if err != nil {
		return Invitation{}, Member{}, err
	}
	_, total, err := s.store.Members(ctx, inv.OrganizationID, 1, 0)
	if err != nil {
		return Invitation{}, Member{}, err
	}
	if total >= s.policy.MembershipLimit {
		return Invitation{}, Member{}, refuse(Forbidden, "ORGANIZATION_MEMBERSHIP_LIMIT_REACHED")
	}
	// Not Better Auth's (it would add a second member row): someone who is
	// already a member accepts nothing.
	if _, err := s.store.Member(ctx, inv.OrganizationID, a.UserID); err == nil {
		return Invitation{}, Member{}, refuse(Invalid, "USER_IS_ALREADY_A_MEMBER_OF_THIS_ORGANIZATION")
	} else if !notFound(err) {
		return Invitation{}, Member{}, err
	}
	role := RoleMember
	if inv.Role != nil {
		role = JoinRoles(ParseRoles(*inv.Role))
	}
	m := Member{ID: identity.NewID(), OrganizationID: inv.OrganizationID, UserID: a.UserID, Role: role,
		CreatedAt: s.now().UTC().Truncate(time.Millisecond), User: UserRef{ID: a.UserID, Name: a.Name, Email: a.Email}}
	ok, err := s.store.AcceptInvitation(ctx, inv.ID, m, a.SessionID,
		s.event(ctx, audit.MemberAdded, a.UserID, "", inv.OrganizationID, role))
	if err != nil {
		return Invitation{}, Member{}, err
	}
	if !ok {
		return Invitation{}, Member{}, refuse(Invalid, "INVITATION_NOT_FOUND")
	}
	inv.Status = StatusAccepted
	return inv, m, nil
}

// Reject is the recipient declining a pending invitation (expired or not,
// as in Better Auth).
func (s *Service) Reject(ctx context.Context, a Actor, id string) (Invitation, error) {
	inv, err := s.store.Invitation(ctx, id)
	if notFound(err) || (err == nil && inv.Status != StatusPending) {
		return Invitation{}, &Error{Kind: Invalid, Code: "INVITATION_NOT_FOUND", Message: "Invitation not found!"}
	}
	if err != nil {
		return Invitation{}, err
	}
	if !strings.EqualFold(inv.Email, a.Email) {
		return Invitation{}, refuse(Forbidden, "YOU_ARE_NOT_THE_RECIPIENT_OF_THE_INVITATION")
	}
	if _, err := s.store.OrganizationByID(ctx, inv.OrganizationID); notFound(err) {
		return Invitation{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	} else if err != nil {
		return Invitation{}, err
	}
	out, _, err := s.store.SetInvitationStatus(ctx, id, "", StatusRejected)
	return out, err
}

// Cancel is a member with invitation:cancel withdrawing an invitation of
// their organization.
func (s *Service) Cancel(ctx context.Context, a Actor, id string) (Invitation, error) {
	inv, err := s.store.Invitation(ctx, id)
	if notFound(err) {
		return Invitation{}, refuse(Invalid, "INVITATION_NOT_FOUND")
	}
	if err != nil {
		return Invitation{}, err
	}
	me, err := s.member(ctx, inv.OrganizationID, a.UserID, refuse(Invalid, "MEMBER_NOT_FOUND"))
	if err != nil {
		return Invitation{}, err
	}
	if !Allowed(me.Role, Permissions{"invitation": {"cancel"}}, false) {
		return Invitation{}, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_CANCEL_THIS_INVITATION")
	}
	out, _, err := s.store.SetInvitationStatus(ctx, id, "", StatusCanceled)
	return out, err
}

// ListInvitations is an organization's invitations, for roles that may invite.
func (s *Service) ListInvitations(ctx context.Context, a Actor, orgID string) ([]Invitation, error) {
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		return nil, bare(Invalid, "Organization ID is required")
	}
	me, err := s.member(ctx, orgID, a.UserID, bare(Forbidden, "You are not a member of this organization"))
	if err != nil {
		return nil, err
	}
	if !Allowed(me.Role, Permissions{"invitation": {"create"}}, false) {
		return nil, refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_LIST_INVITATIONS")
	}
	invs, err := s.store.Invitations(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return s.visibleInvitations(me.Role, invs), nil
}

// ListUserInvitations is the pending invitations to the actor's (verified) address.
func (s *Service) ListUserInvitations(ctx context.Context, a Actor) ([]UserInvitation, error) {
	if !a.EmailVerified {
		return nil, refuse(Forbidden, "EMAIL_VERIFICATION_REQUIRED_FOR_INVITATION")
	}
	all, err := s.store.InvitationsFor(ctx, strings.ToLower(a.Email))
	if err != nil {
		return nil, err
	}
	out := []UserInvitation{}
	for _, inv := range all {
		if inv.Status == StatusPending {
			out = append(out, inv)
		}
	}
	return out, nil
}

// orgOf picks the organization a members route acts on: the id given,
// else the slug's, else the active one.
func (s *Service) orgOf(ctx context.Context, a Actor, l Lookup) (string, error) {
	orgID := l.ID
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if l.Slug != "" {
		org, err := s.store.OrganizationBySlug(ctx, l.Slug)
		if notFound(err) {
			return "", refuse(Invalid, "ORGANIZATION_NOT_FOUND")
		}
		if err != nil {
			return "", err
		}
		orgID = org.ID
	}
	if orgID == "" {
		return "", refuse(Invalid, "NO_ACTIVE_ORGANIZATION")
	}
	return orgID, nil
}

// ListMembers is an organization's members, for its members.
func (s *Service) ListMembers(ctx context.Context, a Actor, l Lookup, limit, offset int) ([]Member, int, error) {
	orgID, err := s.orgOf(ctx, a, l)
	if err != nil {
		return nil, 0, err
	}
	if _, err := s.member(ctx, orgID, a.UserID, refuse(Forbidden, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")); err != nil {
		return nil, 0, err
	}
	if limit <= 0 {
		limit = s.policy.MembersListed
	}
	return s.store.Members(ctx, orgID, limit, max(offset, 0))
}

// ActiveMember is the actor's membership of their active organization.
func (s *Service) ActiveMember(ctx context.Context, a Actor) (Member, error) {
	if a.ActiveOrganizationID == "" {
		return Member{}, refuse(Invalid, "NO_ACTIVE_ORGANIZATION")
	}
	return s.member(ctx, a.ActiveOrganizationID, a.UserID, refuse(Invalid, "MEMBER_NOT_FOUND"))
}

// MemberRole is get-active-member-role: the actor's role, or (userID set)
// another member's, in an organization the actor belongs to.
func (s *Service) MemberRole(ctx context.Context, a Actor, l Lookup, userID string) (string, error) {
	orgID, err := s.orgOf(ctx, a, l)
	if err != nil {
		return "", err
	}
	notMember := refuse(Forbidden, "YOU_ARE_NOT_A_MEMBER_OF_THIS_ORGANIZATION")
	me, err := s.member(ctx, orgID, a.UserID, notMember)
	if err != nil || userID == "" {
		return me.Role, err
	}
	other, err := s.member(ctx, orgID, userID, notMember)
	return other.Role, err
}

// UpdateRoleInput is update-member-role's body.
type UpdateRoleInput struct {
	MemberID       string
	Roles          []string
	OrganizationID string
}

// UpdateRole changes a member's roles. Only owners grant, change or take
// away the owner role; the last owner cannot step down; roles must exist.
func (s *Service) UpdateRole(ctx context.Context, a Actor, in UpdateRoleInput) (Member, error) {
	orgID := in.OrganizationID
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		return Member{}, refuse(Invalid, "NO_ACTIVE_ORGANIZATION")
	}
	roles := ParseRoles(in.Roles...)
	if len(roles) == 0 {
		return Member{}, &Error{Kind: Invalid}
	}
	me, err := s.member(ctx, orgID, a.UserID, refuse(Invalid, "MEMBER_NOT_FOUND"))
	if err != nil {
		return Member{}, err
	}
	target := me
	if me.ID != in.MemberID {
		target, err = s.store.MemberByID(ctx, in.MemberID)
		if notFound(err) {
			return Member{}, refuse(Invalid, "MEMBER_NOT_FOUND")
		}
		if err != nil {
			return Member{}, err
		}
	}
	forbidden := refuse(Forbidden, "YOU_ARE_NOT_ALLOWED_TO_UPDATE_THIS_MEMBER")
	if target.OrganizationID != orgID {
		return Member{}, forbidden
	}
	updaterIsOwner := HasRole(me.Role, CreatorRole)
	settingOwner := slices.Contains(roles, CreatorRole)
	if (HasRole(target.Role, CreatorRole) || settingOwner) && !updaterIsOwner {
		return Member{}, forbidden
	}
	if updaterIsOwner && me.ID == target.ID && !settingOwner {
		owners, err := s.owners(ctx, orgID)
		if err != nil {
			return Member{}, err
		}
		if owners <= 1 {
			return Member{}, refuse(Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_WITHOUT_AN_OWNER")
		}
	}
	if !Allowed(me.Role, Permissions{"member": {"update"}}, true) {
		return Member{}, forbidden
	}
	var unknown []string
	for _, r := range roles {
		if !KnownRole(r) {
			unknown = append(unknown, r)
		}
	}
	if len(unknown) > 0 {
		return Member{}, &Error{Kind: Invalid, Code: "ROLE_NOT_FOUND", Message: "ROLE_NOT_FOUND: " + strings.Join(unknown, ", ")}
	}
	updated, err := s.store.SetMemberRole(ctx, target.ID, JoinRoles(roles),
		s.event(ctx, audit.MemberRoleChanged, target.UserID, a.UserID, target.OrganizationID, JoinRoles(roles)))
	if notFound(err) {
		return Member{}, refuse(Invalid, "MEMBER_NOT_FOUND")
	}
	return updated, err
}

func (s *Service) owners(ctx context.Context, orgID string) (int, error) {
	members, _, err := s.store.Members(ctx, orgID, s.policy.MembershipLimit+1, 0)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range members {
		if HasRole(m.Role, CreatorRole) {
			n++
		}
	}
	return n, nil
}

// RemoveInput is remove-member's body.
type RemoveInput struct {
	MemberIDOrEmail string
	OrganizationID  string
}

// Remove takes a member out of an organization: only roles with
// member:delete, never the last owner, and an owner only by another owner.
func (s *Service) Remove(ctx context.Context, a Actor, in RemoveInput) (Member, error) {
	orgID := in.OrganizationID
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		return Member{}, refuse(Invalid, "NO_ACTIVE_ORGANIZATION")
	}
	missing := refuse(Invalid, "MEMBER_NOT_FOUND")
	me, err := s.member(ctx, orgID, a.UserID, missing)
	if err != nil {
		return Member{}, err
	}
	var target Member
	if strings.Contains(in.MemberIDOrEmail, "@") {
		target, err = s.store.MemberByEmail(ctx, orgID, strings.ToLower(in.MemberIDOrEmail))
	} else {
		target, err = s.store.MemberByID(ctx, in.MemberIDOrEmail)
	}
	if notFound(err) {
		return Member{}, missing
	}
	if err != nil {
		return Member{}, err
	}
	if HasRole(target.Role, CreatorRole) {
		if !HasRole(me.Role, CreatorRole) {
			return Member{}, refuse(Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
		}
		owners, err := s.owners(ctx, orgID)
		if err != nil {
			return Member{}, err
		}
		if owners <= 1 {
			return Member{}, refuse(Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
		}
	}
	if !Allowed(me.Role, Permissions{"member": {"delete"}}, false) {
		return Member{}, refuse(Unauthorized, "YOU_ARE_NOT_ALLOWED_TO_DELETE_THIS_MEMBER")
	}
	if target.OrganizationID != orgID {
		return Member{}, missing
	}
	if _, err := s.store.OrganizationByID(ctx, orgID); notFound(err) {
		return Member{}, refuse(Invalid, "ORGANIZATION_NOT_FOUND")
	} else if err != nil {
		return Member{}, err
	}
	return target, s.store.RemoveMember(ctx, target, s.event(ctx, audit.MemberRemoved, target.UserID, a.UserID, orgID, ""))
}

// Leave takes the actor out of an organization; the last owner cannot leave.
func (s *Service) Leave(ctx context.Context, a Actor, orgID string) (Member, error) {
	me, err := s.member(ctx, orgID, a.UserID, refuse(Invalid, "MEMBER_NOT_FOUND"))
	if err != nil {
		return Member{}, err
	}
	if HasRole(me.Role, CreatorRole) {
		owners, err := s.owners(ctx, orgID)
		if err != nil {
			return Member{}, err
		}
		if owners <= 1 {
			return Member{}, refuse(Invalid, "YOU_CANNOT_LEAVE_THE_ORGANIZATION_AS_THE_ONLY_OWNER")
		}
	}
	return me, s.store.RemoveMember(ctx, me, s.event(ctx, audit.MemberLeft, a.UserID, "", orgID, ""))
}

// event is the audit event of a membership change in the current request:
// userID is whose membership changed, actorID who changed it when that is
// someone else (an admin), role the role(s) after the change, if any.
func (s *Service) event(ctx context.Context, t audit.Type, userID, actorID, orgID, role string) audit.Event {
	c := identity.ClientFrom(ctx)
	detail := map[string]string{audit.DetailOrganizationID: orgID}
	if role != "" {
		detail[audit.DetailRole] = role
	}
	return audit.Event{
		ID: identity.NewID(), Type: t, UserID: userID, ActorID: actorID,
		IPAddress: c.IPAddress, UserAgent: c.UserAgent, RequestID: requestid.From(ctx),
		Detail: detail, CreatedAt: s.now().UTC(),
	}
}

// HasPermission is has-permission: whether the actor's roles in the
// organization (the active one when "") grant every requested action.
func (s *Service) HasPermission(ctx context.Context, a Actor, orgID string, want Permissions) (bool, error) {
	if orgID == "" {
		orgID = a.ActiveOrganizationID
	}
	if orgID == "" {
		return false, refuse(Invalid, "NO_ACTIVE_ORGANIZATION")
	}
	me, err := s.member(ctx, orgID, a.UserID, refuse(Unauthorized, "USER_IS_NOT_A_MEMBER_OF_THE_ORGANIZATION"))
	if err != nil {
		return false, err
	}
	return Allowed(me.Role, want, false), nil
}
