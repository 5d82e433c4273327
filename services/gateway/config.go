package main

import (
	"log/slog"
	"net/url"
	"time"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/tracing"
)

// Config is the gateway's configuration, from the environment.
type Config struct {
	Port            int
	AuthURL         *url.URL
	TasksURL        *url.URL
	FrontendOrigins []string
	RedisURL        string
	UpstreamTimeout time.Duration
	TokenCacheSize  int
	SocialProviders []string
	LogLevel        slog.Level
	Tracing         tracing.Config
}

func loadConfig(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	cfg := Config{
		Port:            e.Int("PORT", 3000),
		AuthURL:         e.URL("AUTH_URL", "http://localhost:3001"),
		TasksURL:        e.URL("TASKS_URL", "http://localhost:8000"),
		FrontendOrigins: e.List("FRONTEND_URL"),
		RedisURL:        e.String("REDIS_URL", ""),
		UpstreamTimeout: e.Duration("UPSTREAM_TIMEOUT", 30*time.Second),
		TokenCacheSize:  e.Int("TOKEN_CACHE_SIZE", 100_000),
		SocialProviders: e.List("AUTH_SOCIAL_PROVIDERS"),
		Tracing:         tracing.FromEnv(e, "gateway"),
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(e.String("LOG_LEVEL", "info"))); err != nil {
		e.Fail("LOG_LEVEL: %v", err)
	}
	for _, u := range []*url.URL{cfg.AuthURL, cfg.TasksURL} {
		if u.Path != "" && u.Path != "/" {
			e.Fail("AUTH_URL and TASKS_URL are origins (the gateway keeps request paths as they are), got %q", u.String())
		}
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
	return cfg, e.Err()
}

// LogValue prints the configuration at start with credentials masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.String("auth_url", c.AuthURL.String()),
		slog.String("tasks_url", c.TasksURL.String()),
		slog.Any("frontend_origins", c.FrontendOrigins),
		slog.String("redis", envconf.Redact(c.RedisURL)),
		slog.String("upstream_timeout", c.UpstreamTimeout.String()),
		slog.Int("token_cache_size", c.TokenCacheSize),
		slog.Any("social_providers", c.SocialProviders),
		slog.Any("tracing", c.Tracing),
	)
}
