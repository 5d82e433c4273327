package main

import (
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/pkg/tracing"
)

// Config is the gateway's configuration, from the environment.
type Config struct {
	Port int
	// AuthURLs and TasksURLs are each upstream's replicas: AUTH_URL and
	// TASKS_URL, one origin or several separated by commas.
	AuthURLs        []*url.URL
	TasksURLs       []*url.URL
	FrontendOrigins []string
	// SecureCookies: BETTER_AUTH_URL is https, so auth names its cookies
	// __Secure-better-auth.* and reads no others.
	SecureCookies   bool
	RedisURL        string
	UpstreamTimeout time.Duration
	TokenCacheSize  int
	SocialProviders []string
	ShutdownDelay   time.Duration
	// TrustedProxies (TRUSTED_PROXIES, comma-separated CIDRs or addresses)
	// are the proxies in front of the gateway (an ingress) whose
	// X-Forwarded-For and X-Forwarded-Proto are believed and passed on.
	TrustedProxies forwarded.Proxies
	LogLevel       slog.Level
	Tracing        tracing.Config
}

func loadConfig(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	cfg := Config{
		Port:            e.Int("PORT", 3000),
		AuthURLs:        replicas(e, getenv, "AUTH_URL", "http://localhost:3001"),
		TasksURLs:       replicas(e, getenv, "TASKS_URL", "http://localhost:8000"),
		FrontendOrigins: e.List("FRONTEND_URL"),
		SecureCookies:   e.URL("BETTER_AUTH_URL", "http://localhost:3000").Scheme == "https",
		RedisURL:        e.String("REDIS_URL", ""),
		UpstreamTimeout: e.Duration("UPSTREAM_TIMEOUT", 30*time.Second),
		TokenCacheSize:  e.Int("TOKEN_CACHE_SIZE", 100_000),
		SocialProviders: e.List("AUTH_SOCIAL_PROVIDERS"),
		ShutdownDelay:   e.Duration("SHUTDOWN_DELAY", 0),
		Tracing:         tracing.FromEnv(e, "gateway"),
	}
	proxies, err := forwarded.Parse(e.List("TRUSTED_PROXIES"))
	if err != nil {
		e.Fail("TRUSTED_PROXIES must be comma-separated CIDRs or IP addresses of the proxies in front of the gateway (an ingress, a load balancer): %v", err)
	}
	cfg.TrustedProxies = proxies
	if err := cfg.LogLevel.UnmarshalText([]byte(e.String("LOG_LEVEL", "info"))); err != nil {
		e.Fail("LOG_LEVEL: %v", err)
	}
	for _, o := range cfg.FrontendOrigins {
		if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" {
			e.Fail("FRONTEND_URL must be a comma-separated list of origins like http://localhost:5173, got %q", o)
		}
	}
	if cfg.UpstreamTimeout <= 0 {
		e.Fail("UPSTREAM_TIMEOUT must be positive")
	}
	if cfg.TokenCacheSize <= 0 {
		e.Fail("TOKEN_CACHE_SIZE must be positive")
	}
	if cfg.ShutdownDelay < 0 {
		e.Fail("SHUTDOWN_DELAY must not be negative")
	}
	return cfg, e.Err()
}

// replicas reads an upstream's origins: one, or several separated by
// commas (the gateway spreads requests across them). Each must be an
// absolute http(s) URL without a path, and none may repeat (a repeat would
// silently double one replica's share).
func replicas(e *envconf.Reader, getenv func(string) string, key, def string) []*url.URL {
	raw := strings.TrimSpace(getenv(key))
	if raw == "" {
		raw = def
	}
	var out []*url.URL
	seen := map[string]bool{}
	for _, entry := range strings.Split(raw, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			e.Fail("%s has an empty entry: %q", key, raw)
			continue
		}
		// Each entry gets envconf's URL check, under the same key.
		one := envconf.New(func(string) string { return entry })
		u := one.URL(key, "")
		switch {
		case one.Err() != nil:
			e.Fail("%w", one.Err())
			continue
		case u.Path != "" && u.Path != "/":
			e.Fail("AUTH_URL and TASKS_URL are origins (the gateway keeps request paths as they are), got %q", entry)
			continue
		case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			e.Fail("%s entries are origins like http://tasks-1:8000, got %q", key, entry)
			continue
		}
		origin := u.Scheme + "://" + u.Host
		if seen[origin] {
			e.Fail("%s lists %s twice", key, origin)
			continue
		}
		seen[origin] = true
		out = append(out, u)
	}
	if len(out) == 0 {
		out = append(out, &url.URL{Scheme: "http", Host: "localhost"})
	}
	return out
}

// LogValue prints the configuration at start with credentials masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.Any("auth_url", origins(c.AuthURLs)),
		slog.Any("tasks_url", origins(c.TasksURLs)),
		slog.Any("frontend_origins", c.FrontendOrigins),
		slog.Bool("secure_cookies", c.SecureCookies),
		slog.String("redis", envconf.Redact(c.RedisURL)),
		slog.String("upstream_timeout", c.UpstreamTimeout.String()),
		slog.Int("token_cache_size", c.TokenCacheSize),
		slog.Any("social_providers", c.SocialProviders),
		slog.String("shutdown_delay", c.ShutdownDelay.String()),
		slog.String("trusted_proxies", c.TrustedProxies.String()),
		slog.Any("tracing", c.Tracing),
	)
}

func origins(us []*url.URL) []string {
	out := make([]string, len(us))
	for i, u := range us {
		out[i] = u.String()
	}
	return out
}
