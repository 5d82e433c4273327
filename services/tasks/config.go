package main

import (
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/tracing"
)

// Config is the tasks service's configuration, from the environment.
type Config struct {
	Port            int
	GRPCPort        int
	DatabaseURL     string
	RedisURL        string
	JWKSURL         string
	JWTIssuer       string
	JWTAudience     string
	FrontendOrigins []string
	AutoMigrate     bool
	Pool            sqldb.Pool
	JWKSRefresh     time.Duration
	// RevocationFeedURL is the auth service's revocation feed: by default the
	// JWKS URL's sibling "revocations" (docs/revocation.md).
	RevocationFeedURL string
	// RevocationMaxStale bounds how long tokens are accepted on the last
	// known deny set while the feed cannot be reached; past it they are
	// refused with 503 and /readyz fails.
	RevocationMaxStale time.Duration
	// ShutdownDelay: after SIGTERM, serve on (unready, Connection: close)
	// this long before closing the listener (pkg/serve).
	ShutdownDelay time.Duration
	LogLevel      slog.Level
	Tracing       tracing.Config
}

func loadConfig(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	dataDir := e.String("LATCH_DATA_DIR", ".data")
	cfg := Config{
		Port:            e.Int("PORT", 8000),
		GRPCPort:        e.Int("GRPC_PORT", 9000),
		DatabaseURL:     e.String("DATABASE_URL", "sqlite:"+filepath.Join(dataDir, "tasks.db")),
		RedisURL:        e.String("REDIS_URL", ""),
		FrontendOrigins: e.List("FRONTEND_URL"),
		AutoMigrate:     e.Bool("AUTO_MIGRATE", true),
		Pool:            sqldb.PoolFromEnv(e),
		JWKSRefresh:     e.Duration("JWKS_REFRESH_INTERVAL", 5*time.Minute),
		ShutdownDelay:   e.Duration("SHUTDOWN_DELAY", 0),
		Tracing:         tracing.FromEnv(e, "tasks"),
	}
	if cfg.ShutdownDelay < 0 {
		e.Fail("SHUTDOWN_DELAY must not be negative")
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(e.String("LOG_LEVEL", "info"))); err != nil {
		e.Fail("LOG_LEVEL: %v", err)
	}
	// The auth service's base URL, read as Better Auth reads it: without a
	// path the API is at /api/auth; tokens' iss and aud are its origin.
	auth := e.URL("BETTER_AUTH_URL", "http://localhost:3001")
	apiBase := *auth
	if apiBase.Path == "" || apiBase.Path == "/" {
		apiBase.Path = "/api/auth"
	}
	origin := auth.Scheme + "://" + auth.Host
	cfg.JWKSURL = e.URL("JWKS_URL", strings.TrimRight(apiBase.String(), "/")+"/jwks").String()
	feedURL, err := revocation.FeedURL(cfg.JWKSURL)
	if err != nil {
		feedURL = "" // JWKS_URL's own error is reported
	}
	cfg.RevocationFeedURL = e.URL("REVOCATION_FEED_URL", feedURL).String()
	cfg.RevocationMaxStale = e.Duration("REVOCATION_MAX_STALE", revocation.DefaultMaxStale)
	if cfg.RevocationMaxStale <= 0 {
		e.Fail("REVOCATION_MAX_STALE must be positive")
	}
	cfg.JWTIssuer = e.String("JWT_ISSUER", origin)
	cfg.JWTAudience = e.String("JWT_AUDIENCE", origin)
	for _, o := range cfg.FrontendOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" {
			e.Fail("FRONTEND_URL must be a comma-separated list of origins like http://localhost:3000, got %q", o)
		}
	}
	return cfg, e.Err()
}

// LogValue prints the configuration at start with credentials masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.Int("grpc_port", c.GRPCPort),
		slog.String("database", envconf.Redact(c.DatabaseURL)),
		slog.String("redis", envconf.Redact(c.RedisURL)),
		slog.String("jwks_url", c.JWKSURL),
		slog.String("jwt_issuer", c.JWTIssuer),
		slog.String("jwt_audience", c.JWTAudience),
		slog.Any("frontend_origins", c.FrontendOrigins),
		slog.String("jwks_refresh", c.JWKSRefresh.String()),
		slog.String("revocation_feed_url", c.RevocationFeedURL),
		slog.String("revocation_max_stale", c.RevocationMaxStale.String()),
		slog.String("shutdown_delay", c.ShutdownDelay.String()),
		slog.Any("tracing", c.Tracing),
	)
}
