// Command auth is Latch's identity provider: Better Auth's HTTP API over
// Better Auth's schema, signing EdDSA JWTs.
//
//	auth serve         serve the API (migrating first unless AUTO_MIGRATE=false)
//	auth migrate       apply database migrations and exit
//	auth keys list     show the signing keys and what each does now
//	auth keys rotate   publish a new signing key and retire the current one
//	auth clients …     register, list and revoke service clients (clients.go)
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
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	_ "time/tzdata" // DATABASE_TIMEZONE must resolve in minimal container images too

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/serve"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/services/auth/clients"
	"github.com/latchid/latch/services/auth/feed"
	"github.com/latchid/latch/services/auth/google"
	"github.com/latchid/latch/services/auth/httpapi"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/mail"
	"github.com/latchid/latch/services/auth/oauth2api"
	"github.com/latchid/latch/services/auth/organization"
	"github.com/latchid/latch/services/auth/password"
	"github.com/latchid/latch/services/auth/ratelimit"
	"github.com/latchid/latch/services/auth/signing"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sweep"
)

const usage = `usage: auth <command>

commands:
  serve         serve the API on PORT (default 3001)
  migrate       apply database migrations and exit
  keys list     list signing keys
  keys rotate   publish a new signing key; the current one stops signing after JWKS_PUBLISH_DELAY
  clients create --name NAME --scopes "a b"   register a service client; prints its secret once
  clients list                                list service clients
  clients revoke ID                           stop a client from getting new tokens
  audit list [--user ID] [--since 24h|RFC3339] [--type a,b] [--limit N]   security events as JSON lines, newest first
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
	if len(args) > 1 && (cmd == "keys" || cmd == "clients" || cmd == "audit") {
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
	addClientCommands(commands, args, stdout)
	addAuditCommands(commands, args, stdout, time.Now)
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
	stop    context.CancelFunc // ends background work (the Google JWKS refresh)
	db      *sqldb.DB
	redis   *redis.Client // nil without REDIS_URL
	ids     *identity.Service
	issuer  *signing.Issuer
	clients *clients.Service
	obs     *observe.Observer
	tracing *tracing.Tracing
	sweeper *sweep.Sweeper // nil when SWEEP_INTERVAL is 0
	feed    *feed.Feed
	handler http.Handler
}

func newApp(ctx context.Context, cfg Config, log *slog.Logger) (*app, error) {
	db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.Pool)
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	a := &app{stop: stop, db: db, obs: observe.New("auth", log)}
	if err := a.wire(ctx, bg, cfg, log); err != nil {
		_ = a.Close()
		return nil, err
	}
	return a, nil
}

// wire builds the rest of the app on its database; on an error, Close
// releases whatever it had opened so far.
func (a *app) wire(ctx, bg context.Context, cfg Config, log *slog.Logger) error {
	db, obs := a.db, a.obs
	if cfg.AutoMigrate {
		if _, err := sqlstore.Migrate(ctx, db); err != nil {
			return err
		}
	}
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return err
	}
	obs.WatchDB("auth", sqlDB)
	if db.PG != nil {
		obs.WatchPool("auth", db.PG)
	}
	metrics := newAuthMetrics(obs)
	identityStore := sqlstore.NewIdentityStore(db, cfg.DatabaseZone)
	a.ids = identity.NewService(countingStore{identityStore, metrics}, passwordHasher{}, password.Length, cfg.Policy, nil)
	if cfg.SweepInterval > 0 {
		a.sweeper = sweep.New(identityStore, sweep.Config{Every: cfg.SweepInterval, AuditRetention: cfg.AuditRetention}, obs.Registerer(), log)
	}
	mailer, err := newMailer(cfg)
	if err != nil {
		return err
	}
	mailPolicy := cfg.MailPolicy
	mailPolicy.Secret = cfg.Secret // verification tokens are signed like Better Auth's, with its secret
	a.ids.UseMail(mailer, mailPolicy)
	a.ids.UseAccountPolicy(cfg.AccountPolicy)
	if cfg.Plugins.TwoFactor {
		policy := identity.DefaultTwoFactorPolicy()
		policy.Issuer = cfg.TwoFactorIssuer
		// Secrets and backup codes sealed as Better Auth's symmetricEncrypt seals them, with every configured secret.
		a.ids.UseTwoFactor(identityStore, cfg.Keyring, policy)
	}
	var orgs *organization.Service
	if cfg.Plugins.Organization {
		orgs = organization.NewService(identityStore, mailer, invitationLink(cfg.BaseURL), organization.DefaultPolicy(), nil)
	}
	var providers []identity.OAuthProvider
	if cfg.Google.ClientID != "" {
		g, err := google.New(bg, google.Config{
			ClientID: cfg.Google.ClientID, ClientSecret: cfg.Google.ClientSecret,
			RedirectURL: cfg.MailPolicy.APIBaseURL + "/callback/google",
			Issuer:      cfg.Google.Issuer, AuthURL: cfg.Google.AuthURL, TokenURL: cfg.Google.TokenURL, JWKSURL: cfg.Google.JWKSURL,
		}, log)
		if err != nil {
			return err
		}
		providers = append(providers, g)
	}
	a.ids.UseOAuth(cfg.Linking, providers...)
	a.issuer, err = signing.NewIssuer(countingKeyStore{sqlstore.NewKeyStore(db, cfg.DatabaseZone), metrics}, cfg.Keyring, signing.Config{
		Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience, TokenTTL: cfg.JWTTTL,
		GracePeriod: cfg.JWKSGracePeriod, RotationInterval: cfg.JWKSRotation,
		PublishDelay: cfg.JWKSPublishDelay, CacheTTL: cfg.KeyCacheTTL,
	}, nil)
	if err != nil {
		return err
	}
	if cfg.RedisURL != "" {
		// Redis here only counts requests, and a failed count lets the
		// request through: the client fails fast (pkg/redisclient).
		if a.redis, err = redisclient.Open(cfg.RedisURL, log); err != nil {
			return err
		}
	}
	// Every revocation is written with its change and wakes the feed's long
	// polls here, and through Redis on the other replicas (docs/revocation.md).
	a.feed = feed.New(sqlstore.NewRevocationFeed(db), feed.Config{Redis: a.redis, Logger: log})
	retention := revocationRetention(cfg)
	identityStore.UseRevocations(retention, a.feed.Committed)
	clientStore := sqlstore.NewClientStore(db)
	clientStore.UseRevocations(retention, a.feed.Committed)
	registerFeedMetrics(obs, a.feed)
	a.clients = clients.NewService(clientStore, a.issuer, cfg.ClientTokenTTL, nil)
	handler, err := httpapi.New(httpapi.Config{
		BaseURL: cfg.BaseURL, Secret: cfg.Secret, TrustedOrigins: cfg.TrustedOrigins,
		Issuer: cfg.JWTIssuer, JWKSMaxAge: cfg.JWKSPublishDelay,
		RateLimit:      rateLimit(cfg, a.redis, metrics),
		TrustedProxies: cfg.TrustedProxies, ClientIPHeader: cfg.RateLimitIPHeader,
		Plugins: cfg.Plugins, Organizations: orgs,
		// The service clients' token endpoint, which Better Auth has not:
		// behind the same client address rule and rate limits.
		Beside: map[string]http.Handler{oauth2api.TokenPath: oauth2api.New(basePathOf(cfg.BaseURL), a.clients, log)},
	}, a.ids, countingIssuer{a.issuer, metrics}, log)
	if err != nil {
		return err
	}
	handler = withFeed(cfg, handler, a.feed)
	if base, err := url.Parse(cfg.BaseURL); err == nil && base.Scheme == "https" {
		handler = httpapi.StrictTransport(handler)
	}
	obs.Registerer().MustRegister(newKeysCollector(a.issuer))
	// Ready once a key can be published: the JWKS is what every resource server needs from us.
	obs.Require("signing_keys", func(ctx context.Context) error { _, err := a.issuer.JWKS(ctx); return err })
	if rdb := a.redis; rdb != nil {
		// Reported, not required: without Redis the rate limits degrade, sign-in still works.
		obs.Report("redis", func(ctx context.Context) error { return rdb.Ping(ctx).Err() })
	}
	if a.tracing, err = tracing.Setup(ctx, cfg.Tracing, log); err != nil {
		return err
	}
	// Tracing inside observe: probes and /metrics make no spans. Off, it
	// returns the handler itself.
	a.handler = obs.Wrap(a.tracing.Handler(handler))
	return nil
}

// rateLimit is the limiter RATE_LIMIT asks for: counters in Redis when
// REDIS_URL is set, in this process otherwise; nil when off.
func rateLimit(cfg Config, rdb *redis.Client, m *authMetrics) *httpapi.RateLimit {
	if !cfg.RateLimit {
		return nil
	}
	var store httpapi.AccountStore = ratelimit.NewMemory()
	if rdb != nil {
		// While Redis keeps failing, one request a second asks it; the rest go
		// through at once instead of each waiting out its timeout.
		store = ratelimit.NewBreaker(ratelimit.NewRedis(rdb, cfg.RateLimitPrefix), ratelimit.DefaultProbeEvery)
	}
	return &httpapi.RateLimit{Limiter: countingLimiter{store, m}, Rules: cfg.RateLimitRules,
		Accounts: store, AccountRule: cfg.RateLimitAccount}
}

// Close runs once the server has drained, so the last spans are flushed.
// It is nil-safe: newApp calls it on a half-wired app when wiring fails.
func (a *app) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), tracing.FlushTimeout)
	defer cancel()
	_ = a.tracing.Shutdown(ctx) // a failure is logged there
	a.stop()
	if a.redis != nil {
		_ = a.redis.Close()
	}
	return a.db.Close()
}

func runServe(ctx context.Context, cfg Config, log *slog.Logger) error {
	log.Info("starting", "config", cfg)
	logRateLimit(cfg, log)
	if cfg.SMTPURL == "" {
		log.Info("mail goes to the outbox file, one JSON object per line: read links there", "outbox", cfg.MailOutbox)
	}
	a, err := newApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.sweeper != nil {
		// Only a serving process sweeps (not `auth keys`, `auth clients`),
		// and it stops before the database closes.
		sweepCtx, stopSweep := context.WithCancel(ctx)
		swept := make(chan struct{})
		go func() { defer close(swept); a.sweeper.Run(sweepCtx) }()
		defer func() { stopSweep(); <-swept }()
	}
	// Only a serving process watches the feed's head; when ctx ends, held
	// long polls are answered so the server drains at once.
	feedCtx, stopFeed := context.WithCancel(ctx)
	fed := make(chan struct{})
	go func() { defer close(fed); a.feed.Run(feedCtx) }()
	defer func() { stopFeed(); <-fed }()
	srv := &serve.Server{Handler: a.handler, Delay: cfg.ShutdownDelay, Drain: serve.DefaultDrain, Log: log}
	a.obs.Require("serving", srv.Ready)
	return srv.ListenAndRun(ctx, cfg.Port)
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

// logRateLimit says at start whether requests are limited, and where counted.
func logRateLimit(cfg Config, log *slog.Logger) {
	if !cfg.RateLimit {
		log.Info("rate limiting off (RATE_LIMIT=on to enable; it is on by default for a base URL that is not localhost)")
		return
	}
	store := "in-process memory (set REDIS_URL to share counters between replicas)"
	if cfg.RedisURL != "" {
		store = "redis"
	}
	ip := "the connection's address (TRUSTED_PROXIES is empty)"
	if !cfg.TrustedProxies.Empty() {
		ip = "the right-most X-Forwarded-For entry not in TRUSTED_PROXIES " + cfg.TrustedProxies.String()
		if cfg.RateLimitIPHeader != "" {
			ip = "header " + cfg.RateLimitIPHeader + " from TRUSTED_PROXIES " + cfg.TrustedProxies.String() + ", else " + ip
		}
	}
	r := cfg.RateLimitRules
	log.Info("rate limiting on", "store", store, "client_ip", ip,
		"default", fmt.Sprintf("%d/%s", r.Default.Max, r.Default.Window),
		"credentials", fmt.Sprintf("%d/%s", r.Credentials.Max, r.Credentials.Window),
		"mail", fmt.Sprintf("%d/%s", r.Mail.Max, r.Mail.Window),
		"sign_in_failures_per_account", fmt.Sprintf("%d/%s from addresses it has not signed in from", cfg.RateLimitAccount.Max, cfg.RateLimitAccount.Window))
}

// newMailer sends through SMTP_URL when set, else appends to the outbox file.
func newMailer(cfg Config) (identity.Mailer, error) {
	if cfg.SMTPURL != "" {
		return mail.ParseSMTPURL(cfg.SMTPURL, cfg.MailFrom)
	}
	return mail.NewOutbox(cfg.MailOutbox)
}

// passwordHasher adapts the password package to identity.Hasher.
type passwordHasher struct{}

func (passwordHasher) Hash(pw string) (string, error)       { return password.Hash(pw) }
func (passwordHasher) Verify(hash, pw string) (bool, error) { return password.Verify(hash, pw) }

// invitationLink is where an invitation mail points: the accept page at the
// public origin (BETTER_AUTH_URL's scheme and host; behind the gateway, the
// web UI's origin), /accept-invitation/{id}.
func invitationLink(baseURL string) func(string) string {
	origin := strings.TrimRight(baseURL, "/")
	if u, err := url.Parse(baseURL); err == nil && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return func(id string) string { return origin + "/accept-invitation/" + url.PathEscape(id) }
}
