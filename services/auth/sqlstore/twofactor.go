package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
)

// twoFactorRow is the two-factor plugin's two_factor table, plus Latch's
// last_totp_step column.
type twoFactorRow struct {
	ID                      string     `gorm:"column:id;primaryKey"`
	Secret                  string     `gorm:"column:secret"`
	BackupCodes             string     `gorm:"column:backup_codes"`
	UserID                  string     `gorm:"column:user_id"`
	Verified                *bool      `gorm:"column:verified"`
	FailedVerificationCount *int       `gorm:"column:failed_verification_count"`
	LockedUntil             *time.Time `gorm:"column:locked_until"`
	LastTOTPStep            *int64     `gorm:"column:last_totp_step"`
}

func (twoFactorRow) TableName() string { return "two_factor" }

var _ identity.TwoFactorStore = (*IdentityStore)(nil)

func (s *IdentityStore) TwoFactorByUser(ctx context.Context, userID string) (identity.TwoFactor, error) {
	var row twoFactorRow
	if err := s.db.WithContext(ctx).Where("user_id = ?", userID).Take(&row).Error; err != nil {
		return identity.TwoFactor{}, classify("find two factor", err)
	}
	tf := identity.TwoFactor{
		ID: row.ID, UserID: row.UserID, Secret: row.Secret, BackupCodes: row.BackupCodes,
		// Better Auth's rule: only an explicit false is unverified.
		Verified:    row.Verified == nil || *row.Verified,
		LockedUntil: s.w.getPtr(row.LockedUntil), LastStep: row.LastTOTPStep,
	}
	if row.FailedVerificationCount != nil {
		tf.FailedCount = *row.FailedVerificationCount
	}
	return tf, nil
}

func (s *IdentityStore) SaveTwoFactor(ctx context.Context, tf identity.TwoFactor) error {
	verified := tf.Verified
	row := twoFactorRow{ID: tf.ID, Secret: tf.Secret, BackupCodes: tf.BackupCodes, UserID: tf.UserID, Verified: &verified}
	err := s.db.WithContext(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "id"}},
		DoUpdates: clause.AssignmentColumns([]string{"secret", "backup_codes", "verified"}),
	}).Create(&row).Error
	return classify("save two factor", err)
}

func (s *IdentityStore) DeleteTwoFactor(ctx context.Context, userID string) error {
	return classify("delete two factor", s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&twoFactorRow{}).Error)
}

func (s *IdentityStore) SetTwoFactorVerified(ctx context.Context, id string) error {
	return classify("verify two factor", s.db.WithContext(ctx).Model(&twoFactorRow{}).Where("id = ?", id).
		Update("verified", true).Error)
}

func (s *IdentityStore) SetBackupCodes(ctx context.Context, id, sealed string, events ...audit.Event) error {
	return classify("set backup codes", s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&twoFactorRow{}).Where("id = ?", id).Update("backup_codes", sealed).Error; err != nil {
			return err
		}
		return writeAudit(tx, events)
	}))
}

// SwapBackupCodes writes events only when it swapped: a code that lost the
// race to a concurrent use was not used.
func (s *IdentityStore) SwapBackupCodes(ctx context.Context, id, old, new string, events ...audit.Event) (bool, error) {
	swapped := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&twoFactorRow{}).Where("id = ? AND backup_codes = ?", id, old).Update("backup_codes", new)
		if res.Error != nil || res.RowsAffected != 1 {
			return res.Error
		}
		swapped = true
		return writeAudit(tx, events)
	})
	if err != nil {
		swapped = false
	}
	return swapped, classify("swap backup codes", err)
}

func (s *IdentityStore) UseTOTPStep(ctx context.Context, id string, step int64) (bool, error) {
	res := s.db.WithContext(ctx).Model(&twoFactorRow{}).
		Where("id = ? AND (last_totp_step IS NULL OR last_totp_step < ?)", id, step).
		Update("last_totp_step", step)
	return res.RowsAffected == 1, classify("use totp step", res.Error)
}

func (s *IdentityStore) RecordTwoFactorFailure(ctx context.Context, id string, maxFailures int, lockUntil time.Time) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// One statement counts, so concurrent failures are never lost; NULL
		// (a row from before the column) counts from zero.
		if err := tx.Model(&twoFactorRow{}).Where("id = ?", id).
			Update("failed_verification_count", gorm.Expr("COALESCE(failed_verification_count, 0) + 1")).Error; err != nil {
			return err
		}
		return tx.Model(&twoFactorRow{}).Where("id = ? AND failed_verification_count >= ?", id, maxFailures).
			Update("locked_until", s.w.put(lockUntil)).Error
	})
	return classify("record two factor failure", err)
}

func (s *IdentityStore) ResetTwoFactorFailures(ctx context.Context, id string) error {
	return classify("reset two factor failures", s.db.WithContext(ctx).Model(&twoFactorRow{}).Where("id = ?", id).
		Updates(map[string]any{"failed_verification_count": 0, "locked_until": nil}).Error)
}

// CreateChallenge writes both verification rows in one INSERT and the
// events beside them: one commit for the whole password step of a 2FA sign-in.
func (s *IdentityStore) CreateChallenge(ctx context.Context, challenge, attempts identity.Verification, events ...audit.Event) error {
	rows := []verificationRow{s.verificationRowOf(challenge), s.verificationRowOf(attempts)}
	return classify("create challenge", s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&rows).Error; err != nil {
			return err
		}
		return writeAudit(tx, events)
	}))
}

// CompleteChallenge spends the challenge and opens the session under one
// commit: a failed session write leaves the challenge for a retry, and a
// sign-in's second step pays one commit instead of two.
func (s *IdentityStore) CompleteChallenge(ctx context.Context, identifier string, sess identity.Session, events ...audit.Event) error {
	gone := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []verificationRow
		if err := tx.Raw(consumeVerificationSQL, identifier).Scan(&rows).Error; err != nil {
			return err
		}
		if len(rows) == 0 || rows[0].Value != sess.UserID {
			gone = true
			return identity.ErrNotFound // rolls back: nothing is written
		}
		if err := tx.Create(ptr(sessionRowOf(sess, s.w))).Error; err != nil {
			return err
		}
		return writeAudit(tx, events)
	})
	if gone {
		return identity.ErrNotFound
	}
	return classify("complete challenge", err)
}

// consumeVerificationSQL deletes the newest row with an identifier and
// returns it.
const consumeVerificationSQL = `DELETE FROM verification WHERE id = (
  SELECT id FROM verification WHERE identifier = ? ORDER BY created_at DESC LIMIT 1
) RETURNING id, identifier, value, expires_at, created_at, updated_at`

func (s *IdentityStore) ConsumeVerification(ctx context.Context, identifier string) (identity.Verification, error) {
	// One statement: deleting is the claim. Of two concurrent consumers the
	// second's DELETE finds the row gone and returns none; it costs one
	// round trip and commit instead of a transaction's four.
	var rows []verificationRow
	err := s.db.WithContext(ctx).Raw(consumeVerificationSQL, identifier).Scan(&rows).Error
	if err != nil {
		return identity.Verification{}, classify("consume verification", err)
	}
	if len(rows) == 0 {
		return identity.Verification{}, identity.ErrNotFound
	}
	return rows[0].domain(s.w), nil
}
