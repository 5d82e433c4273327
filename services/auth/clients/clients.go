// Package clients holds service identities: OAuth2 clients that get tokens
// with the client-credentials grant (RFC 6749 §4.4) and act as themselves,
// within the scopes they were registered with. It knows nothing of HTTP or
// SQL.
//
// A client's secret is 256 random bits, shown once at registration; only
// its SHA-256 is stored. A slow password hash buys nothing against a secret
// that cannot be guessed, and an unkeyed hash keeps secrets valid across a
// rotation of BETTER_AUTH_SECRET.
package clients

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latchid/latch/services/auth/audit"
)

// Client is one registered service.
type Client struct {
	ID         string
	Name       string
	Scopes     []string
	SecretHash []byte // SHA-256 of the secret
	CreatedAt  time.Time
	RevokedAt  *time.Time // set: the client gets no new token
}

// Revoked reports whether the client was revoked.
func (c Client) Revoked() bool { return c.RevokedAt != nil }

// Store persists clients. Implementations return ErrNotFound for a missing
// id and wrap other failures in ErrUnavailable.
type Store interface {
	// CreateClient and RevokeClient write the audit events recording the
	// change in its transaction; RevokeClient writes them only when it set
	// revoked_at.
	CreateClient(ctx context.Context, c Client, events ...audit.Event) error
	Client(ctx context.Context, id string) (Client, error)
	Clients(ctx context.Context) ([]Client, error)
	// RevokeClient sets revoked_at unless it is set already.
	RevokeClient(ctx context.Context, id string, at time.Time, events ...audit.Event) error
}

// Errors of the domain. The token endpoint maps them to RFC 6749 §5.2 codes.
var (
	ErrNotFound = errors.New("no client has that id")
	// ErrInvalidClient: unknown client, wrong secret or revoked client,
	// deliberately not told apart (invalid_client).
	ErrInvalidClient = errors.New("client authentication failed")
	// ErrInvalidScope: a scope the client was not registered with, or a
	// malformed one (invalid_scope).
	ErrInvalidScope = errors.New("the requested scope is invalid or exceeds the client's scopes")
	// ErrUnavailable wraps store and signing failures that are not the caller's fault.
	ErrUnavailable = errors.New("clients store unavailable")
)

// ValidationError is invalid input to Register.
type ValidationError struct{ Message string }

func (e *ValidationError) Error() string { return e.Message }

// Limits on registration input.
const (
	MaxNameLength  = 100
	MaxScopeLength = 100
	MaxScopes      = 20
)

// ParseScope splits a space-delimited scope parameter (RFC 6749 §3.3) into
// its distinct tokens, in order; each is 1*( %x21 / %x23-5B / %x5D-7E ).
func ParseScope(s string) ([]string, error) {
	var out []string
	for _, tok := range strings.Split(s, " ") {
		if tok == "" {
			continue
		}
		if len(tok) > MaxScopeLength {
			return nil, fmt.Errorf("scope %.20q… is longer than %d characters", tok, MaxScopeLength)
		}
		for i := 0; i < len(tok); i++ {
			if c := tok[i]; c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
				return nil, fmt.Errorf("scope %q has a character RFC 6749 does not allow", tok)
			}
		}
		if !slices.Contains(out, tok) {
			out = append(out, tok)
		}
	}
	if len(out) > MaxScopes {
		return nil, fmt.Errorf("at most %d scopes", MaxScopes)
	}
	return out, nil
}
