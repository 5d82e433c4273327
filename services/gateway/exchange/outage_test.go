package exchange_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
	"github.com/latchid/latch/services/gateway/exchange"
)

// With Redis accepting connections and never answering, the shared cache is
// skipped, not waited on: every session still gets its token from auth at
// once, and the outage is logged, not once per request.
func TestHungRedisDoesNotHoldTokens(t *testing.T) {
	t.Parallel()
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"token": jwt(time.Now().Add(15 * time.Minute))})
	}))
	defer auth.Close()
	var logs testlog.Buffer
	rdb, err := redisclient.Open("redis://"+testdb.HungServer(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	x, err := exchange.New(exchange.Config{TokenURL: auth.URL, Client: http.DefaultClient, CacheSize: 100, Redis: rdb,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const sessions = 20
	var slow int
	start := time.Now()
	for i := range sessions {
		cookie := session(t, "better-auth.session_token="+signedcookie.EncodeValue(signedcookie.Sign(fmt.Sprintf("s%d-%d", i, start.UnixNano()), testSecret)))
		began := time.Now()
		if tok, err := x.Token(context.Background(), cookie); err != nil || tok == "" {
			t.Fatalf("session %d: %q, %v; want a token from auth", i, tok, err)
		}
		if time.Since(began) >= exchange.RedisTimeout {
			slow++
		}
		x.Evict(context.Background(), cookie) // sign-out touches Redis too
	}
	// The first session waits out the timeout; later ones do not ask Redis
	// until the next probe (one a second).
	if slow > 2 {
		t.Errorf("%d of %d sessions waited %v or more for a hung Redis (all %d took %v), want a probe a second",
			slow, sessions, exchange.RedisTimeout, sessions, time.Since(start))
	}
	if n := strings.Count(logs.String(), "redis failed"); n == 0 || n > 3 {
		t.Errorf("%d log lines about Redis failing for %d sessions, want the failed calls only (1 to 3):\n%s", n, sessions, logs.String())
	}
}

// TestRedisFailuresAreLoggedThroughTheThrottle: with Redis refusing
// connections for longer than the breaker's probe interval, every probe
// fails, yet each operation (read, write, evict) is logged once per 30 s,
// the next line saying how many were left out.
func TestRedisFailuresAreLoggedThroughTheThrottle(t *testing.T) {
	t.Parallel()
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"token": jwt(time.Now().Add(15 * time.Minute))})
	}))
	defer auth.Close()
	var logs testlog.Buffer
	rdb, err := redisclient.Open("redis://"+testdb.RefusedAddr(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	var skew atomic.Int64 // how far the exchanger's clock is ahead of the real one
	x, err := exchange.New(exchange.Config{TokenURL: auth.URL, Client: http.DefaultClient, CacheSize: 100, Redis: rdb,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
		Now:    func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	exchangeFor := func(d time.Duration) {
		for end := time.Now().Add(d); time.Now().Before(end); i++ {
			cookie := session(t, "better-auth.session_token="+signedcookie.EncodeValue(signedcookie.Sign(fmt.Sprintf("t%d-%d", i, time.Now().UnixNano()), testSecret)))
			if tok, err := x.Token(context.Background(), cookie); err != nil || tok == "" {
				t.Fatalf("session %d: %q, %v; want a token from auth", i, tok, err)
			}
			x.Evict(context.Background(), cookie)
			time.Sleep(20 * time.Millisecond)
		}
	}
	count := func(op string) (lines int, leftOut float64) {
		for _, raw := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
			var rec struct {
				Msg     string
				LeftOut float64 `json:"similar_lines_left_out"`
			}
			if json.Unmarshal([]byte(raw), &rec) == nil && strings.HasPrefix(rec.Msg, "token cache: "+op+" redis failed") {
				lines++
				leftOut += rec.LeftOut
			}
		}
		return lines, leftOut
	}
	exchangeFor(2300 * time.Millisecond) // the first failures, then two failed probes
	if n, _ := count("read from"); n != 1 {
		t.Errorf("%d lines for failed reads within 30 s, want 1:\n%s", n, logs.String())
	}
	if n, _ := count("write to"); n != 1 {
		t.Errorf("%d lines for failed writes within 30 s, want 1", n)
	}
	if n, _ := count("evict from"); n != 1 {
		t.Errorf("%d lines for failed evictions within 30 s, want 1", n)
	}
	skew.Store(int64(31 * time.Second))
	exchangeFor(1200 * time.Millisecond) // the next probe
	if n, leftOut := count("read from"); n != 2 || leftOut < 1 {
		t.Errorf("30 s on: %d lines for failed reads, %v left out, want 2 lines and the failed probes counted:\n%s", n, leftOut, logs.String())
	}
}
