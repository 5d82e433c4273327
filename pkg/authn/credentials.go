package authn

import (
	"context"
	"errors"

	"golang.org/x/oauth2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Credentials is a grpc credentials.PerRPCCredentials (use it with
// grpc.WithPerRPCCredentials) that sends `authorization: Bearer <token>`
// with every call: the user's token forwarded in the call's context (see
// ForwardToken) when there is one, otherwise a token from Source (a
// service's ClientCredentials, or oauth2.StaticTokenSource for a fixed
// token).
type Credentials struct {
	// Source supplies the token of calls that forward none; nil makes such
	// calls fail before they are sent.
	Source oauth2.TokenSource
	// Insecure allows tokens over connections without transport security:
	// loopback, tests, or a mesh that provides mTLS. gRPC refuses to send
	// them otherwise.
	Insecure bool
}

type forwardedTokenKey struct{}

// ForwardToken returns a copy of ctx whose outgoing calls (through
// Credentials) carry token, a user's JWT the caller received, so the callee
// acts for that user rather than for the calling service.
func ForwardToken(ctx context.Context, token string) context.Context {
	return context.WithValue(ctx, forwardedTokenKey{}, token)
}

// ErrNoToken: a call had neither a forwarded token nor a token source.
var ErrNoToken = errors.New("authn: no token to send: forward a user's token or configure a token source")

// GetRequestMetadata implements credentials.PerRPCCredentials.
func (c Credentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	if tok, ok := ctx.Value(forwardedTokenKey{}).(string); ok && tok != "" {
		return map[string]string{"authorization": "Bearer " + tok}, nil
	}
	if c.Source == nil {
		return nil, ErrNoToken
	}
	tok, err := c.Source.Token()
	if err != nil {
		// A refused client (bad secret, revoked, scope) is the caller's to
		// fix; gRPC would otherwise report every failure as UNAVAILABLE.
		var refused *oauth2.RetrieveError
		if errors.As(err, &refused) && refused.Response != nil && refused.Response.StatusCode < 500 {
			return nil, status.Errorf(codes.Unauthenticated, "authn: the token endpoint refused this client: %s %s", refused.ErrorCode, refused.ErrorDescription)
		}
		return nil, status.Errorf(codes.Unavailable, "authn: get a token: %v", err)
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}

// RequireTransportSecurity implements credentials.PerRPCCredentials.
func (c Credentials) RequireTransportSecurity() bool { return !c.Insecure }
