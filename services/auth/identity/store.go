package identity

import (
	"context"
	"time"
)

// Store is the persistence the identity rules need. Implementations return
// ErrNotFound, ErrConflict, or an error wrapping ErrUnavailable.
type Store interface {
	// CreateUser writes the user and its first account in one transaction;
	// ErrConflict when the email is taken.
	CreateUser(ctx context.Context, u User, a Account) error
	UserByEmail(ctx context.Context, email string) (User, error)
	UserByID(ctx context.Context, id string) (User, error)
	UpdateUser(ctx context.Context, id string, patch UserPatch, now time.Time) (User, error)
	CredentialAccount(ctx context.Context, userID string) (Account, error)

	CreateSession(ctx context.Context, s Session) error
	// SessionByToken returns the session and its user.
	SessionByToken(ctx context.Context, token string) (Session, User, error)
	ExtendSession(ctx context.Context, token string, expiresAt, now time.Time) error
	DeleteSession(ctx context.Context, token string) error
	DeleteUserSession(ctx context.Context, userID, token string) error
	DeleteUserSessions(ctx context.Context, userID string) error
	DeleteOtherSessions(ctx context.Context, userID, keepToken string) error
	ActiveSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)

	// ChangePassword stores a new hash for the account and, when replace is
	// set, deletes every session of the user and creates replace instead, in
	// one transaction so a failure leaves the old password and sessions.
	ChangePassword(ctx context.Context, accountID, hash string, now time.Time, replace *Session) error
}

// UserPatch carries the profile fields a user may change.
type UserPatch struct {
	Name     *string // nil: unchanged
	SetImage bool    // false: image unchanged
	Image    *string // with SetImage, nil clears the image
}

// Empty reports whether the patch changes nothing.
func (p UserPatch) Empty() bool { return p.Name == nil && !p.SetImage }
