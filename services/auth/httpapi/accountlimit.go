package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/auth/ratelimit"
)

// AccountStore keeps the per-account sign-in counters and the addresses
// each account signed in from (ratelimit.Memory, or Redis behind a Breaker).
type AccountStore interface {
	Consume(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
	Peek(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
	Remember(ctx context.Context, key string, ttl time.Duration, now time.Time) error
	Remembers(ctx context.Context, key string, now time.Time) (bool, error)
}

// KnownAddressTTL is how long an address an account signed in from stays
// known to it (exempt from the account's lock).
const KnownAddressTTL = 30 * 24 * time.Hour

// accountLimit limits failed email sign-ins per account, beside the
// per-address limit, against guessing spread over many addresses. A
// stranger must not be able to lock the owner out, so:
//   - only failures count (401: wrong password or unknown email), and
//     only those from addresses the account has not signed in from;
//   - at the limit, sign-ins from unknown addresses are refused (429)
//     until the window has passed since the last counted failure: a
//     stranger's lock on the account ends one window after they stop;
//   - an address the account signed in from successfully in the last 30
//     days is known: it is never refused by the account's lock and its
//     failures do not count (the per-address limit still applies), so the
//     owner keeps signing in from home while a stranger hammers.
//
// A failing store lets the sign-in through, as the per-address limit does.
func (h *handler) accountLimit(c *gin.Context) {
	rl := h.limit
	if rl == nil || rl.Accounts == nil {
		return
	}
	email := strings.ToLower(strings.TrimSpace(inputOf[signInInput](c).email))
	sum := sha256.Sum256([]byte(email)) // no addresses in plain text in Redis
	account := "account:" + hex.EncodeToString(sum[:16])
	addr := "unknown"
	if a, ok := clientAddr(c.Request); ok {
		addr = normalizeIP(a)
	}
	known := account + "|known:" + addr
	ctx := c.Request.Context()

	isKnown, err := rl.Accounts.Remembers(ctx, known, time.Now())
	if err != nil {
		rl.outage.failed(ctx, err, time.Now())
		return
	}
	if !isKnown {
		d, err := rl.Accounts.Peek(ctx, account, rl.AccountRule, time.Now())
		if err != nil {
			rl.outage.failed(ctx, err, time.Now())
			return
		}
		if !d.Allowed {
			c.Header("X-Retry-After", strconv.Itoa(d.RetryAfterSeconds()))
			c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"message": "Too many requests. Please try again later."})
			return
		}
	}
	c.Next()
	switch status := c.Writer.Status(); {
	case status == http.StatusOK:
		err = rl.Accounts.Remember(ctx, known, KnownAddressTTL, time.Now())
	case status == http.StatusUnauthorized && !isKnown:
		_, err = rl.Accounts.Consume(ctx, account, rl.AccountRule, time.Now())
	}
	if err != nil {
		rl.outage.failed(ctx, err, time.Now())
	}
}
