package httpapi

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/auth/ratelimit"
)

// Limiter counts requests per key (Redis for a cluster, memory for one process).
type Limiter interface {
	Consume(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
}

// RateLimit configures request limiting per client IP and path.
type RateLimit struct {
	Limiter Limiter
	Rules   ratelimit.Rules
	// IPHeader names a header that a trusted reverse proxy sets to the
	// client's address (X-Forwarded-For: its last entry). Empty: the
	// connection's peer address, and no header is believed.
	IPHeader string

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
	key := limitIP(c.Request, rl.IPHeader) + "|" + path
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

// limitIP is the address requests are counted under: the trusted proxy's
// header when one is configured and holds an address, else the peer.
func limitIP(r *http.Request, header string) string {
	if header != "" {
		v := r.Header.Get(header)
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:] // the entry our proxy appended; earlier ones are the client's say-so
		}
		if addr, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return normalizeIP(addr)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "unknown"
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown"
	}
	return normalizeIP(addr)
}
