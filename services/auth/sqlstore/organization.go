package sqlstore

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/organization"
)

// The organization plugin's tables (migration 00010, as Better Auth's own
// migrator writes them).
type organizationRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Name      string    `gorm:"column:name"`
	Slug      string    `gorm:"column:slug"`
	Logo      *string   `gorm:"column:logo"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	Metadata  *string   `gorm:"column:metadata"`
}

func (organizationRow) TableName() string { return "organization" }

func (r organizationRow) domain(w wallClock) organization.Organization {
	return organization.Organization{ID: r.ID, Name: r.Name, Slug: r.Slug, Logo: r.Logo, Metadata: r.Metadata, CreatedAt: w.get(r.CreatedAt)}
}

type memberRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	OrganizationID string    `gorm:"column:organization_id"`
	UserID         string    `gorm:"column:user_id"`
	Role           string    `gorm:"column:role"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (memberRow) TableName() string { return "member" }

// memberWithUser is a member joined with its user.
type memberWithUser struct {
	ID             string    `gorm:"column:id"`
	OrganizationID string    `gorm:"column:organization_id"`
	UserID         string    `gorm:"column:user_id"`
	Role           string    `gorm:"column:role"`
	CreatedAt      time.Time `gorm:"column:created_at"`
	UserName       string    `gorm:"column:user_name"`
	UserEmail      string    `gorm:"column:user_email"`
	UserImage      *string   `gorm:"column:user_image"`
}

func (r memberWithUser) domain(w wallClock) organization.Member {
	return organization.Member{
		ID: r.ID, OrganizationID: r.OrganizationID, UserID: r.UserID, Role: r.Role, CreatedAt: w.get(r.CreatedAt),
		User: organization.UserRef{ID: r.UserID, Name: r.UserName, Email: r.UserEmail, Image: r.UserImage},
	}
}

type invitationRow struct {
	ID             string    `gorm:"column:id;primaryKey"`
	OrganizationID string    `gorm:"column:organization_id"`
	Email          string    `gorm:"column:email"`
	Role           *string   `gorm:"column:role"`
	Status         string    `gorm:"column:status"`
	ExpiresAt      time.Time `gorm:"column:expires_at"`
	CreatedAt      time.Time `gorm:"column:created_at;autoCreateTime:false"`
	InviterID      string    `gorm:"column:inviter_id"`
}

func (invitationRow) TableName() string { return "invitation" }

func (r invitationRow) domain(w wallClock) organization.Invitation {
	return organization.Invitation{
		ID: r.ID, OrganizationID: r.OrganizationID, Email: r.Email, Role: r.Role, Status: r.Status,
		ExpiresAt: w.get(r.ExpiresAt), CreatedAt: w.get(r.CreatedAt), InviterID: r.InviterID,
	}
}

var _ organization.Store = (*IdentityStore)(nil)

func (s *IdentityStore) memberRowOf(m organization.Member) memberRow {
	return memberRow{ID: m.ID, OrganizationID: m.OrganizationID, UserID: m.UserID, Role: m.Role, CreatedAt: s.w.put(m.CreatedAt)}
}

func (s *IdentityStore) CreateOrganization(ctx context.Context, org organization.Organization, owner organization.Member, sessionID string, trail ...audit.Event) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := writeAudit(tx, trail); err != nil {
			return err
		}
		row := organizationRow{ID: org.ID, Name: org.Name, Slug: org.Slug, Logo: org.Logo, CreatedAt: s.w.put(org.CreatedAt), Metadata: org.Metadata}
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		if err := tx.Create(ptr(s.memberRowOf(owner))).Error; err != nil {
			return err
		}
		if sessionID == "" {
			return nil
		}
		return tx.Model(&sessionRow{}).Where("id = ?", sessionID).Update("active_organization_id", org.ID).Error
	})
	err = classify("create organization", err)
	if errors.Is(err, identity.ErrConflict) {
		return organization.ErrSlugTaken
	}
	return err
}

