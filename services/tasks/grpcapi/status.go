package grpcapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/requestid"
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
	case errors.Is(err, task.ErrNoOrganization):
		return status.Error(codes.PermissionDenied, noOrganization)
	case errors.Is(err, caller.ErrOtherOrganization):
		return status.Error(codes.PermissionDenied, otherOrganization)
	case errors.Is(err, caller.ErrOrganizationRequired):
		return invalidArgument(&task.ValidationError{Fields: []task.FieldError{{Field: "organization_id", Message: organizationRequired}}})
	case errors.Is(err, caller.ErrUserRequired):
		return invalidArgument(&task.ValidationError{Fields: []task.FieldError{{Field: "user_id", Message: "a service token must name the user it acts for"}}})
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "call canceled")
	case errors.Is(err, task.ErrInvalidData):
		s.log.WarnContext(ctx, "store refused the data", "err", err, "method", method, "request_id", requestid.From(ctx))
		return status.Error(codes.InvalidArgument, "The data was refused as invalid")
	case errors.Is(err, task.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		s.log.ErrorContext(ctx, "store unavailable", "err", err, "method", method, "request_id", requestid.From(ctx))
		return status.Error(codes.Unavailable, "Service temporarily unavailable")
	default:
		s.log.ErrorContext(ctx, "call failed", "err", err, "method", method, "request_id", requestid.From(ctx))
		return status.Error(codes.Internal, "Internal Server Error")
	}
}

// The words REST's detail uses too (errors_test checks they agree).
const (
	noOrganization       = "No active organization: the token names none you are a member of"
	otherOrganization    = "A user's token may act only in its active organization"
	organizationRequired = "a service acting for an organization must name it in organization_id, and no user_id"
)

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

// recoverPanics turns a handler's panic into INTERNAL, logged with its stack.
func recoverPanics(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if r := recover(); r != nil {
				log.ErrorContext(ctx, "panic", "request_id", requestid.From(ctx), "method", info.FullMethod, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = status.Error(codes.Internal, "Internal Server Error")
			}
		}()
		return handler(ctx, req)
	}
}

// loggedUser names the caller in rpclog's line: the user a token speaks for,
// or "client:<id>" for a service calling as itself.
func loggedUser(ctx context.Context) (string, bool) {
	p, ok := authn.PrincipalFrom(ctx)
	return p.UserID, ok && p.UserID != ""
}
