package authn

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"
)

// ServiceSubjectPrefix starts the sub of a token issued to a service by the
// OAuth2 client-credentials grant: "client:<client_id>". User ids never
// start with it.
const ServiceSubjectPrefix = "client:"

// Principal is the authenticated caller a verified token speaks for.
type Principal struct {
	UserID        string // the token's sub: a user's id, or "client:<id>" for a service
	Email         string
	Name          string
	EmailVerified bool
	// ClientID is set when a service called as itself (a client-credentials
	// token): its sub is ServiceSubjectPrefix + ClientID.
	ClientID string
	// Scopes are the token's space-separated scope claim.
	Scopes []string
	// SessionID is the token's sid: the auth session it was issued for
	// (empty on client-credentials tokens and on tokens minted before sid
	// existed). A revoked session's tokens are refused (Revocations).
	SessionID string
	// TokenID is the token's jti, when it has one.
	TokenID string
	// IssuedAt is the token's iat (zero when absent).
	IssuedAt time.Time
	// AMR is the token's RFC 8176 amr claim: the methods that opened the
	// session, e.g. ["pwd","otp"] after a second factor; nil without one.
	AMR []string
	// OrganizationID is the token's org claim: the session's active
	// organization (empty without one). OrganizationRoles are the member's
	// roles there, from org_role ("admin", or "admin,member" for several).
	OrganizationID    string
	OrganizationRoles []string
	// Claims holds every claim of the token as decoded JSON (numbers are
	// float64). Treat it as read-only.
	Claims map[string]any
}

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the Principal that the middleware (or WithPrincipal)
// put into ctx; ok is false when the request was not authenticated.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// IsService reports whether the caller is a service acting as itself
// rather than a user (or a service forwarding a user's token).
func (p Principal) IsService() bool { return p.ClientID != "" }

// HasScope reports whether the token was granted scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

func principalFrom(claims map[string]any, sub string) Principal {
	p := Principal{UserID: sub, Claims: claims}
	p.Email, _ = claims["email"].(string)
	p.Name, _ = claims["name"].(string)
	p.EmailVerified, _ = claims["emailVerified"].(bool)
	if id, ok := strings.CutPrefix(sub, ServiceSubjectPrefix); ok {
		p.ClientID = id
	}
	if scope, ok := claims["scope"].(string); ok {
		p.Scopes = strings.Fields(scope)
	}
	p.SessionID, _ = claims["sid"].(string)
	p.TokenID, _ = claims["jti"].(string)
	if iat, ok := claims["iat"].(float64); ok {
		p.IssuedAt = time.Unix(int64(iat), 0)
	}
	if amr, ok := claims["amr"].([]any); ok {
		for _, m := range amr {
			if s, ok := m.(string); ok {
				p.AMR = append(p.AMR, s)
			}
		}
	}
	if org, ok := claims["org"].(string); ok && org != "" {
		p.OrganizationID = org
		if roles, ok := claims["org_role"].(string); ok {
			for _, r := range strings.Split(roles, ",") {
				if r = strings.TrimSpace(r); r != "" {
					p.OrganizationRoles = append(p.OrganizationRoles, r)
				}
			}
		}
	}
	return p
}

// HasOrganizationRole reports whether the token names organization org as
// active with role among the member's roles.
func (p Principal) HasOrganizationRole(org, role string) bool {
	return org != "" && p.OrganizationID == org && slices.Contains(p.OrganizationRoles, role)
}

// checkServiceClaims refuses a token whose sub claims a service identity
// without naming the same client in client_id, so a user token can never be
// read as a service's.
func checkServiceClaims(claims map[string]any, sub string) error {
	id, isService := strings.CutPrefix(sub, ServiceSubjectPrefix)
	clientID, _ := claims["client_id"].(string)
	switch {
	case isService && (id == "" || clientID != id):
		return reject(ReasonInvalidClaims, errors.New("a client: subject needs the same client_id"))
	case !isService && clientID != "":
		return reject(ReasonInvalidClaims, errors.New("client_id on a user's token"))
	}
	return nil
}