func (s *IdentityStore) OrganizationByID(ctx context.Context, id string) (organization.Organization, error) {
	var row organizationRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return row.domain(s.w), classify("find organization", err)
}

func (s *IdentityStore) OrganizationBySlug(ctx context.Context, slug string) (organization.Organization, error) {
	var row organizationRow
	err := s.db.WithContext(ctx).Where("slug = ?", slug).Take(&row).Error
	return row.domain(s.w), classify("find organization by slug", err)
}

func (s *IdentityStore) UpdateOrganization(ctx context.Context, id string, p organization.Patch) (organization.Organization, error) {
	var row organizationRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		changes := map[string]any{}
		if p.Name != nil {
			changes["name"] = *p.Name
		}
		if p.Slug != nil {
			changes["slug"] = *p.Slug
		}
		if p.SetLogo {
			changes["logo"] = p.Logo
		}
		if p.Metadata != nil {
			changes["metadata"] = *p.Metadata
		}
		if len(changes) > 0 {
			if err := tx.Model(&organizationRow{}).Where("id = ?", id).Updates(changes).Error; err != nil {
				return err
			}
		}
		return tx.Where("id = ?", id).Take(&row).Error
	})
	err = classify("update organization", err)
	if errors.Is(err, identity.ErrConflict) {
		return organization.Organization{}, organization.ErrSlugTaken
	}
	return row.domain(s.w), err
}

func (s *IdentityStore) DeleteOrganization(ctx context.Context, id string, trail ...audit.Event) error {
	err := s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		var users []string
		if err := tx.Model(&memberRow{}).Where("organization_id = ?", id).Pluck("user_id", &users).Error; err != nil {
			return err
		}
		for _, u := range users {
			events.member(u, id)
		}
		events.add(revocation.KindOrganizationDeleted, id)
		// Not Better Auth's: every session naming the organization forgets
		// it, not only the deleter's (docs/organizations.md).
		if err := tx.Model(&sessionRow{}).Where("active_organization_id = ?", id).Update("active_organization_id", nil).Error; err != nil {
			return err
		}
		if err := tx.Where("organization_id = ?", id).Delete(&invitationRow{}).Error; err != nil {
			return err
		}
		if err := tx.Where("organization_id = ?", id).Delete(&memberRow{}).Error; err != nil {
			return err
		}
		return tx.Where("id = ?", id).Delete(&organizationRow{}).Error
	})
	return classify("delete organization", err)
}

func (s *IdentityStore) OrganizationsOf(ctx context.Context, userID string) ([]organization.Organization, error) {
	var rows []organizationRow
	err := s.db.WithContext(ctx).Table("organization").Select("organization.*").
		Joins("JOIN member ON member.organization_id = organization.id").
		Where("member.user_id = ?", userID).Order("member.created_at, organization.id").Find(&rows).Error
	out := make([]organization.Organization, len(rows))
	for i, r := range rows {
		out[i] = r.domain(s.w)
	}
	return out, classify("list organizations", err)
}

// members selects members joined with their users.
func (s *IdentityStore) members(ctx context.Context) *gorm.DB {
	return membersIn(s.db.WithContext(ctx))
}

// membersIn selects member rows joined with their user, in db (a
// transaction, or the store's handle).
func membersIn(db *gorm.DB) *gorm.DB {
	return db.Table("member").
		Select(`member.*, "user".name AS user_name, "user".email AS user_email, "user".image AS user_image`).
		Joins(`JOIN "user" ON "user".id = member.user_id`)
}

func (s *IdentityStore) oneMember(q *gorm.DB, op string) (organization.Member, error) {
	var rows []memberWithUser
	if err := q.Limit(1).Scan(&rows).Error; err != nil {
		return organization.Member{}, classify(op, err)
	}
	if len(rows) == 0 {
		return organization.Member{}, identity.ErrNotFound
	}
	return rows[0].domain(s.w), nil
}

func (s *IdentityStore) Member(ctx context.Context, orgID, userID string) (organization.Member, error) {
	return s.oneMember(s.members(ctx).Where("member.organization_id = ? AND member.user_id = ?", orgID, userID), "find member")
}

