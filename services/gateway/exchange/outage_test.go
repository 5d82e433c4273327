package exchange_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
