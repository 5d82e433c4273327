package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keeps counters in Redis so every replica of the service counts the
// same requests. Each step is one Lua script: read, decide, write, atomically.
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	// Timeout bounds one decision, retries included. The client's own
	// budget (dial retries, then command retries) adds up to seconds when
	// Redis is down or hangs, and the caller lets the request through on
	// an error anyway: waiting longer only delays every sign-in.
	Timeout time.Duration
}

// DefaultTimeout is Redis.Timeout unless changed: a script run takes about
// a millisecond, so this leaves room for a loaded machine.
const DefaultTimeout = 250 * time.Millisecond

// NewRedis returns a limiter over rdb; keys start with prefix.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, Timeout: DefaultTimeout}
}

// consumeScript is decide() in Lua. KEYS[1] the counter hash; ARGV: now
// (ms), window (ms), max. Returns {allowed (0/1), retry-after ms}.
var consumeScript = redis.NewScript(`
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'c', 'l')
local count, last = tonumber(v[1]), tonumber(v[2])
if count == nil or last == nil or now - last >= window then
  redis.call('HSET', KEYS[1], 'c', 1, 'l', now)
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0}
end
if count >= max then
  return {0, last + window - now}
end
redis.call('HSET', KEYS[1], 'c', count + 1, 'l', now)
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`)

// Consume counts one request for key. A client that hangs up does not
// stop the count (the attempt happened), and so cannot make the store look
// failed to a Breaker, which would let the next second's requests through
// unlimited.
func (r *Redis) Consume(ctx context.Context, key string, rule Rule, now time.Time) (Decision, error) {
	ctx = context.WithoutCancel(ctx)
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	res, err := consumeScript.Run(ctx, r.rdb, []string{r.prefix + key},
		now.UnixMilli(), rule.Window.Milliseconds(), rule.Max).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("rate limit: redis: %w", err)
	}
	if len(res) != 2 {
		return Decision{}, fmt.Errorf("rate limit: redis answered %v", res)
	}
	return Decision{Allowed: res[0] == 1, RetryAfter: time.Duration(res[1]) * time.Millisecond}, nil
}

// String names the store in logs.
func (r *Redis) String() string { return "redis" }
