package authn

import (
	"context"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// UnaryServerInterceptor authenticates every unary call with v, as
// Middleware does for HTTP: the Bearer token comes from the call's
// `authorization` metadata and the Principal goes into the handler's context
// (see PrincipalFrom). A missing or bad token ends the call with
// UNAUTHENTICATED; while no key set could be loaded yet, UNAVAILABLE. Calls
// whose full method name starts with one of public (e.g.
// "/grpc.health.v1.Health/") pass unauthenticated.
func UnaryServerInterceptor(v *Verifier, public ...string) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if isPublic(info.FullMethod, public) {
			return handler(ctx, req)
		}
		ctx, err := v.authenticateCall(ctx)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streaming calls: the
// token is checked once, when the stream opens.
func StreamServerInterceptor(v *Verifier, public ...string) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if isPublic(info.FullMethod, public) {
			return handler(srv, ss)
		}
		ctx, err := v.authenticateCall(ss.Context())
		if err != nil {
			return err
		}
		return handler(srv, &authenticatedStream{ServerStream: ss, ctx: ctx})
	}
}

type authenticatedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *authenticatedStream) Context() context.Context { return s.ctx }

func isPublic(method string, public []string) bool {
	for _, prefix := range public {
		if strings.HasPrefix(method, prefix) {
			return true
		}
	}
	return false
}

// authenticateCall verifies the call's Bearer token; the status it returns
// says what was wrong in Reason.Detail's words, never more.
func (v *Verifier) authenticateCall(ctx context.Context) (context.Context, error) {
	values := metadata.ValueFromIncomingContext(ctx, "authorization")
	if len(values) != 1 {
		msg := ReasonMissing.Detail() + ": send the metadata authorization: Bearer <JWT>"
		if len(values) > 1 {
			msg = "Invalid token: send exactly one authorization metadata value"
		}
		return ctx, status.Error(codes.Unauthenticated, msg)
	}
	token, ok := BearerToken(values[0])
	if !ok {
		return ctx, status.Error(codes.Unauthenticated, ReasonMissing.Detail()+": the authorization metadata must be Bearer <JWT>")
	}
	p, err := v.Verify(ctx, token)
	if err != nil {
		reason := ReasonOf(err)
		if reason.Unavailable() {
			return ctx, status.Error(codes.Unavailable, reason.Detail())
		}
		return ctx, status.Error(codes.Unauthenticated, reason.Detail())
	}
	return WithPrincipal(ctx, p), nil
}
