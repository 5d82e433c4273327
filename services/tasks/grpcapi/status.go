package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/services/tasks/caller"
	"github.com/latchid/latch/services/tasks/task"
)

// toStatus maps domain errors to gRPC codes, here and nowhere else, with
// the same rules and words as the REST API's statuses.
func (s *service) toStatus(ctx context.Context, method string, err error) error {
	var invalid *task.ValidationError
	var scope *caller.ScopeError
	switch {
	case errors.As(err, &invalid):
		return invalidArgument(invalid)
	case errors.Is(err, task.ErrNotFound):
		return status.Error(codes.NotFound, "Task not found")
	case errors.Is(err, task.ErrForbidden):
		return status.Error(codes.PermissionDenied, "Not authorized to access this task")
	case errors.As(err, &scope):
		return status.Error(codes.PermissionDenied, scope.Error())
	case errors.Is(err, caller.ErrOtherUser):
		return status.Error(codes.PermissionDenied, "A user's token may act only for that user")
	case errors.Is(err, caller.ErrUserRequired):
		return invalidArgument(&task.ValidationError{Fields: []task.FieldError{{Field: "user_id", Message: "a service token must name the user it acts for"}}})
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "call canceled")
	case errors.Is(err, task.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.ErrorContext(ctx, "store unavailable", "err", err, "method", method)
		return status.Error(codes.Unavailable, "Service temporarily unavailable")
	default:
		s.log.ErrorContext(ctx, "call failed", "err", err, "method", method)
		return status.Error(codes.Internal, "Internal Server Error")
	}
}

// invalidArgument lists the invalid fields in a google.rpc.BadRequest detail.
func invalidArgument(v *task.ValidationError) error {
	st := status.New(codes.InvalidArgument, v.Error())
	br := &errdetails.BadRequest{}
	for _, f := range v.Fields {
		br.FieldViolations = append(br.FieldViolations, &errdetails.BadRequest_FieldViolation{Field: f.Field, Description: f.Message})
	}
	if detailed, err := st.WithDetails(br); err == nil {
		st = detailed
	}
	return st.Err()
}

func badField(field, msg string) error {
	return &task.ValidationError{Fields: []task.FieldError{{Field: field, Message: msg}}}
}

// logCalls writes one line per call: method, code, duration and caller,
// never the token.
func logCalls(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		var seen authn.Principal
		resp, err := handler(context.WithValue(ctx, loggedCallerKey{}, &seen), req)
		code := status.Code(err)
		level := slog.LevelInfo
		if code == codes.Internal || code == codes.Unavailable {
			level = slog.LevelError
		}
		if !log.Enabled(ctx, level) {
			return resp, err
		}
		attrs := []slog.Attr{slog.String("method", info.FullMethod), slog.String("code", code.String()), slog.Duration("duration", time.Since(start))}
		if seen.UserID != "" {
			attrs = append(attrs, slog.String("user_id", seen.UserID))
		}
		log.LogAttrs(ctx, level, "grpc call", attrs...)
		return resp, err
	}
}

// recoverPanics turns a handler's panic into INTERNAL, logged with its stack.
func recoverPanics(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic", "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "Internal Server Error")
			}
		}()
		return handler(ctx, req)
	}
}

type loggedCallerKey struct{}

// noteCaller runs after authentication and tells logCalls who called.
func noteCaller(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if seen, ok := ctx.Value(loggedCallerKey{}).(*authn.Principal); ok {
		*seen, _ = authn.PrincipalFrom(ctx)
	}
	return handler(ctx, req)
}
