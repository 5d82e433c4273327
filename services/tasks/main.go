// Command tasks is Latch's resource server: per-user tasks behind EdDSA JWTs
// verified locally against the auth service's JWKS.
//
//	tasks serve     serve the API (migrating first unless AUTO_MIGRATE=false)
//	tasks migrate   apply database migrations and exit
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/serve"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/services/tasks/grpcapi"
	"github.com/latchid/latch/services/tasks/httpapi"
	"github.com/latchid/latch/services/tasks/task"
	"github.com/latchid/latch/services/tasks/taskstore"
)

const usage = `usage: tasks <command>

commands:
  serve         serve the REST API on PORT (default 8000) and gRPC on GRPC_PORT (default 9000)
  migrate       apply database migrations and exit
  healthcheck   exit 0 when the server on PORT answers /readyz with 200 (container healthchecks)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tasks:", err)
		os.Exit(1)
	}
}

var (
	errUsage  = errors.New("unknown command")
	errNoJWKS = errors.New("no JWKS cached yet")
)

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "healthcheck":
		return observe.Probe(ctx, envconf.New(getenv).Int("PORT", 8000))
	case "serve", "migrate":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w %q", errUsage, cmd)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "tasks")
	if cmd == "migrate" {
		return runMigrate(ctx, cfg, stdout)
	}
	return runServe(ctx, cfg, log)
}

// app is the wired service.
type app struct {
	db       *sqldb.DB
	redis    *redis.Client
	verifier *authn.Verifier
	obs      *observe.Observer
	tracing  *tracing.Tracing
	handler  http.Handler
	grpc     *grpcapi.Server
}

func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.Pool)
	if err != nil {
		return nil, err
	}
	a := &app{db: db, obs: observe.New("tasks", log)}
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		a.Close()
		return nil, err
	}
	a.obs.WatchDB("tasks", sqlDB)
	if db.PG != nil {
		a.obs.WatchPool("tasks", db.PG)
	}
	if cfg.AutoMigrate {
		if _, err := taskstore.Migrate(ctx, db); err != nil {
			a.Close()
			return nil, err
		}
	}
	if cfg.RedisURL != "" {
		if a.redis, err = redisclient.Open(cfg.RedisURL, log); err != nil {
			a.Close()
			return nil, err
		}
		// Redis only shares the JWKS between replicas; verification goes on
		// from the in-process copy without it, so it does not gate readiness.
		a.obs.Report("redis", func(ctx context.Context) error { return a.redis.Ping(ctx).Err() })
	}
	a.verifier, err = authn.NewVerifier(ctx, authn.Config{
		JWKSURL: cfg.JWKSURL, Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience,
		RefreshInterval: cfg.JWKSRefresh, Redis: a.redis, Logger: log,
		Hooks: authn.MetricsHooks(a.obs.Registerer()),
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.obs.Require("jwks", func(context.Context) error {
		if !a.verifier.Ready() {
			return errNoJWKS
		}
		return nil
	})
	if a.tracing, err = tracing.Setup(ctx, cfg.Tracing, log); err != nil {
		a.Close()
		return nil, err
	}
	svc := task.NewService(taskstore.New(db), nil)
	// Tracing inside observe: probes and /metrics make no spans. Off, it
	// returns the router itself and no gRPC option.
	a.handler = a.obs.Wrap(a.tracing.Handler(httpapi.New(httpapi.Config{FrontendOrigins: cfg.FrontendOrigins}, svc, authn.Middleware(a.verifier), log)))
	a.grpc = grpcapi.New(svc, a.verifier, log, a.tracing.GRPCServerOptions()...)
	return a, nil
}

// Close runs once the servers have drained, so the last spans are flushed.
func (a *app) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), tracing.FlushTimeout)
	defer cancel()
	_ = a.tracing.Shutdown(ctx) // a failure is logged there
	if a.verifier != nil {
		a.verifier.Close()
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
	_ = a.db.Close()
}

func runServe(ctx context.Context, cfg Config, log *slog.Logger) error {
	log.Info("starting", "config", cfg)
	awaitJWKS(ctx, cfg.JWKSURL, jwksStartupGrace)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	grpcLn, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.GRPCPort))
	if err != nil {
		return fmt.Errorf("GRPC_PORT: %w", err)
	}
	// Either server failing stops the other; a signal drains both, after
	// SHUTDOWN_DELAY, during which /readyz fails and both go on serving.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	srv := &serve.Server{Handler: a.handler, Delay: cfg.ShutdownDelay, Drain: serve.DefaultDrain, Log: log}
	a.obs.Require("serving", srv.Ready)
	grpcCtx, grpcStop := serve.Delayed(ctx, cfg.ShutdownDelay)
	defer grpcStop()
	grpcDone := make(chan error, 1)
	go func() {
		defer stop()
		grpcDone <- a.grpc.Run(grpcCtx, grpcLn, serve.DefaultDrain)
	}()
	httpErr := srv.ListenAndRun(ctx, cfg.Port)
	stop()
	grpcStop()
	return errors.Join(httpErr, <-grpcDone)
}

func runMigrate(ctx context.Context, cfg Config, stdout io.Writer) error {
	return sqldb.MigrateCommand(ctx, cfg.DatabaseURL, cfg.Pool, taskstore.Migrate, stdout)
}
