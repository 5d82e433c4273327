package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
)

// IdentityStore implements identity.Store.
type IdentityStore struct {
	db    *gorm.DB
	w     wallClock
	rev   *revocations
	audit *AuditStore
}

// NewIdentityStore returns the identity store over db; zone is the time
// zone of its timestamp columns (UTC unless Better Auth wrote them elsewhere).
func NewIdentityStore(db *sqldb.DB, zone *time.Location) *IdentityStore {
	return &IdentityStore{db: db.Gorm, w: wallClock{zone: zone}, rev: newRevocations(db), audit: NewAuditStore(db)}
}

// UseRevocations sets how long revocation events matter (default
// DefaultRevocationRetention) and what runs after a transaction that wrote
// some has committed (waking the feed).
func (s *IdentityStore) UseRevocations(retention RevocationRetention, committed func()) {
	s.rev.retention, s.rev.committed = retention, committed
}

// endedSession is a session a DELETE … RETURNING removed.
type endedSession struct {
	ID        string    `gorm:"column:id"`
	UserID    string    `gorm:"column:user_id"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
}

// deleteSessions deletes the sessions matching where and queues a session
// event for each that had not expired yet (an expired one's tokens were
// minted while it lived and end with their own exp, as before). RETURNING
// names exactly the rows deleted, including one created a moment ago.
func (s *IdentityStore) deleteSessions(tx *gorm.DB, events *pending, where string, args ...any) error {
	_, err := s.deleteSessionsReturning(tx, events, where, args...)
	return err
}

func (s *IdentityStore) deleteSessionsReturning(tx *gorm.DB, events *pending, where string, args ...any) ([]endedSession, error) {
	var ended []endedSession
	if err := tx.Raw("DELETE FROM session WHERE "+where+" RETURNING id, user_id, expires_at", args...).Scan(&ended).Error; err != nil {
		return nil, err
	}
	now := s.rev.now()
	for _, e := range ended {
		if s.w.get(e.ExpiresAt).After(now) {
			events.session(e.ID, e.UserID)
		}
	}
	return ended, nil
}

// revoking runs change and then writes the revocation events it queued and
// the audit trail's, in one transaction; the feed is woken after the commit.
func (s *IdentityStore) revoking(ctx context.Context, trail []audit.Event, change func(tx *gorm.DB, events *pending) error) error {
	var events pending
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		events = events[:0]
		if err := change(tx, &events); err != nil {
			return err
		}
		if err := writeAudit(tx, trail); err != nil {
			return err
		}
		return s.rev.write(tx, events)
	})
	s.rev.done(err, events)
	return err
}

// endingOne deletes the one session where names and writes trail only if
// it ended one, naming its user (when the event has none) and its id.
func (s *IdentityStore) endingOne(ctx context.Context, trail []audit.Event, where string, args ...any) error {
	var events pending
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		events = events[:0]
		ended, err := s.deleteSessionsReturning(tx, &events, where, args...)
		if err != nil {
			return err
		}
		if len(ended) == 1 {
			filled := make([]audit.Event, len(trail))
			for i, e := range trail {
				if e.UserID == "" {
					e.UserID = ended[0].UserID
				}
				d := make(map[string]string, len(e.Detail)+1)
				for k, v := range e.Detail {
					d[k] = v
				}
				d[audit.DetailSessionID] = ended[0].ID
				e.Detail = d
				filled[i] = e
			}
			if err := writeAudit(tx, filled); err != nil {
				return err
			}
		}
		return s.rev.write(tx, events)
	})
	s.rev.done(err, events)
	return err
}

// RecordAudit writes events in a transaction of their own.
func (s *IdentityStore) RecordAudit(ctx context.Context, events ...audit.Event) error {
	return s.audit.Record(ctx, events...)
}

// AuditEvents lists the events q selects, newest first.
func (s *IdentityStore) AuditEvents(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	return s.audit.Events(ctx, q)
}

var _ identity.Store = (*IdentityStore)(nil)

func (s *IdentityStore) CreateUser(ctx context.Context, u identity.User, a identity.Account, events ...audit.Event) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(ptr(userRowOf(u, s.w))).Error; err != nil {
			return err
		}
		if err := tx.Create(ptr(accountRowOf(a, s.w))).Error; err != nil {
			return err
		}
		return writeAudit(tx, events)
	})
	return classify("create user", err)
}

func (s *IdentityStore) UserByEmail(ctx context.Context, email string) (identity.User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where("email = ?", email).Take(&row).Error
	return row.domain(s.w), classify("find user by email", err)
}

func (s *IdentityStore) UserByID(ctx context.Context, id string) (identity.User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	return row.domain(s.w), classify("find user", err)
}

func (s *IdentityStore) UpdateUser(ctx context.Context, id string, patch identity.UserPatch, now time.Time, events ...audit.Event) (identity.User, error) {
	var row userRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		changes := map[string]any{"updated_at": s.w.put(now)}
		if patch.Name != nil {
			changes["name"] = *patch.Name
		}
		if patch.SetImage {
			changes["image"] = patch.Image
		}
		if patch.Email != nil {
			changes["email"] = *patch.Email
		}
		if patch.EmailVerified != nil {
			changes["email_verified"] = *patch.EmailVerified
		}
		if patch.TwoFactorEnabled != nil {
			changes["two_factor_enabled"] = *patch.TwoFactorEnabled
		}
		res := tx.Model(&userRow{}).Where("id = ?", id).Updates(changes)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if patch.Email != nil {
			if err := deleteResetTokens(tx, id); err != nil {
				return err
			}
		}
		if err := writeAudit(tx, events); err != nil {
			return err
		}
		return tx.Where("id = ?", id).Take(&row).Error
	})
	return row.domain(s.w), classify("update user", err)
}

func (s *IdentityStore) CredentialAccount(ctx context.Context, userID string) (identity.Account, error) {
	var row accountRow
	// Better Auth's credential account has account_id = user id; match it the
	// same way so accounts written by either are found by both.
	err := s.db.WithContext(ctx).
		Where("user_id = ? AND provider_id = ?", userID, identity.CredentialProvider).
		Order("created_at").Take(&row).Error
	return row.domain(s.w), classify("find credential account", err)
}

func (s *IdentityStore) CreateSession(ctx context.Context, sess identity.Session, events ...audit.Event) error {
	if len(events) == 0 {
		return classify("create session", s.db.WithContext(ctx).Create(ptr(sessionRowOf(sess, s.w))).Error)
	}
	return classify("create session", s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(ptr(sessionRowOf(sess, s.w))).Error; err != nil {
			return err
		}
		return writeAudit(tx, events)
	}))
}

// sessionWithUser is the one-query read behind every authenticated request.
type sessionWithUser struct {
	ID             string    `gorm:"column:id"`
	ExpiresAt      time.Time `gorm:"column:expires_at"`
	Token          string    `gorm:"column:token"`
	CreatedAt      time.Time `gorm:"column:created_at"`
	UpdatedAt      time.Time `gorm:"column:updated_at"`
	IPAddress      *string   `gorm:"column:ip_address"`
	UserAgent      *string   `gorm:"column:user_agent"`
	UserID         string    `gorm:"column:user_id"`
	AMR            *string   `gorm:"column:amr"`
	ActiveOrg      *string   `gorm:"column:active_organization_id"`
	UName          string    `gorm:"column:u_name"`
	UEmail         string    `gorm:"column:u_email"`
	UEmailVerified bool      `gorm:"column:u_email_verified"`
	UImage         *string   `gorm:"column:u_image"`
	UCreatedAt     time.Time `gorm:"column:u_created_at"`
	UUpdatedAt     time.Time `gorm:"column:u_updated_at"`
	UTwoFactor     *bool     `gorm:"column:u_two_factor_enabled"`
}

const sessionByTokenSQL = `SELECT s.id, s.expires_at, s.token, s.created_at, s.updated_at, s.ip_address, s.user_agent, s.user_id, s.amr, s.active_organization_id,
  u.name AS u_name, u.email AS u_email, u.email_verified AS u_email_verified, u.image AS u_image,
  u.created_at AS u_created_at, u.updated_at AS u_updated_at, u.two_factor_enabled AS u_two_factor_enabled
FROM session s JOIN "user" u ON u.id = s.user_id
WHERE s.token = ?`

func (s *IdentityStore) SessionByToken(ctx context.Context, token string) (identity.Session, identity.User, error) {
	var rows []sessionWithUser
	if err := s.db.WithContext(ctx).Raw(sessionByTokenSQL, token).Scan(&rows).Error; err != nil {
		return identity.Session{}, identity.User{}, classify("find session", err)
	}
	if len(rows) == 0 {
		return identity.Session{}, identity.User{}, identity.ErrNotFound
	}
	r := rows[0]
	user := identity.User{
		ID: r.UserID, Name: r.UName, Email: r.UEmail, EmailVerified: r.UEmailVerified, Image: r.UImage,
		CreatedAt: s.w.get(r.UCreatedAt), UpdatedAt: s.w.get(r.UUpdatedAt),
		TwoFactorEnabled: r.UTwoFactor != nil && *r.UTwoFactor,
	}
	sess := sessionRow{
		ID: r.ID, ExpiresAt: r.ExpiresAt, Token: r.Token, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		IPAddress: r.IPAddress, UserAgent: r.UserAgent, UserID: r.UserID, AMR: r.AMR,
		ActiveOrganizationID: r.ActiveOrg,
	}
	return sess.domain(s.w), user, nil
}

func (s *IdentityStore) ExtendSession(ctx context.Context, token string, expiresAt, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&sessionRow{}).Where("token = ?", token).
		Updates(map[string]any{"expires_at": s.w.put(expiresAt), "updated_at": s.w.put(now)})
	if res.Error != nil {
		return classify("extend session", res.Error)
	}
	if res.RowsAffected == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// DeleteSession ends a session (sign-out) and publishes its revocation.
func (s *IdentityStore) DeleteSession(ctx context.Context, token string, trail ...audit.Event) error {
	return classify("delete session", s.endingOne(ctx, trail, "token = ?", token))
}

func (s *IdentityStore) DeleteUserSession(ctx context.Context, userID, token string, trail ...audit.Event) error {
	return classify("delete session", s.endingOne(ctx, trail, "user_id = ? AND token = ?", userID, token))
}

// DeleteUserSessions ends every session of the user: an event per session,
// and one revoking whatever the user was issued before now (tokens minted
// before sessions carried a sid).
func (s *IdentityStore) DeleteUserSessions(ctx context.Context, userID string, trail ...audit.Event) error {
	return classify("delete sessions", s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		if err := s.deleteSessions(tx, events, "user_id = ?", userID); err != nil {
			return err
		}
		events.add(revocation.KindUser, userID)
		return nil
	}))
}

func (s *IdentityStore) DeleteOtherSessions(ctx context.Context, userID, keepToken string, trail ...audit.Event) error {
	return classify("delete other sessions", s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		return s.deleteSessions(tx, events, "user_id = ? AND token <> ?", userID, keepToken)
	}))
}

func (s *IdentityStore) ActiveSessions(ctx context.Context, userID string, now time.Time) ([]identity.Session, error) {
	var rows []sessionRow
	err := s.db.WithContext(ctx).Where("user_id = ? AND expires_at > ?", userID, s.w.put(now)).
		Order("created_at").Find(&rows).Error
	if err != nil {
		return nil, classify("list sessions", err)
	}
	out := make([]identity.Session, len(rows))
	for i, r := range rows {
		out[i] = r.domain(s.w)
	}
	return out, nil
}

func (s *IdentityStore) ChangePassword(ctx context.Context, accountID, hash string, now time.Time, replace *identity.Session, trail ...audit.Event) error {
	err := s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		var acct accountRow
		if err := tx.Where("id = ?", accountID).Take(&acct).Error; err != nil {
			return err
		}
		if err := tx.Model(&accountRow{}).Where("id = ?", accountID).
			Updates(map[string]any{"password": hash, "updated_at": s.w.put(now)}).Error; err != nil {
			return err
		}
		if err := deleteResetTokens(tx, acct.UserID); err != nil {
			return err
		}
		if replace == nil {
			return nil
		}
		if err := s.deleteSessions(tx, events, "user_id = ?", acct.UserID); err != nil {
			return err
		}
		events.add(revocation.KindUser, acct.UserID)
		return tx.Create(ptr(sessionRowOf(*replace, s.w))).Error
	})
	return classify("change password", err)
}

func (s *IdentityStore) AccountByProvider(ctx context.Context, providerID, accountID string) (identity.Account, error) {
	var row accountRow
	err := s.db.WithContext(ctx).Where("provider_id = ? AND account_id = ?", providerID, accountID).
		Order("created_at").Take(&row).Error
	return row.domain(s.w), classify("find account", err)
}

func (s *IdentityStore) CreateAccount(ctx context.Context, a identity.Account) error {
	return classify("create account", s.db.WithContext(ctx).Create(ptr(accountRowOf(a, s.w))).Error)
}

func (s *IdentityStore) UpdateAccountTokens(ctx context.Context, id string, t identity.AccountTokens, now time.Time) error {
	changes := map[string]any{"updated_at": s.w.put(now)}
	if t.AccessToken != nil {
		changes["access_token"] = *t.AccessToken
	}
	if t.RefreshToken != nil {
		changes["refresh_token"] = *t.RefreshToken
	}
	if t.IDToken != nil {
		changes["id_token"] = *t.IDToken
	}
	if t.AccessTokenExpiresAt != nil {
		changes["access_token_expires_at"] = s.w.put(*t.AccessTokenExpiresAt)
	}
	if t.Scope != nil {
		changes["scope"] = *t.Scope
	}
	res := s.db.WithContext(ctx).Model(&accountRow{}).Where("id = ?", id).Updates(changes)
	if res.Error != nil {
		return classify("update account", res.Error)
	}
	if res.RowsAffected == 0 {
		return identity.ErrNotFound
	}
	return nil
}

func (s *IdentityStore) Accounts(ctx context.Context, userID string) ([]identity.Account, error) {
	var rows []accountRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at").Find(&rows).Error; err != nil {
		return nil, classify("list accounts", err)
	}
	out := make([]identity.Account, len(rows))
	for i, r := range rows {
		out[i] = r.domain(s.w)
	}
	return out, nil
}

func (s *IdentityStore) DeleteAccount(ctx context.Context, userID, id string) error {
	res := s.db.WithContext(ctx).Where("user_id = ? AND id = ?", userID, id).Delete(&accountRow{})
	if res.Error != nil {
		return classify("delete account", res.Error)
	}
	if res.RowsAffected == 0 {
		return identity.ErrNotFound
	}
	return nil
}

// DeleteUser deletes the user and publishes user_deleted: every token of
// theirs is refused, and services delete what they hold for them.
func (s *IdentityStore) DeleteUser(ctx context.Context, userID string, trail ...audit.Event) error {
	err := s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		// Explicit deletes: SQLite enforces the schema's ON DELETE CASCADE
		// only with foreign keys switched on.
		if err := s.deleteSessions(tx, events, "user_id = ?", userID); err != nil {
			return err
		}
		if err := tx.Where("user_id = ?", userID).Delete(&accountRow{}).Error; err != nil {
			return err
		}
		res := tx.Where("id = ?", userID).Delete(&userRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		events.add(revocation.KindUserDeleted, userID)
		return nil
	})
	return classify("delete user", err)
}

func (s *IdentityStore) CreateVerification(ctx context.Context, v identity.Verification) error {
	return classify("create verification", s.db.WithContext(ctx).Create(ptr(s.verificationRowOf(v))).Error)
}

func (s *IdentityStore) verificationRowOf(v identity.Verification) verificationRow {
	return verificationRow{
		ID: v.ID, Identifier: v.Identifier, Value: v.Value, ExpiresAt: s.w.put(v.ExpiresAt),
		CreatedAt: s.w.put(v.CreatedAt), UpdatedAt: s.w.put(v.UpdatedAt),
	}
}

func (s *IdentityStore) Verification(ctx context.Context, identifier string) (identity.Verification, error) {
	var row verificationRow
	err := s.db.WithContext(ctx).Where("identifier = ?", identifier).Order("created_at DESC").Take(&row).Error
	return row.domain(s.w), classify("find verification", err)
}

func (s *IdentityStore) DeleteVerifications(ctx context.Context, identifier string) error {
	return classify("delete verification", s.db.WithContext(ctx).
		Where("identifier = ?", identifier).Delete(&verificationRow{}).Error)
}

func (s *IdentityStore) ResetPassword(ctx context.Context, identifier, userID, hash string, now time.Time, revokeSessions bool, trail ...audit.Event) error {
	err := s.revoking(ctx, trail, func(tx *gorm.DB, events *pending) error {
		// Deleting is the claim: of two concurrent resets with one token,
		// only the one whose DELETE removed the row goes on.
		res := tx.Where("identifier = ?", identifier).Delete(&verificationRow{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return gorm.ErrRecordNotFound
		}
		if err := deleteResetTokens(tx, userID); err != nil {
			return err
		}
		if revokeSessions {
			if err := s.deleteSessions(tx, events, "user_id = ?", userID); err != nil {
				return err
			}
			events.add(revocation.KindUser, userID)
		}
		upd := tx.Model(&accountRow{}).Where("user_id = ? AND provider_id = ?", userID, identity.CredentialProvider).
			Updates(map[string]any{"password": hash, "updated_at": s.w.put(now)})
		if upd.Error != nil {
			return upd.Error
		}
		if upd.RowsAffected > 0 {
			return nil
		}
		return tx.Create(&accountRow{
			ID: identity.NewID(), AccountID: userID, ProviderID: identity.CredentialProvider, UserID: userID,
			Password: &hash, CreatedAt: s.w.put(now), UpdatedAt: s.w.put(now),
		}).Error
	})
	return classify("reset password", err)
}

// deleteResetTokens deletes every password reset token of the user: after a
// reset, a password change or a new address, an older reset link (perhaps
// sitting in a mailbox the user no longer controls) must not work.
func deleteResetTokens(tx *gorm.DB, userID string) error {
	return tx.Where("identifier LIKE ? AND value = ?", identity.ResetTokenPrefix+"%", userID).
		Delete(&verificationRow{}).Error
}

func ptr[T any](v T) *T { return &v }

// DeleteExpiredSessions deletes up to limit sessions that expired before
// before, and returns how many it deleted. Better Auth deletes an expired
// session only when someone presents it; the rest stay until swept.
func (s *IdentityStore) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteExpired(ctx, &sessionRow{}, before, limit)
}

// DeleteExpiredVerifications deletes up to limit verification rows (reset
// tokens, OAuth states) that expired before before.
func (s *IdentityStore) DeleteExpiredVerifications(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteExpired(ctx, &verificationRow{}, before, limit)
}

// deleteExpired deletes a batch by id, so that each statement holds its
// locks only for limit rows however many have expired.
func (s *IdentityStore) deleteExpired(ctx context.Context, model any, before time.Time, limit int) (int64, error) {
	db := s.db.WithContext(ctx)
	batch := db.Model(model).Select("id").Where("expires_at < ?", s.w.put(before)).Limit(limit)
	res := db.Where("id IN (?)", batch).Delete(model)
	return res.RowsAffected, classify("delete expired rows", res.Error)
}
