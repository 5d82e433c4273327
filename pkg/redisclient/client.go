// Package redisclient opens the Redis client every Latch service uses, set
// up for how Latch uses Redis: as a shared optimization (rate-limit
// counters, a token cache, a JWKS copy) that a request never waits on for
// long, with go-redis's own log lines in the service's JSON log.
package redisclient

import (
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
)

// Open parses rawURL (redis:// or rediss://) and returns a client whose
// calls end at their context's deadline and are not retried.
//
// go-redis's defaults suit a store the caller must not do without, not
// one it can skip: without ContextTimeoutEnabled a call on a connection
// that accepted and never answers waits the read timeout (3 s) whatever
// the caller's deadline; its dial retries (5, 100 ms apart) and command
// retries (3, with backoff) add up to seconds more while Redis is down.
// Every caller here falls back when a call fails (the limiter lets the
// request through, the token cache asks auth, the JWKS copy stays in
// memory), so a fast failure is what it needs. Callers bound each call
// with their own context deadline.
func Open(rawURL string, log *slog.Logger) (*redis.Client, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = 1
	opts.MaxRetries = -1
	RouteLogs(log)
	return redis.NewClient(opts), nil
}
