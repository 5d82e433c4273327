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

// failLogEvery spaces the reminders while the store keeps failing.
const failLogEvery = 30 * time.Second

// storeOutage turns the store's failures into a few log lines instead of
// one per request (an attack during an outage would double the log): one
// when it starts failing, a reminder at most every failLogEvery saying how
// many requests went through unlimited, one when it answers again.
// auth_rate_limit_store_errors_total counts every failure.
type storeOutage struct {
	failing atomic.Bool // read on every request; mu is taken only around failures

	mu         sync.Mutex
	since      time.Time // first failure of this outage
	logged     time.Time // last line written
	letThrough int       // requests let through since the outage began
	unlogged   int       // of those, since the last line
}

func (o *storeOutage) failed(ctx context.Context, log *slog.Logger, err error, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.failing.Load() {
		o.failing.Store(true)
		o.since, o.logged, o.letThrough, o.unlogged = now, now, 1, 0
		log.WarnContext(ctx, "rate limit store failed; requests go through unlimited until it answers", "err", err)
		return
	}
	o.letThrough++
	o.unlogged++
	if now.Sub(o.logged) >= failLogEvery {
		log.WarnContext(ctx, "rate limit store still failing; requests go through unlimited", "err", err,
			"let_through", o.unlogged, "outage", now.Sub(o.since).Round(time.Second).String())
		o.logged, o.unlogged = now, 0
	}
}

func (o *storeOutage) answered(ctx context.Context, log *slog.Logger, now time.Time) {
	if !o.failing.Load() {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.failing.Load() { // another request saw it first
		return
	}
	o.failing.Store(false)
	log.InfoContext(ctx, "rate limit store answers again; limiting resumed",
		"let_through", o.letThrough, "outage", now.Sub(o.since).Round(time.Millisecond).String())
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
		rl.outage.failed(ctx, h.log, err, time.Now())
		return
	}
	rl.outage.answered(ctx, h.log, time.Now())
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
