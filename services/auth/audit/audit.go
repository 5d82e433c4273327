// Package audit is the security audit trail's vocabulary: what happened,
// to whom, from where (docs/audit.md). Stores write an Event in the same
// transaction as the change it records, so the trail never claims a change
// that rolled back nor misses one that committed. It knows nothing of SQL
// or HTTP, and depends on no other domain package, so identity, the
// service clients and the organization plugin all record through it.
package audit

import (
	"errors"
	"strings"
	"time"
)

// Type names what happened. The values are the trail's public vocabulary
// (the CLI's --type, the account page's security activity): never renamed.
type Type string

// The event types (docs/audit.md says when each is written and its detail).
const (
	SignUp                 Type = "sign-up"
	SignIn                 Type = "sign-in"
	SignInFailed           Type = "sign-in-failed"
	SignOut                Type = "sign-out"
	PasswordChanged        Type = "password-changed"
	PasswordReset          Type = "password-reset"
	EmailChangeRequested   Type = "email-change-requested"
	EmailChanged           Type = "email-changed"
	EmailVerified          Type = "email-verified"
	TwoFactorEnabled       Type = "two-factor-enabled"
	TwoFactorDisabled      Type = "two-factor-disabled"
	BackupCodeUsed         Type = "backup-code-used"
	BackupCodesRegenerated Type = "backup-codes-regenerated"
	SessionRevoked         Type = "session-revoked"
	AccountDeleted         Type = "account-deleted"
	ClientCreated          Type = "client-created"
	ClientRevoked          Type = "client-revoked"
	// The organization plugin's membership changes.
	OrganizationCreated Type = "organization-created"
	OrganizationDeleted Type = "organization-deleted"
	MemberAdded         Type = "member-added"
	MemberRoleChanged   Type = "member-role-changed"
	MemberRemoved       Type = "member-removed"
	MemberLeft          Type = "member-left"
)

// Types lists every type, in the order docs/audit.md documents them.
var Types = []Type{
	SignUp, SignIn, SignInFailed, SignOut, PasswordChanged, PasswordReset,
	EmailChangeRequested, EmailChanged, EmailVerified,
	TwoFactorEnabled, TwoFactorDisabled, BackupCodeUsed, BackupCodesRegenerated,
	SessionRevoked, AccountDeleted, ClientCreated, ClientRevoked,
	OrganizationCreated, OrganizationDeleted, MemberAdded, MemberRoleChanged, MemberRemoved, MemberLeft,
}

// Known reports whether t is one of Types.
func Known(t Type) bool {
	for _, k := range Types {
		if k == t {
			return true
		}
	}
	return false
}

// Detail keys. Detail holds small facts about an event, never a secret: no
// password, token, code, secret or verification link ever goes in.
const (
	DetailMethod       = "method"       // sign-in, sign-in-failed: email, google, totp, otp, backup-code, verification-link
	DetailReason       = "reason"       // sign-in-failed: invalid-credentials, email-not-verified, invalid-code
	DetailSecondFactor = "secondFactor" // sign-in with a password that still needs the second factor: "required"
	DetailScope        = "scope"        // session-revoked: one, others, all
	DetailSessionID    = "sessionId"    // sign-out, session-revoked (one): the ended session's id (not its token)
	DetailVia          = "via"          // two-factor-enabled: totp, otp; email-changed: link, direct
	DetailClientID     = "clientId"     // client-created, client-revoked
	DetailClientName   = "clientName"   // client-created
	// DetailSessionsEnded: password-changed, password-reset: "true" when every session of the user ended.
	DetailSessionsEnded = "sessionsEnded"
	DetailProvider      = "provider" // sign-up: credential, google
	// DetailOrganizationID: the organization events and the member events.
	DetailOrganizationID = "organizationId"
	// DetailRole: member-added, member-role-changed: the member's role(s) after the change.
	DetailRole = "role"
)

// What a sign-in's password step says of the second factor (DetailSecondFactor).
const (
	// SecondFactorRequired: the password was right, no session opened yet.
	SecondFactorRequired = "required"
	// SecondFactorTrustedDevice: a trusted device's password opened the session.
	SecondFactorTrustedDevice = "trusted-device"
)

// Sign-in methods (DetailMethod).
const (
	MethodEmail      = "email"
	MethodTOTP       = "totp"
	MethodOTP        = "otp"
	MethodBackupCode = "backup-code"
)

// Event is one row of the trail.
type Event struct {
	ID   string
	Type Type
	// UserID is whose account the event is about; "" when there is none
	// (a failed sign-in for an unknown address, a service client).
	UserID string
	// ActorID is who acted when it is not the user: a service client's id,
	// an operator ("cli"), an organization admin.
	ActorID   string
	IPAddress string
	UserAgent string
	RequestID string
	Detail    map[string]string
	CreatedAt time.Time
}

// Limits of the listing queries.
const (
	DefaultLimit = 20
	MaxLimit     = 100
	// MaxOperatorLimit bounds one CLI listing.
	MaxOperatorLimit = 10000
)

// Query selects events, newest first.
type Query struct {
	UserID string // "" with AllUsers only
	// AllUsers lets an operator list every user's events; the account
	// page never sets it.
	AllUsers bool
	Since    time.Time // zero: no bound
	Types    []Type    // empty: every type
	Limit    int
}

// ErrInvalidQuery is a query that would list nothing sensible.
var ErrInvalidQuery = errors.New("invalid audit query")

// Check validates q: a user or AllUsers, known types, a positive limit not
// above max.
func (q Query) Check(max int) error {
	if q.UserID == "" && !q.AllUsers {
		return ErrInvalidQuery
	}
	if q.Limit <= 0 || q.Limit > max {
		return ErrInvalidQuery
	}
	for _, t := range q.Types {
		if !Known(t) {
			return ErrInvalidQuery
		}
	}
	return nil
}

// ParseTypes reads a comma-separated list of types.
func ParseTypes(s string) ([]Type, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Type
	for _, part := range strings.Split(s, ",") {
		t := Type(strings.TrimSpace(part))
		if !Known(t) {
			return nil, errors.New("unknown audit event type " + string(t))
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseSince reads an RFC 3339 instant or a duration before now ("24h").
func ParseSince(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return time.Time{}, errors.New("--since wants an RFC 3339 time or a duration such as 24h")
	}
	return now.Add(-d).UTC(), nil
}

// DefaultRetention (AUDIT_RETENTION) keeps 90 days: long enough to answer
// "was that me?" about last quarter, short enough not to keep addresses
// and user agents for years. 0 keeps events forever.
const DefaultRetention = 90 * 24 * time.Hour
