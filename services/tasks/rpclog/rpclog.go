// Package rpclog is pkg/httplog for gRPC: a request id taken from the
// call's x-request-id metadata or made up, put in the context where
// httplog.RequestID (requestid.From) finds it, sent back in the response
// header, and one structured log line per call (never a token or a
// message). Its client interceptors forward the context's id, so one id
// follows a request across HTTP and gRPC hops.
//
// Server side, in this order (outermost first):
//
//	grpc.ChainUnaryInterceptor(rpclog.UnaryServerInterceptor(log), <recover>, <authenticate>, rpclog.UnaryUser(user))
//
// so the line is written for calls authentication refuses too, and names
// the user of the ones it accepts.
package rpclog

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/latchid/latch/pkg/requestid"
)

// MetadataKey carries the request id between services and back to the
// caller: httplog.Header as gRPC spells metadata keys.
const MetadataKey = "x-request-id"

// UserFunc names the authenticated caller of a call, if any. It runs where
// UnaryUser or StreamUser sits in the chain: after authentication.
type UserFunc func(ctx context.Context) (string, bool)

// call is what the inner interceptors tell the outer one about a call.
type call struct{ user string }

type callKey struct{}

// UnaryServerInterceptor gives each unary call its request id and logs it
// once it has finished.
func UnaryServerInterceptor(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx, c := begin(ctx)
		// Sent with the response (or the error status), so the caller can
		// quote the id even when the call fails.
		_ = grpc.SetHeader(ctx, metadata.Pairs(MetadataKey, requestid.From(ctx)))
		resp, err := handler(ctx, req)
		logCall(ctx, log, info.FullMethod, err, c, start)
		return resp, err
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams: the line
// is written when the stream ends.
func StreamServerInterceptor(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		start := time.Now()
		ctx, c := begin(ss.Context())
		_ = ss.SetHeader(metadata.Pairs(MetadataKey, requestid.From(ctx)))
		err := handler(srv, &stream{ServerStream: ss, ctx: ctx})
		logCall(ctx, log, info.FullMethod, err, c, start)
		return err
	}
}

// UnaryUser records who called, for the log line; place it after the
// authenticating interceptor, whose context is invisible to the outer ones.
func UnaryUser(user UserFunc) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		noteUser(ctx, user)
		return handler(ctx, req)
	}
}

// StreamUser is UnaryUser for streams.
func StreamUser(user UserFunc) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		noteUser(ss.Context(), user)
		return handler(srv, ss)
	}
}

// UnaryClientInterceptor sends the context's request id (see
// requestid.With) as x-request-id metadata, unless the call sets one.
func UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(forward(ctx), method, req, reply, cc, opts...)
	}
}

// StreamClientInterceptor is UnaryClientInterceptor for streams.
func StreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(forward(ctx), desc, cc, method, opts...)
	}
}

func begin(ctx context.Context) (context.Context, *call) {
	var received string
	if values := metadata.ValueFromIncomingContext(ctx, MetadataKey); len(values) > 0 {
		received = values[0]
	}
	c := &call{}
	ctx = requestid.With(ctx, requestid.Accept(received))
	return context.WithValue(ctx, callKey{}, c), c
}

func noteUser(ctx context.Context, user UserFunc) {
	c, ok := ctx.Value(callKey{}).(*call)
	if !ok || user == nil {
		return
	}
	if id, ok := user(ctx); ok {
		c.user = id
	}
}

func forward(ctx context.Context) context.Context {
	id := requestid.From(ctx)
	if id == "" {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(MetadataKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, MetadataKey, id)
}

// logCall writes the call's line: at error level when the server failed
// (the codes an operator acts on), at info otherwise.
func logCall(ctx context.Context, log *slog.Logger, method string, err error, c *call, start time.Time) {
	code := status.Code(err)
	level := slog.LevelInfo
	switch code {
	case codes.Internal, codes.Unknown, codes.DataLoss, codes.Unavailable:
		level = slog.LevelError
	}
	if !log.Enabled(ctx, level) {
		return // don't build a line nobody keeps
	}
	attrs := []slog.Attr{
		slog.String("request_id", requestid.From(ctx)),
		slog.String("method", method),
		slog.String("code", code.String()),
		slog.Float64("latency_ms", float64(time.Since(start).Microseconds())/1000),
	}
	if c.user != "" {
		attrs = append(attrs, slog.String("user_id", c.user))
	}
	log.LogAttrs(ctx, level, "grpc call", attrs...)
}

type stream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *stream) Context() context.Context { return s.ctx }
