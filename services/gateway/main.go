// Command gateway is the one origin a browser sees: it serves the web UI,
// forwards /api/auth/* to the auth service and /api/tasks* to the tasks
// service, and swaps the session cookie for a JWT on the way to tasks, so
// no JWT ever reaches JavaScript.
//
//	gateway serve         serve on PORT (default 3000)
//	gateway healthcheck   exit 0 when the server on PORT answers /readyz with 200
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/serve"
	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/services/gateway/exchange"
	"github.com/latchid/latch/services/gateway/router"
	"github.com/latchid/latch/services/gateway/web"
)

const usage = `usage: gateway <command>

commands:
  serve         serve the web UI and the APIs on PORT (default 3000)
  healthcheck   exit 0 when the server on PORT answers /readyz with 200 (container healthchecks)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gateway:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("unknown command")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve":
	case "healthcheck":
		return observe.Probe(ctx, envconf.New(getenv).Int("PORT", 3000))
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w %q", errUsage, cmd)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("service", "gateway")
	log.Info("starting", "config", cfg)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	srv := &serve.Server{Handler: a.handler, Delay: cfg.ShutdownDelay, Drain: serve.DefaultDrain, Log: log}
	a.obs.Require("serving", srv.Ready)
	return srv.ListenAndRun(ctx, cfg.Port)
}

// app is the wired gateway.
type app struct {
	redis    *redis.Client
	follower *revocation.Follower
	obs      *observe.Observer
	tracing  *tracing.Tracing
	handler  http.Handler
}

func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	tr, err := tracing.Setup(ctx, cfg.Tracing, log)
	if err != nil {
		return nil, err
	}
	a := &app{tracing: tr}
	if cfg.RedisURL != "" {
		if a.redis, err = redisclient.Open(cfg.RedisURL, log); err != nil {
			a.Close()
			return nil, err
		}
	}
	// Readiness is the gateway's own: an upstream that is down gets 502s
	// from every replica alike, and pulling the gateway would only hide them.
	obs := observe.New("gateway", log)
	if a.redis != nil {
		obs.Report("redis", func(ctx context.Context) error { return a.redis.Ping(ctx).Err() })
	}
	a.obs = obs
	// Traced inside the metrics: a span per upstream call, traceparent sent
	// on so auth and tasks continue the browser request's trace. Off, the
	// transport is router.NewTransport's own.
	transport := newUpstreamMetrics(obs, a.tracing.Transport(router.NewTransport(cfg.UpstreamTimeout)),
		map[string][]*url.URL{"auth": cfg.AuthURLs, "tasks": cfg.TasksURLs})
	retried := retryCounter(obs)
	auth := router.NewBalancer("auth", cfg.AuthURLs, transport, log, retried)
	tasks := router.NewBalancer("tasks", cfg.TasksURLs, transport, log, retried)
	// The token cache follows auth's revocation feed, so a session revoked
	// on any auth replica stops being exchanged within the feed's bound.
	denied := revocation.NewSet(0, nil)
	a.follower, err = revocation.Follow(ctx, denied, revocation.FollowerConfig{
		URL: auth.URL().JoinPath("/api/auth", revocation.Path).String(),
		// Its own balancer over an untraced, unmetered transport: the long
		// polls are background work of the gateway's, not requests of a
		// browser's, so they make no spans and do not count as upstream
		// traffic (the follower has its own metrics).
		Client: &http.Client{Transport: router.NewBalancer("auth", cfg.AuthURLs, router.NewTransport(cfg.UpstreamTimeout), log, nil)},
		// Under the transport's response-header timeout (UPSTREAM_TIMEOUT).
		Wait:   max(time.Second, min(revocation.MaxWait, cfg.UpstreamTimeout-2*time.Second)),
		Logger: log,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	obs.WatchRevocations(a.follower, false)
	tokens, err := exchange.New(exchange.Config{
		TokenURL:  auth.URL().JoinPath("/api/auth/token").String(),
		Client:    &http.Client{Transport: router.ForwardClient(auth), Timeout: cfg.UpstreamTimeout},
		CacheSize: cfg.TokenCacheSize,
		Redis:     a.redis,
		Logger:    log,
		Observe:   exchangeCounter(obs),
		// Revocations: only known revocations evict; tasks enforces the outage policy.
		Revocations: denied,
	})
	if err != nil {
		a.Close()
		return nil, err
	}
	cookies := exchange.NewCookies(cfg.SecureCookies)
	routes := router.New(router.Config{
		Auth:            auth,
		Tasks:           tasks,
		FrontendOrigins: cfg.FrontendOrigins,
		Cookies:         cookies,
		TrustedProxies:  cfg.TrustedProxies,
	}, tokens, web.Handler(web.Settings{SocialProviders: cfg.SocialProviders}), log)
	// Switching organization through the gateway drops the session's token,
	// so the browser's next request carries the new org claim.
	a.handler = obs.Wrap(a.tracing.Handler(exchange.EvictOnSwitch(tokens, cookies, routes)))
	return a, nil
}

// Close runs once the server has drained, so the last spans are flushed.
func (a *app) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), tracing.FlushTimeout)
	defer cancel()
	_ = a.tracing.Shutdown(ctx) // a failure is logged there
	if a.follower != nil {
		a.follower.Close()
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
}
