package identity

import (
	"context"
	"time"

	"github.com/latchid/latch/services/auth/audit"
)

// Store is the persistence the identity rules need. Implementations return
// ErrNotFound, ErrConflict, or an error wrapping ErrUnavailable.
//
// The methods that change security state take the audit events recording
// the change (events ...audit.Event) and write them in the change's own
// transaction: both commit, or neither does. A method that ends sessions
// by token writes its events only when a session ended, filling in an
// event's empty UserID and its detail's sessionId from the ended session.
type Store interface {
	// CreateUser writes the user and its first account in one transaction;
	// ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u User, a Account, events ...audit.Event) error
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	// UpdateUser applies the patch; a new Email also deletes the user's reset
	// tokens (rows ResetTokenPrefix+token whose value is the id), in the same
	// transaction.
	UpdateUser(ctx context.Context, id string, patch UserPatch, now time.Time, events ...audit.Event) (User, error)
	CredentialAccount(ctx context.Context, userID string) (Account, error)

	CreateSession(ctx context.Context, s Session, events ...audit.Event) error
	// SessionByToken returns the session and its user.
	SessionByToken(ctx context.Context, token string) (Session, User, error)
	ExtendSession(ctx context.Context, token string, expiresAt, now time.Time) error
	DeleteSession(ctx context.Context, token string, events ...audit.Event) error
	DeleteUserSession(ctx context.Context, userID, token string, events ...audit.Event) error
	DeleteUserSessions(ctx context.Context, userID string, events ...audit.Event) error
	DeleteOtherSessions(ctx context.Context, userID, keepToken string, events ...audit.Event) error
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	// ChangePassword stores a new hash for the account, deletes the user's
	// reset tokens and, when replace is set, deletes every session of the user
	// and creates replace instead, in one transaction so a failure leaves the
	// old password, tokens and sessions.
	ChangePassword(ctx context.Context, accountID, hash string, now time.Time, replace *Session, events ...audit.Event) error

	// AccountByProvider finds the account a provider's subject signs in to.
	AccountByProvider(ctx context.Context, providerID, accountID string) (Account, error)
	CreateAccount(ctx context.Context, a Account) error
	// UpdateAccountTokens stores fresh tokens (nil fields unchanged).
	UpdateAccountTokens(ctx context.Context, id string, t AccountTokens, now time.Time) error
	// Accounts lists the user's accounts, oldest first.
	Accounts(ctx context.Context, userID string) ([]Account, error)
	// DeleteAccount removes the user's account with this row id.
	DeleteAccount(ctx context.Context, userID, id string) error

	// DeleteUser deletes the user, their sessions and accounts, in one transaction.
	DeleteUser(ctx context.Context, userID string, events ...audit.Event) error

	CreateVerification(ctx context.Context, v Verification) error
	// Verification returns the newest row with this identifier.
	Verification(ctx context.Context, identifier string) (Verification, error)
	DeleteVerifications(ctx context.Context, identifier string) error
	// ResetPassword consumes the identifier's verification rows and every
	// other reset token of the user, stores the hash on the user's credential
	// account (creating it when the user has none) and, with revokeSessions,
	// deletes the user's sessions, in one transaction. ErrNotFound when no row was left to consume: a concurrent
	// reset used the token first, and nothing changes.
	ResetPassword(ctx context.Context, identifier, userID, hash string, now time.Time, revokeSessions bool, events ...audit.Event) error

	// RecordAudit writes events that go with no other change (a wrong
	// password) in a transaction of their own.
	RecordAudit(ctx context.Context, events ...audit.Event) error
	// AuditEvents lists the events q selects, newest first.
	AuditEvents(ctx context.Context, q audit.Query) ([]audit.Event, error)
}

// UserPatch carries the profile fields a user may change.
type UserPatch struct {
	Name     *string // nil: unchanged
	SetImage bool    // false: image unchanged
	Image    *string // with SetImage, nil clears the image
	// EmailVerified, when set, marks the address verified or not.
	EmailVerified *bool
	// Email, when set, is the new (normalized) address; ErrConflict when taken.
	Email *string
	// TwoFactorEnabled, when set, switches sign-in's second factor on or off.
	TwoFactorEnabled *bool
}

// Empty reports whether the patch changes nothing.
func (p UserPatch) Empty() bool {
	return p.Name == nil && !p.SetImage && p.EmailVerified == nil && p.Email == nil && p.TwoFactorEnabled == nil
}
