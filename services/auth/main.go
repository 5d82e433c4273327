// Command auth is Latch's identity provider: Better Auth's HTTP API over
// Better Auth's schema, signing EdDSA JWTs.
//
//	auth serve         serve the API (migrating first unless AUTO_MIGRATE=false)
//	auth migrate       apply database migrations and exit
//	auth keys list     show the signing keys and what each does now
//	auth keys rotate   publish a new signing key and retire the current one
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // DATABASE_TIMEZONE must resolve in minimal container images too

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/serve"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/httpapi"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/password"
	"github.com/latchid/latch/services/auth/signing"
	"github.com/latchid/latch/services/auth/sqlstore"
)

const usage = `usage: auth <command>

commands:
  serve         serve the API on PORT (default 3001)
  migrate       apply database migrations and exit
  keys list     list signing keys
  keys rotate   publish a new signing key; the current one stops signing after JWKS_PUBLISH_DELAY
  healthcheck   exit 0 when the server on PORT answers /readyz with 200 (container healthchecks)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "auth:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("unknown command")

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	if cmd == "help" || cmd == "-h" || cmd == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if cmd == "healthcheck" {
		return observe.Probe(ctx, envconf.New(getenv).Int("PORT", 3001))
	}
	if len(args) > 1 && cmd == "keys" {
		cmd += " " + args[1]
	}
	commands := map[string]func(context.Context, Config, *slog.Logger) error{
		"serve":   runServe,
		"migrate": func(ctx context.Context, cfg Config, _ *slog.Logger) error { return runMigrate(ctx, cfg, stdout) },
		"keys list": func(ctx context.Context, cfg Config, log *slog.Logger) error {
			return runKeys(ctx, cfg, log, stdout, false)
		},
		"keys rotate": func(ctx context.Context, cfg Config, log *slog.Logger) error {
			return runKeys(ctx, cfg, log, stdout, true)
		},
	}
	command, ok := commands[cmd]
	if !ok {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w %q", errUsage, cmd)
	}
	log := newLogger(getenv, stderr)
	cfg, err := loadConfig(getenv)
	if err == nil && cmd != "migrate" { // migrations need no secret; don't make one for them
		err = cfg.resolveSecret(getenv, log)
	}
	if err != nil {
		return err
	}
	return command(ctx, cfg, log)
}

func newLogger(getenv func(string) string, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(getenv("LOG_LEVEL")))
	opts := &slog.HandlerOptions{Level: level}
	if getenv("LOG_FORMAT") == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts)).With("service", "auth")
}

// app is the wired service: the database, the rules, the issuer and the
// HTTP handler over them.
type app struct {
	db      *sqldb.DB
	ids     *identity.Service
	issuer  *signing.Issuer
	obs     *observe.Observer
	handler http.Handler
}

func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.Pool)
	if err != nil {
		return nil, err
	}
	if cfg.AutoMigrate {
		if _, err := sqlstore.Migrate(ctx, db); err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	obs := observe.New("auth", log)
	obs.WatchDB("auth", sqlDB)
	metrics := newAuthMetrics(obs)
	ids := identity.NewService(countingStore{sqlstore.NewIdentityStore(db, cfg.DatabaseZone), metrics}, passwordHasher{}, password.Length, cfg.Policy, nil)
	issuer, err := signing.NewIssuer(countingKeyStore{sqlstore.NewKeyStore(db, cfg.DatabaseZone), metrics}, cfg.Keyring, signing.Config{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TokenTTL: cfg.JWTTTL,
		GracePeriod: cfg.JWKSGracePeriod, RotationInterval: cfg.JWKSRotation,
		PublishDelay: cfg.JWKSPublishDelay, CacheTTL: cfg.KeyCacheTTL,
	}, nil)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	handler, err := httpapi.New(httpapi.Config{
		BaseURL: cfg.BaseURL, Secret: cfg.Secret, TrustedOrigins: cfg.TrustedOrigins,
		Issuer: cfg.JWTIssuer, JWKSMaxAge: cfg.JWKSPublishDelay,
	}, ids, countingIssuer{issuer, metrics}, log)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	obs.Registerer().MustRegister(newKeysCollector(issuer))
	// Ready once a key can be published: the JWKS is what every resource server needs from us.
	obs.Require("signing_keys", func(ctx context.Context) error { _, err := issuer.JWKS(ctx); return err })
	return &app{db: db, ids: ids, issuer: issuer, obs: obs, handler: obs.Wrap(handler)}, nil
}

func (a *app) Close() error { return a.db.Close() }

func runServe(ctx context.Context, cfg Config, log *slog.Logger) error {
	log.Info("starting", "config", cfg)
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	return serve.ListenAndRun(ctx, cfg.Port, a.handler, log)
}

func runMigrate(ctx context.Context, cfg Config, stdout io.Writer) error {
	return sqldb.MigrateCommand(ctx, cfg.DatabaseURL, cfg.Pool, sqlstore.Migrate, stdout)
}

func runKeys(ctx context.Context, cfg Config, log *slog.Logger, stdout io.Writer, rotate bool) error {
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if rotate {
		k, err := a.issuer.Rotate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new key %s (%s) published; it signs from %s, when the current key retires\n",
			k.ID, k.Alg, k.CreatedAt.Add(cfg.JWKSPublishDelay).Format(time.RFC3339))
	}
	keys, err := a.issuer.List(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tSTOPS SIGNING")
	for _, k := range keys {
		stops := "-"
		if k.ExpiresAt != nil {
			stops = k.ExpiresAt.Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.ID, k.Alg, k.State, k.CreatedAt.Format(time.RFC3339), stops)
	}
	return tw.Flush()
}

// passwordHasher adapts the password package to identity.Hasher.
type passwordHasher struct{}

func (passwordHasher) Hash(pw string) (string, error)       { return password.Hash(pw) }
func (passwordHasher) Verify(hash, pw string) (bool, error) { return password.Verify(hash, pw) }
