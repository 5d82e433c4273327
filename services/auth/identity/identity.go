// Package identity holds Latch's accounts and sessions: who a user is, how
// they prove it, and the rules for the sessions they hold. It knows nothing
// of HTTP or SQL; the store it needs is the Store interface below.
package identity

import (
	"crypto/rand"
	"errors"
	"strings"
	"time"
)

// User is a person who can sign in. Field names follow Better Auth's user model.
type User struct {
	ID            string
	Name          string
	Email         string
	EmailVerified bool
	Image         *string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// TwoFactorEnabled is the two-factor plugin's column: sign-in asks for a
	// second factor. Transports show it only with the plugin on.
	TwoFactorEnabled bool
}

// Session is a server-side sign-in, identified by an opaque random token.
type Session struct {
	ID        string
	Token     string
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	IPAddress string
	UserAgent string
	// AMR lists, comma-separated, the RFC 8176 methods that opened the
	// session when a second factor did ("" otherwise); the JWTs minted from
	// it carry them. A string keeps Session comparable.
	AMR string
	// ActiveOrganizationID is the organization plugin's active
	// organization ("" none).
	ActiveOrganizationID string
}

// Methods returns the session's RFC 8176 authentication methods, nil when
// no second factor opened it.
func (s Session) Methods() []string {
	if s.AMR == "" {
		return nil
	}
	return strings.Split(s.AMR, ",")
}

// Account links a user to a way of signing in; "credential" holds the password hash.
type Account struct {
	ID         string
	AccountID  string
	ProviderID string
	UserID     string
	Password   *string
	// Tokens are a social account's grant (empty for "credential").
	Tokens    AccountTokens
	CreatedAt time.Time
	UpdatedAt time.Time
}

// AccountTokens are the provider tokens kept on an account row; nil: unchanged or none.
type AccountTokens struct {
	AccessToken, RefreshToken, IDToken *string
	AccessTokenExpiresAt               *time.Time
	// Scope is the granted scopes, comma-separated as Better Auth stores them.
	Scope *string
}

// CredentialProvider is Better Auth's provider id for email and password.
const CredentialProvider = "credential"

// Errors the identity rules produce. Transports map each to a status once.
var (
	ErrInvalidEmail              = errors.New("invalid email")
	ErrPasswordTooShort          = errors.New("password too short")
	ErrPasswordTooLong           = errors.New("password too long")
	ErrUserExists                = errors.New("user already exists")
	ErrInvalidCredentials        = errors.New("invalid email or password")
	ErrInvalidPassword           = errors.New("invalid password")
	ErrCredentialAccountNotFound = errors.New("credential account not found")
	ErrUnauthenticated           = errors.New("no valid session")
	ErrSessionNotFresh           = errors.New("session is not fresh")
	ErrEmailCannotBeUpdated      = errors.New("email can not be updated")
	ErrNoFieldsToUpdate          = errors.New("no fields to update")
	// ErrNotFound is returned by a Store when the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned by a Store when a unique value is already taken.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable wraps store failures that are not the caller's fault
	// (the database went away); transports answer 503.
	ErrUnavailable = errors.New("identity store unavailable")
	// ErrInvalidData wraps data the database refused (a NUL byte, invalid
	// UTF-8, a broken constraint) that the rules let through: the request's
	// fault, answered as invalid input, never as an outage.
	ErrInvalidData = errors.New("data refused by the identity store")
)

const idAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// NewID returns a 32-character id or session token from [a-zA-Z0-9], drawn
// uniformly like Better Auth's generateId, so ids from either look alike.
func NewID() string { return randomString(32) }

func randomString(n int) string { return randomFrom(idAlphabet, n) }

// randomFrom draws n characters uniformly from alphabet (at most 256 of
// them), rejecting the bytes that would bias the draw.
func randomFrom(alphabet string, n int) string {
	maxValid := 256 / len(alphabet) * len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		readRandom(buf)
		for _, b := range buf {
			if int(b) < maxValid {
				out = append(out, alphabet[int(b)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// readRandom fills b; crypto/rand.Read never fails on supported platforms.
func readRandom(b []byte) { _, _ = rand.Read(b) }
