// Latch's one throttle for Redis error logs. go-redis's own lines (a
// failed dial, a connection the pool had to drop) go into the service's
// structured log: left alone, go-redis prints them as plain text on stderr,
// in the middle of a JSON log stream, one per failed dial during an outage.
// The services' own lines about their failed Redis calls (the rate limiter,
// the token cache, the JWKS leases) go through the same rule: each kind of
// line is written at most once per interval, with the number of those left
// out since. Skipping Redis while it keeps failing is pkg/breaker's part.

package redisclient

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultInterval is how often one kind of log line may repeat.
const DefaultInterval = 30 * time.Second

// RouteLogs makes log the destination of go-redis's lines in this process
// (go-redis has one logger per process, not one per client). Open does it.
func RouteLogs(log *slog.Logger) { redis.SetLogger(NewLogger(log, DefaultInterval)) }

// Logger writes Redis trouble to a slog.Logger under the throttle:
// go-redis's own lines (Printf, its Logging interface) and a service's (Log).
type Logger struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	kinds map[string]*kind // by format string (go-redis has a fixed set) or message
}

type kind struct {
	written time.Time
	left    int // lines of this kind not written since
}

// NewLogger returns a Logger writing to log, each kind of line at most
// once per every.
func NewLogger(log *slog.Logger, every time.Duration) *Logger {
	return &Logger{log: log, every: every, now: time.Now, kinds: map[string]*kind{}}
}

// Printf implements go-redis's internal.Logging: a line "redis client"
// at Warn, each format string its own kind.
func (l *Logger) Printf(ctx context.Context, format string, v ...any) {
	left, ok := l.admit(format, l.now())
	if !ok {
		return
	}
	attrs := []any{"detail", strings.TrimSpace(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))}
	if left > 0 {
		attrs = append(attrs, "similar_lines_left_out", left)
	}
	l.log.WarnContext(ctx, "redis client", attrs...)
}

// Log writes msg with args at level, unless a line with the same msg went
// out less than the interval before now; the next one written carries the
// number left out meanwhile (similar_lines_left_out). For a service's own
// lines about a failed Redis call, msg a constant.
func (l *Logger) Log(ctx context.Context, now time.Time, level slog.Level, msg string, args ...any) {
	left, ok := l.admit("msg:"+msg, now)
	if !ok {
		return
	}
	if left > 0 {
		args = append(args[:len(args):len(args)], "similar_lines_left_out", left)
	}
	l.log.Log(ctx, level, msg, args...)
}

// admit reports whether a line of kind key may be written at now, and how
// many of its kind were left out since the last one.
func (l *Logger) admit(key string, now time.Time) (left int, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, seen := l.kinds[key]
	if seen && now.Sub(k.written) < l.every {
		k.left++
		return 0, false
	}
	if !seen {
		k = &kind{}
		l.kinds[key] = k
	}
	left = k.left
	k.written, k.left = now, 0
	return left, true
}
