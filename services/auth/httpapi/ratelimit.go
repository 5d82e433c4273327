package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/services/auth/ratelimit"
)

// Limiter counts requests per key (Redis for a cluster, memory for one process).
type Limiter interface {
	Consume(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
}

// RateLimit configures request limiting per client IP and path (the
// client as Config.TrustedProxies says, see clientAddress).
type RateLimit struct {
	Limiter Limiter
	Rules   ratelimit.Rules
	// Accounts, when set, also limits failed sign-ins per account to
	// AccountRule (accountLimit).
	Accounts    AccountStore
	AccountRule ratelimit.Rule

	outage storeOutage
}

// storeOutage logs the store's failures, each a request let through
// unlimited, through pkg/redisclient's throttle (Latch's one rule for Redis
// error logs: a kind of line at most once per 30 s, carrying the number
// left out since), so an outage, or an attack during one, costs a few lines
// and not one per request; auth_rate_limit_store_errors_total counts every
// failure. When the store answers again, a line says limiting resumed, with
// how long the outage lasted and how many requests it let through.
type storeOutage struct {
	log     *redisclient.Logger
	failing atomic.Bool // read on every request; mu is taken only around failures

	mu         sync.Mutex
	since      time.Time // first failure of this outage
	letThrough int       // requests let through since the outage began
}

func (o *storeOutage) failed(ctx context.Context, err error, now time.Time) {
	o.mu.Lock()
	if !o.failing.Load() {
		o.failing.Store(true)
		o.since, o.letThrough = now, 0
	}
	o.letThrough++
	o.mu.Unlock()
	o.log.Log(ctx, now, slog.LevelWarn, "rate limit store failed; requests go through unlimited until it answers", "err", err)
}

func (o *storeOutage) answered(ctx context.Context, now time.Time) {
	if !o.failing.Load() {
		return
	}
	o.mu.Lock()
	if !o.failing.Load() { // another request saw it first
		o.mu.Unlock()
		return
	}
	o.failing.Store(false)
	letThrough, outage := o.letThrough, now.Sub(o.since).Round(time.Millisecond)
	o.mu.Unlock()
	o.log.Log(ctx, now, slog.LevelInfo, "rate limit store answers again; limiting resumed",
		"let_through", letThrough, "outage", outage.String())
}

// rateLimit answers 429 with X-Retry-After once a client used up its
// path's rule, as Better Auth's limiter does. When the counter store fails
// the request goes through: an outage of Redis should not lock every user
// out; each request still pays its password hash. The outage is logged
// when it starts and ends, not per request.
func (h *handler) rateLimit(c *gin.Context) {
	rl := h.limit
	if rl == nil {
		return
	}
	path := strings.TrimRight(strings.TrimPrefix(c.Request.URL.Path, h.basePath), "/")
	key := h.limitKey(c) + "|" + path
	ctx := c.Request.Context()
	d, err := rl.Limiter.Consume(ctx, key, rl.Rules.For(path), time.Now())
	if err != nil {
		rl.outage.failed(ctx, err, time.Now())
		return
	}
	rl.outage.answered(ctx, time.Now())
	if !d.Allowed {
		c.Header("X-Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
		c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"message": "Too many requests. Please try again later."})
	}
}

// limitKey is who a request is counted as: its client's address, except
// for GET /token with a session whose signature verifies, which counts per
// session. /token is the gateway's token exchange, made from the gateway's
// address for every cookie user at once: counted per address, anonymous
// /token calls through the gateway would use up every user's exchange.
// Per session, a client gets a new bucket only by signing in anew, which
// the credentials rule limits; made-up sessions (no valid signature,
// unsigned bearer values) count against the address.
func (h *handler) limitKey(c *gin.Context) string {
	if c.Request.Method == http.MethodGet && strings.TrimRight(strings.TrimPrefix(c.Request.URL.Path, h.basePath), "/") == "/token" {
		if raw, ok := requestCookies(c.Request)[h.cookies.sessionToken()]; ok {
			if token, ok := signedcookie.Verify(raw, h.cookies.secret); ok {
				sum := sha256.Sum256([]byte(token))
				return "session:" + hex.EncodeToString(sum[:16])
			}
		}
	}
	if a, ok := clientAddr(c.Request); ok {
		return normalizeIP(a)
	}
	return "unknown"
}
