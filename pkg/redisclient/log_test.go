package redisclient

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
)

func TestLinesAreStructuredAndThrottledPerKind(t *testing.T) {
	const dial = "redis: connection pool: failed to dial after %d attempts: %v"
	const hook = "redis: connection pool: failed to process idle connection by hook: %v"
	type line struct {
		after  time.Duration // since the start
		format string
		args   []any
	}
	tests := []struct {
		name  string
		lines []line
		want  []map[string]any // the records written, in order (level, msg and time left out)
	}{
		{
			name:  "one line",
			lines: []line{{0, dial, []any{1, "connection refused"}}},
			want:  []map[string]any{{"detail": "connection pool: failed to dial after 1 attempts: connection refused"}},
		},
		{
			name: "repeats within the interval are counted, then reported with the next line written",
			lines: []line{
				{0, dial, []any{1, "a"}},
				{time.Second, dial, []any{1, "b"}},
				{29 * time.Second, dial, []any{1, "c"}},
				{30 * time.Second, dial, []any{1, "d"}},
				{31 * time.Second, dial, []any{1, "e"}},
			},
			want: []map[string]any{
				{"detail": "connection pool: failed to dial after 1 attempts: a"},
				{"detail": "connection pool: failed to dial after 1 attempts: d", "similar_lines_left_out": float64(2)},
			},
		},
		{
			name: "kinds are throttled apart",
			lines: []line{
				{0, dial, []any{1, "a"}},
				{time.Second, hook, []any{"x"}},
				{2 * time.Second, dial, []any{1, "b"}},
				{3 * time.Second, hook, []any{"y"}},
			},
			want: []map[string]any{
				{"detail": "connection pool: failed to dial after 1 attempts: a"},
				{"detail": "connection pool: failed to process idle connection by hook: x"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := NewLogger(slog.New(slog.NewJSONHandler(&buf, nil)), 30*time.Second)
			start := time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)
			for _, ln := range tt.lines {
				l.now = func() time.Time { return start.Add(ln.after) }
				l.Printf(context.Background(), ln.format, ln.args...)
			}
			var got []map[string]any
			for _, raw := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(raw), &rec); err != nil {
					t.Fatalf("not a JSON record: %q", raw)
				}
				if rec["level"] != "WARN" || rec["msg"] != "redis client" {
					t.Errorf("record %v: want level WARN, msg \"redis client\"", rec)
				}
				delete(rec, "level")
				delete(rec, "msg")
				delete(rec, "time")
				got = append(got, rec)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("wrote %d records %v, want %d %v", len(got), got, len(tt.want), tt.want)
			}
			for i := range got {
				if len(got[i]) != len(tt.want[i]) {
					t.Errorf("record %d = %v, want %v", i, got[i], tt.want[i])
					continue
				}
				for k, v := range tt.want[i] {
					if got[i][k] != v {
						t.Errorf("record %d: %s = %v, want %v", i, k, got[i][k], v)
					}
				}
			}
		})
	}
}

// go-redis itself, dialing a port nobody listens on, writes through RouteLogs.
func TestRouteLogsCarriesGoRedisOwnLines(t *testing.T) {
	addr := testdb.RefusedAddr(t)
	var buf testlog.Buffer
	RouteLogs(slog.New(slog.NewJSONHandler(&buf, nil)))
	client := redis.NewClient(&redis.Options{Addr: addr, DialerRetries: 1, MaxRetries: -1})
	defer client.Close()
	if err := client.Ping(context.Background()).Err(); err == nil {
		t.Fatal("ping to a closed port succeeded")
	}
	out := buf.String()
	if !strings.Contains(out, `"msg":"redis client"`) || !strings.Contains(out, "failed to dial") {
		t.Fatalf("go-redis's dial failure did not reach the slog logger; got %q", out)
	}
}

// TestServiceLinesShareTheThrottle: a service's own lines about failed
// Redis calls follow the rule go-redis's lines do, each message its own
// kind, its attributes kept, apart from go-redis's kinds.
func TestServiceLinesShareTheThrottle(t *testing.T) {
	var buf bytes.Buffer
	l := NewLogger(slog.New(slog.NewJSONHandler(&buf, nil)), 30*time.Second)
	start := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	l.now = func() time.Time { return start }
	ctx := context.Background()
	const failed, back = "rate limit store failed", "rate limit store answers again"
	l.Log(ctx, start, slog.LevelWarn, failed, "err", "refused")
	l.Printf(ctx, "redis: connection pool: failed to dial after %d attempts: %v", 1, "refused") // another kind
	l.Log(ctx, start.Add(time.Second), slog.LevelWarn, failed, "err", "refused")
	l.Log(ctx, start.Add(2*time.Second), slog.LevelInfo, back, "outage", "2s")
	l.Log(ctx, start.Add(20*time.Second), slog.LevelWarn, failed, "err", "refused")
	l.Log(ctx, start.Add(30*time.Second), slog.LevelWarn, failed, "err", "timeout")
	l.Log(ctx, start.Add(32*time.Second), slog.LevelInfo, back, "outage", "1s")
	want := []map[string]any{
		{"level": "WARN", "msg": failed, "err": "refused"},
		{"level": "WARN", "msg": "redis client", "detail": "connection pool: failed to dial after 1 attempts: refused"},
		{"level": "INFO", "msg": back, "outage": "2s"},
		{"level": "WARN", "msg": failed, "err": "timeout", "similar_lines_left_out": float64(2)},
		{"level": "INFO", "msg": back, "outage": "1s"},
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("wrote %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, raw := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(raw), &rec); err != nil {
			t.Fatal(err)
		}
		delete(rec, "time")
		if len(rec) != len(want[i]) {
			t.Errorf("line %d = %v, want %v", i, rec, want[i])
			continue
		}
		for k, v := range want[i] {
			if rec[k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, rec[k], v)
			}
		}
	}
}
