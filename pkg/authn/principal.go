package authn

import "context"

// Principal is the authenticated caller a verified token speaks for.
type Principal struct {
	UserID        string // the token's sub (= the auth service's user id)
	Email         string
	Name          string
	EmailVerified bool
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

func principalFrom(claims map[string]any, sub string) Principal {
	p := Principal{UserID: sub, Claims: claims}
	p.Email, _ = claims["email"].(string)
	p.Name, _ = claims["name"].(string)
	p.EmailVerified, _ = claims["emailVerified"].(bool)
	return p
}
