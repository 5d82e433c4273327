// Command nocache is bin/tasks with pkg/authn's verified-token cache turned
// off (authn.Config.AcceptedCacheSize = -1), so that every request pays the
// full verification: the benchmark's worst case for Latch, where no token is
// ever seen twice. Otherwise it is wired like services/tasks (same store,
// service, HTTP API, authn.Middleware, JWKS shared through Redis). Bench only.
//
// Env: PORT, DATABASE_URL, REDIS_URL (optional), JWKS_URL, JWT_ISSUER,
// JWT_AUDIENCE, LOG_LEVEL (default warn).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/serve"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/tasks/httpapi"
	"github.com/latchid/latch/services/tasks/task"
	"github.com/latchid/latch/services/tasks/taskstore"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "nocache:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("LOG_LEVEL", "warn"))); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", "tasks-nocache")
	db, err := sqldb.Open(ctx, env("DATABASE_URL", ""), sqldb.DefaultPool())
	if err != nil {
		return err
	}
	defer db.Close()
	var rdb *redis.Client
	if u := env("REDIS_URL", ""); u != "" {
		opts, err := redis.ParseURL(u)
		if err != nil {
			return fmt.Errorf("REDIS_URL: %w", err)
		}
		rdb = redis.NewClient(opts)
		defer rdb.Close()
	}
	v, err := authn.NewVerifier(ctx, authn.Config{
		JWKSURL: env("JWKS_URL", ""), Issuer: env("JWT_ISSUER", ""), Audience: env("JWT_AUDIENCE", ""),
		Redis: rdb, Logger: log, AcceptedCacheSize: -1,
	})
	if err != nil {
		return err
	}
	defer v.Close()
	svc := task.NewService(taskstore.New(db), nil)
	handler := observe.New("tasks", log).Wrap(httpapi.New(httpapi.Config{}, svc, authn.Middleware(v), log))
	ln, err := net.Listen("tcp", ":"+env("PORT", "8003"))
	if err != nil {
		return err
	}
	return serve.Run(ctx, ln, handler, serve.DefaultDrain, log)
}
