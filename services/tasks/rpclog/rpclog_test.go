package rpclog_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/pkg/requestid"
	"github.com/latchid/latch/pkg/testlog"
	"github.com/latchid/latch/services/tasks/rpclog"
)

// token is the one credential the test server accepts; it must never
// reach the log.
const token = "s3cret-token-of-alice"

const (
	unaryMethod  = "/rpclog.test.Echo/RequestID"
	streamMethod = "/rpclog.test.Echo/Watch"
)

// echo answers with the request id its handler's context carries, read
// through httplog's accessor: code written for HTTP works under gRPC.
var echo = grpc.ServiceDesc{
	ServiceName: "rpclog.test.Echo",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "RequestID",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			if err := dec(new(emptypb.Empty)); err != nil {
				return nil, err
			}
			handle := func(ctx context.Context, _ any) (any, error) {
				return wrapperspb.String(httplog.RequestID(ctx)), nil
			}
			return interceptor(ctx, new(emptypb.Empty), &grpc.UnaryServerInfo{Server: srv, FullMethod: unaryMethod}, handle)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "Watch",
		ServerStreams: true,
		Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			return ss.SendMsg(wrapperspb.String(httplog.RequestID(ss.Context())))
		},
	}},
}

type userKey struct{}

// authenticate stands where authn's interceptors stand in a service: it
// checks the authorization metadata and puts the caller in the context.
func authenticate(ctx context.Context) (context.Context, error) {
	if v := metadata.ValueFromIncomingContext(ctx, "authorization"); len(v) == 1 && v[0] == "Bearer "+token {
		return context.WithValue(ctx, userKey{}, "alice"), nil
	}
	return ctx, status.Error(codes.Unauthenticated, "no valid token")
}

func user(ctx context.Context) (string, bool) {
	u, ok := ctx.Value(userKey{}).(string)
	return u, ok
}

type authedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s authedStream) Context() context.Context { return s.ctx }

// serve runs the echo service with rpclog's and the test's authentication
// interceptors, in production order, on a loopback TCP port, and returns a
// client connection that forwards request ids.
func serve(t *testing.T) (*grpc.ClientConn, *testlog.Buffer) {
	t.Helper()
	out := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(out, nil))
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(
			rpclog.UnaryServerInterceptor(log),
			func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
				ctx, err := authenticate(ctx)
				if err != nil {
					return nil, err
				}
				return handler(ctx, req)
			},
			rpclog.UnaryUser(user),
		),
		grpc.ChainStreamInterceptor(
			rpclog.StreamServerInterceptor(log),
			func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
				ctx, err := authenticate(ss.Context())
				if err != nil {
					return err
				}
				return handler(srv, authedStream{ServerStream: ss, ctx: ctx})
			},
			rpclog.StreamUser(user),
		),
	)
	srv.RegisterService(&echo, struct{}{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(rpclog.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(rpclog.StreamClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn, out
}

var madeID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestServerRequestIDs(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct {
		name      string
		stream    bool
		sent      string // x-request-id metadata set on the call; "" sends none
		inContext string // request id of the caller's context, forwarded by the client interceptor
		token     string
		want      string // the id the server must use; "" means a new one
		wantCode  codes.Code
		wantUser  string
	}{
		{name: "metadata id passed through", sent: "gw-7f3a", token: token, want: "gw-7f3a", wantUser: "alice"},
		{name: "id made when absent", token: token, wantUser: "alice"},
		{name: "overlong id replaced", sent: long, token: token},
		{name: "context id forwarded by the client", inContext: "from-http-42", token: token, want: "from-http-42", wantUser: "alice"},
		{name: "explicit metadata wins over the context", sent: "explicit-1", inContext: "from-http-42", token: token, want: "explicit-1"},
		{name: "refused call still logged and answered with its id", sent: "no-token-9", want: "no-token-9", wantCode: codes.Unauthenticated},
		{name: "stream passed through", stream: true, sent: "stream-5", token: token, want: "stream-5", wantUser: "alice"},
		{name: "stream id made when absent", stream: true, token: token, wantUser: "alice"},
		{name: "stream refused", stream: true, inContext: "stream-6", want: "stream-6", wantCode: codes.Unauthenticated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, out := serve(t)
			ctx := context.Background()
			if tc.inContext != "" {
				ctx = requestid.With(ctx, tc.inContext)
			}
			if tc.sent != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, rpclog.MetadataKey, tc.sent)
			}
			if tc.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tc.token)
			}

			var header metadata.MD
			seen := new(wrapperspb.StringValue)
			var err error
			if tc.stream {
				err = watch(ctx, conn, seen, &header)
			} else {
				err = conn.Invoke(ctx, unaryMethod, new(emptypb.Empty), seen, grpc.Header(&header))
			}
			if code := status.Code(err); code != tc.wantCode {
				t.Fatalf("code %v (%v), want %v", code, err, tc.wantCode)
			}

			echoed := header.Get(rpclog.MetadataKey)
			if len(echoed) != 1 {
				t.Fatalf("response header x-request-id = %q, want one value", echoed)
			}
			id := echoed[0]
			switch {
			case tc.want != "" && id != tc.want:
				t.Errorf("request id %q, want %q", id, tc.want)
			case tc.want == "" && !madeID.MatchString(id):
				t.Errorf("request id %q, want a new 24-hex-digit id", id)
			case tc.want == "" && (id == tc.sent || id == tc.inContext):
				t.Errorf("request id %q was taken from the caller, want a new one", id)
			}
			if tc.wantCode == codes.OK && seen.GetValue() != id {
				t.Errorf("handler saw request id %q, response header says %q", seen.GetValue(), id)
			}

			line := onlyLine(t, out.String())
			method := unaryMethod
			if tc.stream {
				method = streamMethod
			}
			for k, want := range map[string]any{"request_id": id, "method": method, "code": tc.wantCode.String(), "msg": "grpc call"} {
				if line[k] != want {
					t.Errorf("log %s = %v, want %v", k, line[k], want)
				}
			}
			if _, ok := line["latency_ms"].(float64); !ok {
				t.Errorf("log has no numeric latency_ms: %v", line)
			}
			if got, _ := line["user_id"].(string); got != tc.wantUser && tc.wantUser != "" {
				t.Errorf("log user_id = %q, want %q", got, tc.wantUser)
			}
			if _, ok := line["user_id"]; ok && tc.wantCode != codes.OK {
				t.Errorf("refused call logged with a user: %v", line)
			}
			if strings.Contains(out.String(), token) {
				t.Errorf("the token reached the log: %s", out.String())
			}
		})
	}
}

func watch(ctx context.Context, conn *grpc.ClientConn, seen *wrapperspb.StringValue, header *metadata.MD) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	desc := &echo.Streams[0]
	cs, err := conn.NewStream(ctx, desc, streamMethod)
	if err != nil {
		return err
	}
	if err := cs.SendMsg(new(emptypb.Empty)); err != nil {
		return err
	}
	if err := cs.CloseSend(); err != nil {
		return err
	}
	var recvErr error
	if recvErr = cs.RecvMsg(seen); recvErr == nil {
		recvErr = cs.RecvMsg(new(wrapperspb.StringValue)) // io.EOF once the server's status arrives
	}
	if *header, err = cs.Header(); err != nil {
		return err
	}
	if errors.Is(recvErr, io.EOF) {
		return nil
	}
	return recvErr
}

// onlyLine decodes the log, which must hold exactly one line.
func onlyLine(t *testing.T, log string) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line per call, got %d:\n%s", len(lines), log)
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatalf("log line %q: %v", lines[0], err)
	}
	return line
}
