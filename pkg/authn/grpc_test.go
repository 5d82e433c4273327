package authn

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcServer serves the standard health service behind the interceptors
// (nothing public) and reports the Principal each call reached it with.
func grpcServer(t *testing.T, v *Verifier) (*grpc.ClientConn, <-chan Principal) {
	t.Helper()
	seen := make(chan Principal, 16)
	record := func(ctx context.Context) {
		if p, ok := PrincipalFrom(ctx); ok {
			seen <- p
		}
	}
	srv := grpc.NewServer(
		grpc.ChainUnaryInterceptor(UnaryServerInterceptor(v), func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			record(ctx)
			return h(ctx, req)
		}),
		grpc.ChainStreamInterceptor(StreamServerInterceptor(v), func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			record(ss.Context())
			return h(srv, ss)
		}),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, seen
}

func TestGRPCInterceptorsAuthenticateLikeTheMiddleware(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	conn, seen := grpcServer(t, v)
	client := healthpb.NewHealthClient(conn)
	valid := k1.sign(t, claims(nil), nil)

	tests := []struct {
		name    string
		md      []string // key, value pairs
		code    codes.Code
		message string
	}{
		{name: "no metadata is unauthenticated", code: codes.Unauthenticated, message: "Not authenticated: send the metadata authorization: Bearer <JWT>"},
		{name: "another scheme is unauthenticated", md: []string{"authorization", "Basic dXNlcjpwYXNz"}, code: codes.Unauthenticated, message: "Not authenticated: the authorization metadata must be Bearer <JWT>"},
		{name: "two tokens are refused", md: []string{"authorization", "Bearer " + valid, "authorization", "Bearer " + valid}, code: codes.Unauthenticated, message: "Invalid token: send exactly one authorization metadata value"},
		{name: "a forged token is invalid", md: []string{"authorization", "Bearer " + newEdKey(t, "k1").sign(t, claims(nil), nil)}, code: codes.Unauthenticated, message: "Invalid token"},
		{name: "an expired token says so", md: []string{"authorization", "Bearer " + k1.sign(t, claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), nil)}, code: codes.Unauthenticated, message: "Token expired"},
		{name: "an unsigned token is invalid", md: []string{"authorization", "Bearer " + unsigned(claims(nil))}, code: codes.Unauthenticated, message: "Invalid token"},
		{name: "a valid token reaches the handler", md: []string{"authorization", "Bearer " + valid}, code: codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			ctx = metadata.AppendToOutgoingContext(ctx, tc.md...)
			_, err := client.Check(ctx, &healthpb.HealthCheckRequest{})
			if got := status.Code(err); got != tc.code {
				t.Fatalf("unary: code %v (%v), want %v", got, err, tc.code)
			}
			if tc.code != codes.OK {
				if msg := status.Convert(err).Message(); msg != tc.message {
					t.Errorf("message %q, want %q", msg, tc.message)
				}
			} else if p := <-seen; p.UserID != "user_1" {
				t.Errorf("principal %+v, want user_1", p)
			}
			stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{})
			if err == nil {
				_, err = stream.Recv()
			}
			if got := status.Code(err); got != tc.code {
				t.Fatalf("stream: code %v (%v), want %v", got, err, tc.code)
			}
			if tc.code == codes.OK {
				if p := <-seen; p.UserID != "user_1" {
					t.Errorf("stream principal %+v, want user_1", p)
				}
			}
		})
	}
}

func TestGRPCPublicMethodsNeedNoToken(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, newJWKSServer(t, newEdKey(t, "k1").jwk()), nil, "", nil)
	srv := grpc.NewServer(grpc.UnaryInterceptor(UnaryServerInterceptor(v, "/grpc.health.v1.Health/")))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatalf("health check without a token: %v", err)
	}
}

func TestCredentialsSendTheForwardedTokenElseTheSourcesToken(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	conn, seen := grpcServer(t, v)
	user := k1.sign(t, claims(map[string]any{"sub": "user_2", "id": "user_2"}), nil)
	service := k1.sign(t, claims(map[string]any{"sub": "client:svc", "client_id": "svc", "scope": "tasks:read"}), nil)

	dial := func(creds Credentials) healthpb.HealthClient {
		c, err := grpc.NewClient(conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(creds))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return healthpb.NewHealthClient(c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	withSource := dial(Credentials{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: service}), Insecure: true})

	if _, err := withSource.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if p := <-seen; !p.IsService() || p.ClientID != "svc" || !p.HasScope("tasks:read") || p.HasScope("tasks:write") {
		t.Errorf("a call as the service arrived as %+v", p)
	}
	if _, err := withSource.Check(ForwardToken(ctx, user), &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	if p := <-seen; p.IsService() || p.UserID != "user_2" {
		t.Errorf("a call forwarding the user's token arrived as %+v", p)
	}
	if _, err := dial(Credentials{Insecure: true}).Check(ctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("a call with no token to send was sent")
	}
	secure := Credentials{Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: service})}
	if c, err := grpc.NewClient(conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(secure)); err == nil {
		c.Close()
		t.Error("a client may send tokens over a connection without transport security")
	}
}

func TestServiceClaimsMustAgree(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	tests := []struct {
		name    string
		changes map[string]any
		reason  Reason
	}{
		{"a service token names its client", map[string]any{"sub": "client:svc", "client_id": "svc", "scope": "tasks:read tasks:write"}, ReasonOK},
		{"a client: subject without client_id is refused", map[string]any{"sub": "client:svc"}, ReasonInvalidClaims},
		{"a client: subject naming another client is refused", map[string]any{"sub": "client:svc", "client_id": "other"}, ReasonInvalidClaims},
		{"a user token carrying client_id is refused", map[string]any{"client_id": "svc"}, ReasonInvalidClaims},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), k1.sign(t, claims(tc.changes), nil))
			if got := ReasonOf(err); got != tc.reason {
				t.Fatalf("reason %s (%v), want %s", got, err, tc.reason)
			}
		})
	}
}

// unsigned is an alg "none" token carrying claims, with kid k1.
func unsigned(c map[string]any) string {
	header, _ := json.Marshal(map[string]any{"alg": "none", "kid": "k1"})
	payload, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
}

func TestCredentialsReportARefusedClientAsUnauthenticated(t *testing.T) {
	t.Parallel()
	v := newVerifier(t, newJWKSServer(t, newEdKey(t, "k1").jwk()), nil, "", nil)
	conn, _ := grpcServer(t, v)
	e := newTokenEndpoint(t, 300)
	src, err := ClientCredentials(ClientCredentialsConfig{TokenURL: e.srv.URL, ClientID: "svc", ClientSecret: "wrong"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := grpc.NewClient(conn.Target(), grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(Credentials{Source: src, Insecure: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = healthpb.NewHealthClient(c).Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("err = %v, want UNAUTHENTICATED naming invalid_client", err)
	}
}
