package httpapi

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
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
}

// rateLimit answers 429 with X-Retry-After once a client used up its
// path's rule, as Better Auth's limiter does. When the counter store fails
// the request goes through: an outage of Redis should not lock every user
// out; each request still pays its password hash.
func (h *handler) rateLimit(c *gin.Context) {
	rl := h.limit
	if rl == nil {
		return
	}
	path := strings.TrimRight(strings.TrimPrefix(c.Request.URL.Path, h.basePath), "/")
	key := limitIP(c.Request, rl.IPHeader) + "|" + path
	d, err := rl.Limiter.Consume(c.Request.Context(), key, rl.Rules.For(path), time.Now())
	if err != nil {
		h.log.WarnContext(c.Request.Context(), "rate limit store failed; request let through", "err", err)
		return
	}
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
