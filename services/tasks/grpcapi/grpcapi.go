// Package grpcapi serves latch.tasks.v1.TasksService over the task domain:
// the REST API's rules, with the domain's errors mapped to gRPC codes in
// status.go, once.
package grpcapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/latchid/latch/pkg/authn"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
	"github.com/latchid/latch/services/tasks/rpclog"
	"github.com/latchid/latch/services/tasks/task"
)

// publicMethods answer without a token: health probes carry none, and the
// schema reflection reveals is the public proto.
var publicMethods = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// Server is the gRPC server with its health service, so Run can report
// NOT_SERVING while it drains.
type Server struct {
	grpc   *grpc.Server
	health *health.Server
	log    *slog.Logger
}

// New returns the tasks gRPC server: every TasksService call authenticated
// by v (authn's interceptors), given a request id and logged once (rpclog),
// panics turned into INTERNAL; plus grpc.health.v1 and server reflection,
// which need no token. opts add to the server's options (tracing's stats
// handler).
//
// rpclog's interceptor is outermost so the calls authentication refuses
// and the panics are logged with their request id too; rpclog.UnaryUser
// sits after authentication, the only place that sees the caller.
func New(tasks *task.Service, v *authn.Verifier, log *slog.Logger, opts ...grpc.ServerOption) *Server {
	srv := grpc.NewServer(append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(rpclog.UnaryServerInterceptor(log), recoverPanics(log),
			authn.UnaryServerInterceptor(v, publicMethods...), rpclog.UnaryUser(loggedUser)),
		grpc.ChainStreamInterceptor(rpclog.StreamServerInterceptor(log),
			authn.StreamServerInterceptor(v, publicMethods...), rpclog.StreamUser(loggedUser)),
		grpc.MaxRecvMsgSize(1 << 20),
	}, opts...)...)
	tasksv1.RegisterTasksServiceServer(srv, &service{tasks: tasks, log: log})
	hs := health.NewServer()
	hs.SetServingStatus(tasksv1.TasksService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	reflection.Register(srv)
	return &Server{grpc: srv, health: hs, log: log}
}

// Run serves on ln until ctx is done, then reports NOT_SERVING, stops
// accepting calls and lets the ones in flight finish for at most drain.
func (s *Server) Run(ctx context.Context, ln net.Listener, drain time.Duration) error {
	errc := make(chan error, 1)
	go func() { errc <- s.grpc.Serve(ln) }()
	s.log.Info("listening (gRPC)", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down (gRPC)", "drain", drain.String())
	s.health.Shutdown()
	stopped := make(chan struct{})
	go func() { s.grpc.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(drain):
		s.grpc.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	return nil
}

// Stop ends every call at once; for tests and failed starts.
func (s *Server) Stop() { s.grpc.Stop() }

// GRPC is the underlying server, for tests that serve it themselves.
func (s *Server) GRPC() *grpc.Server { return s.grpc }