func (s *IdentityStore) MemberByID(ctx context.Context, id string) (organization.Member, error) {
	return s.oneMember(s.members(ctx).Where("member.id = ?", id), "find member by id")
}

func (s *IdentityStore) MemberByEmail(ctx context.Context, orgID, email string) (organization.Member, error) {
	return s.oneMember(s.members(ctx).Where(`member.organization_id = ? AND "user".email = ?`, orgID, email), "find member by email")
}

func (s *IdentityStore) Members(ctx context.Context, orgID string, limit, offset int) ([]organization.Member, int, error) {
	var rows []memberWithUser
	err := s.members(ctx).Where("member.organization_id = ?", orgID).Order("member.created_at, member.id").
		Limit(limit).Offset(offset).Scan(&rows).Error
	if err != nil {
		return nil, 0, classify("list members", err)
	}
	var total int64
	if err := s.db.WithContext(ctx).Model(&memberRow{}).Where("organization_id = ?", orgID).Count(&total).Error; err != nil {
		return nil, 0, classify("count members", err)
	}
	out := make([]organization.Member, len(rows))
	for i, r := range rows {
		out[i] = r.domain(s.w)
	}
	return out, int(total), nil
}

func (s *IdentityStore) SetMemberRole(ctx context.Context, memberID, role string, trail ...audit.Event) (organization.Member, error) {
	var row memberRow
	err := s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		if err := tx.Where("id = ?", memberID).Take(&row).Error; err != nil {
			return err
		}
		if err := tx.Model(&memberRow{}).Where("id = ?", memberID).Update("role", role).Error; err != nil {
			return err
		}
		events.member(row.UserID, row.OrganizationID)
		return nil
	})
	if err != nil {
		return organization.Member{}, classify("update member role", err)
	}
	return s.MemberByID(ctx, memberID)
}

func (s *IdentityStore) RemoveMember(ctx context.Context, m organization.Member, trail ...audit.Event) error {
	err := s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		res := tx.Where("id = ?", m.ID).Delete(&memberRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		events.member(m.UserID, m.OrganizationID)
		// Not Better Auth's: the removed user's sessions forget the
		// organization at once, not at their next get-full-organization.
		return tx.Model(&sessionRow{}).Where("user_id = ? AND active_organization_id = ?", m.UserID, m.OrganizationID).
			Update("active_organization_id", nil).Error
	})
	return classify("remove member", err)
}

func (s *IdentityStore) SetActiveOrganization(ctx context.Context, sessionID, orgID string) error {
	return classify("set active organization", s.db.WithContext(ctx).Model(&sessionRow{}).Where("id = ?", sessionID).
		Update("active_organization_id", nonEmpty(orgID)).Error)
}

func (s *IdentityStore) CreateInvitation(ctx context.Context, inv organization.Invitation) error {
	row := invitationRow{
		ID: inv.ID, OrganizationID: inv.OrganizationID, Email: inv.Email, Role: inv.Role, Status: inv.Status,
		ExpiresAt: s.w.put(inv.ExpiresAt), CreatedAt: s.w.put(inv.CreatedAt), InviterID: inv.InviterID,
	}
	return classify("create invitation", s.db.WithContext(ctx).Create(&row).Error)
}

func (s *IdentityStore) Invitation(ctx context.Context, id string) (organization.Invitation, error) {
	var row invitationRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return row.domain(s.w), classify("find invitation", err)
}

func (s *IdentityStore) Invitations(ctx context.Context, orgID string) ([]organization.Invitation, error) {
	var rows []invitationRow
	err := s.db.WithContext(ctx).Where("organization_id = ?", orgID).Order("created_at, id").Find(&rows).Error
	out := make([]organization.Invitation, len(rows))
	for i, r := range rows {
		out[i] = r.domain(s.w)
	}
	return out, classify("list invitations", err)
}

