package authn

import (
	"errors"
)

// Reason is a short, stable label saying why a token was rejected; safe to
// use as a metrics label and to log (it never carries token content).
type Reason string

// The reasons Verify reports. ReasonOK labels an accepted token in hooks.
const (
	ReasonOK              Reason = "ok"
	ReasonMissing         Reason = "missing"
	ReasonTooLarge        Reason = "too_large"
	ReasonMalformed       Reason = "malformed"
	ReasonAlgorithm       Reason = "alg_not_allowed"
	ReasonMissingKID      Reason = "missing_kid"
	ReasonUnknownKID      Reason = "unknown_kid"
	ReasonKeyMismatch     Reason = "key_mismatch"
	ReasonForbiddenHeader Reason = "forbidden_header"
	ReasonUnsupportedCrit Reason = "unsupported_crit"
	ReasonBadSignature    Reason = "bad_signature"
	ReasonExpired         Reason = "expired"
	ReasonNotYetValid     Reason = "not_yet_valid"
	ReasonBadIssuer       Reason = "bad_issuer"
	ReasonBadAudience     Reason = "bad_audience"
	ReasonMissingClaim    Reason = "missing_claim"
	ReasonInvalidClaims   Reason = "invalid_claims"
	ReasonUnavailable     Reason = "keys_unavailable"
	// ReasonRevoked: the token's session, user or client was revoked.
	ReasonRevoked Reason = "revoked"
	// ReasonRevocationsUnknown: the revocation feed has been unreachable for
	// longer than its bound, so no token is accepted (fail closed).
	ReasonRevocationsUnknown Reason = "revocations_unknown"
	ReasonInvalid            Reason = "invalid"
)

// Detail is the short message a client may see for this reason; it never
// says more than whether the token was missing, expired or otherwise bad.
func (r Reason) Detail() string {
	switch r {
	case ReasonOK:
		return "OK"
	case ReasonMissing:
		return "Not authenticated"
	case ReasonExpired:
		return "Token expired"
	case ReasonUnavailable, ReasonRevocationsUnknown:
		return "Authentication temporarily unavailable"
	case ReasonRevoked:
		return "Token revoked"
	default:
		return "Invalid token"
	}
}

// Unavailable reports whether the refusal is the service's fault (no keys,
// or revocation status unknown), not the token's: transports answer 503 /
// UNAVAILABLE.
func (r Reason) Unavailable() bool { return r == ReasonUnavailable || r == ReasonRevocationsUnknown }

// Error is a rejected token: a Reason plus, for logs, the underlying cause.
// Compare with errors.Is against the Err* values, which match on Reason.
type Error struct {
	Reason Reason
	// Err is the internal cause (from the JWT library, the key set, ...). It
	// never contains the token; it is meant for logs, not for clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return "authn: token rejected: " + string(e.Reason)
	}
	return "authn: token rejected: " + string(e.Reason) + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrExpired) true for every *Error with that Reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Err == nil && t.Reason == e.Reason
}

// Sentinels for errors.Is, one per Reason.
var (
	ErrMissingToken       = &Error{Reason: ReasonMissing}
	ErrTokenTooLarge      = &Error{Reason: ReasonTooLarge}
	ErrMalformed          = &Error{Reason: ReasonMalformed}
	ErrAlgorithm          = &Error{Reason: ReasonAlgorithm}
	ErrMissingKID         = &Error{Reason: ReasonMissingKID}
	ErrUnknownKID         = &Error{Reason: ReasonUnknownKID}
	ErrKeyMismatch        = &Error{Reason: ReasonKeyMismatch}
	ErrForbiddenHeader    = &Error{Reason: ReasonForbiddenHeader}
	ErrUnsupportedCrit    = &Error{Reason: ReasonUnsupportedCrit}
	ErrBadSignature       = &Error{Reason: ReasonBadSignature}
	ErrExpired            = &Error{Reason: ReasonExpired}
	ErrNotYetValid        = &Error{Reason: ReasonNotYetValid}
	ErrBadIssuer          = &Error{Reason: ReasonBadIssuer}
	ErrBadAudience        = &Error{Reason: ReasonBadAudience}
	ErrMissingClaim       = &Error{Reason: ReasonMissingClaim}
	ErrInvalidClaims      = &Error{Reason: ReasonInvalidClaims}
	ErrUnavailable        = &Error{Reason: ReasonUnavailable}
	ErrRevoked            = &Error{Reason: ReasonRevoked}
	ErrRevocationsUnknown = &Error{Reason: ReasonRevocationsUnknown}
	ErrInvalid            = &Error{Reason: ReasonInvalid}
)

// ReasonOf tells why err rejected a token: ReasonOK for nil, ReasonInvalid
// for an error that did not come from Verify.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonInvalid
}

func reject(r Reason, cause error) *Error { return &Error{Reason: r, Err: cause} }
