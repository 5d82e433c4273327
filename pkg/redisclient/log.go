// go-redis's own log lines (a failed dial, a connection the pool had to
// drop) go into the service's structured log. Left alone, go-redis prints
// them as plain text on stderr, in the middle of a JSON log stream, and
// during a Redis outage it prints one per failed dial. Here each kind of
// line is written at most once per interval, with the number of those left
// out since.

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

// Logger is go-redis's Logging interface over slog.
type Logger struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu    sync.Mutex
	kinds map[string]*kind // by format string: go-redis has a fixed set
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

// Printf implements go-redis's internal.Logging.
func (l *Logger) Printf(ctx context.Context, format string, v ...any) {
	now := l.now()
	l.mu.Lock()
	k, ok := l.kinds[format]
	if ok && now.Sub(k.written) < l.every {
		k.left++
		l.mu.Unlock()
		return
	}
	if !ok {
		k = &kind{}
		l.kinds[format] = k
	}
	left := k.left
	k.written, k.left = now, 0
	l.mu.Unlock()

	attrs := []any{"detail", strings.TrimSpace(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))}
	if left > 0 {
		attrs = append(attrs, "similar_lines_left_out", left)
	}
	l.log.WarnContext(ctx, "redis client", attrs...)
}