func (s *IdentityStore) InvitationsFor(ctx context.Context, email string) ([]organization.UserInvitation, error) {
	var rows []invitationRow
	err := s.db.WithContext(ctx).Where("email = ?", email).Order("created_at, id").Find(&rows).Error
	if err != nil {
		return nil, classify("list user invitations", err)
	}
	out := make([]organization.UserInvitation, 0, len(rows))
	names := map[string]string{}
	for _, r := range rows {
		name, ok := names[r.OrganizationID]
		if !ok {
			var org organizationRow
			if err := s.db.WithContext(ctx).Select("name").Where("id = ?", r.OrganizationID).Take(&org).Error; err != nil {
				return nil, classify("list user invitations", err)
			}
			name, names[r.OrganizationID] = org.Name, org.Name
		}
		out = append(out, organization.UserInvitation{Invitation: r.domain(s.w), OrganizationName: name})
	}
	return out, nil
}

func (s *IdentityStore) SetInvitationStatus(ctx context.Context, id, from, status string) (organization.Invitation, bool, error) {
	q := s.db.WithContext(ctx).Model(&invitationRow{}).Where("id = ?", id)
	if from != "" {
		q = q.Where("status = ?", from)
	}
	res := q.Update("status", status)
	if res.Error != nil {
		return organization.Invitation{}, false, classify("update invitation", res.Error)
	}
	inv, err := s.Invitation(ctx, id)
	return inv, res.RowsAffected == 1, err
}

func (s *IdentityStore) ExtendInvitation(ctx context.Context, id string, expiresAt time.Time) error {
	return classify("extend invitation", s.db.WithContext(ctx).Model(&invitationRow{}).Where("id = ?", id).
		Update("expires_at", s.w.put(expiresAt)).Error)
}

func (s *IdentityStore) AcceptInvitation(ctx context.Context, invitationID string, m organization.Member, sessionID string, trail ...audit.Event) (bool, error) {
	accepted := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The status change is the claim: of two concurrent accepts only one
		// moves the row from pending.
		res := tx.Model(&invitationRow{}).Where("id = ? AND status = ?", invitationID, organization.StatusPending).
			Update("status", organization.StatusAccepted)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if err := tx.Create(ptr(s.memberRowOf(m))).Error; err != nil {
			return err
		}
		if err := writeAudit(tx, trail); err != nil {
			return err
		}
		accepted = true
		return tx.Model(&sessionRow{}).Where("id = ?", sessionID).Update("active_organization_id", m.OrganizationID).Error
	})
	return accepted, classify("accept invitation", err)
}

// MemberForToken: see organization.Store. The SHARE lock conflicts with the
// EXCLUSIVE lock every writer of revocation events takes as its
// transaction's last statement: the read waits for a change in flight to
// commit, and a change that starts after it waits for the read, so its
// event's time is later than the read. Readers do not block each other.
// SQLite has one writer at a time and reads a committed snapshot.
func (s *IdentityStore) MemberForToken(ctx context.Context, orgID, userID string) (m organization.Member, lastChange time.Time, changed bool, err error) {
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if s.rev.dialect == sqldb.Postgres {
			if err := tx.Exec("LOCK TABLE revocation_event IN SHARE MODE").Error; err != nil {
				return classify("lock revocation events", err)
			}
		}
		var at *int64
		if err := tx.Model(&revocationRow{}).Select("MAX(at_ms)").
			Where("kind = ? AND subject = ? AND organization_id = ?", revocation.KindMember, userID, orgID).Scan(&at).Error; err != nil {
			return classify("latest member change", err)
		}
		if at != nil {
			lastChange, changed = time.UnixMilli(*at).UTC(), true
		}
		var err error
		m, err = s.oneMember(membersIn(tx).Where("member.organization_id = ? AND member.user_id = ?", orgID, userID), "member for token")
		return err
	})
	if err != nil { // classified where it happened (identity.ErrNotFound: not a member)
		return organization.Member{}, time.Time{}, false, err
	}
	return m, lastChange, changed, nil
}
