package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/observe/observetest"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/ratelimit"
)

// TestBruteForceIsStoppedAndTheOwnerGetsBackIn: 1,000 wrong passwords from
// one address are refused with 429 after the limit, and once the window has
// passed the owner signs in with the right one.
func TestBruteForceIsStoppedAndTheOwnerGetsBackIn(t *testing.T) {
	t.Parallel()
	const window = 3 * time.Second
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_CREDENTIALS_WINDOW": window.String(), "RATE_LIMIT_ACCOUNT_WINDOW": window.String()}
			if store == "redis" {
				b := make([]byte, 6)
				_, _ = rand.Read(b)
				testdb.Redis(t) // fails fast, saying how to start Redis, when it is down
				env["REDIS_URL"] = testdb.RedisURL()
				env["RATE_LIMIT_KEY_PREFIX"] = "test:" + hex.EncodeToString(b) + ":"
			}
			ts := startAuth(t, env)
			// Sign-up is limited too (3 per window): one is plenty.
			ts.signUp("owner@example.com", "the-right-password")
			time.Sleep(window) // sign-up and sign-in have separate buckets; this keeps the count honest anyway

			start := time.Now()
			counts := map[int]int{}
			first429 := -1
			var lastAllowed time.Time // when the last request that reached the password check was sent
			for i := 0; i < 1000; i++ {
				sent := time.Now()
				r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", fmt.Sprintf("guess-%04d", i)), nil)
				counts[r.status]++
				if r.status == 401 {
					lastAllowed = sent
				}
				if i < 3 && r.status != 401 {
					t.Fatalf("attempt %d: %d %s, want 401 before the limit", i+1, r.status, r.body)
				}
				if r.status != 429 || first429 >= 0 {
					continue
				}
				// On a quiet machine this is attempt 4; under -race on a busy one a
				// password hash can outlast the window, which then restarts.
				first429 = i
				if string(r.body) != `{"message":"Too many requests. Please try again later."}` {
					t.Errorf("429 body %s, want Better Auth's", r.body)
				}
				secs, err := strconv.Atoi(r.header.Get("X-Retry-After"))
				if err != nil || secs < 1 || secs > int(window/time.Second) {
					t.Errorf("X-Retry-After %q, want 1..%d", r.header.Get("X-Retry-After"), int(window/time.Second))
				}
				if store == "redis" { // the counter is shared state in Redis, not in this process
					keys, err := testdb.Redis(t).Keys(context.Background(), env["RATE_LIMIT_KEY_PREFIX"]+"*").Result()
					if err != nil || len(keys) == 0 {
						t.Errorf("no counters in Redis under %s: %v %v", env["RATE_LIMIT_KEY_PREFIX"], keys, err)
					}
				}
			}
			if first429 < 3 {
				t.Fatalf("no 429 after the limit (first at %d): %v", first429, counts)
			}
			elapsed := time.Since(start)
			windows := int(elapsed/window) + 1
			if counts[200] != 0 || counts[401]+counts[429] != 1000 {
				t.Fatalf("statuses %v", counts)
			}
			if counts[401] > 3*windows {
				t.Errorf("%d guesses reached the password check in %v (%d windows of %v), want at most %d", counts[401], elapsed, windows, window, 3*windows)
			}
			t.Logf("%v: %v in %v", store, counts, elapsed)

			if time.Since(lastAllowed) < window-500*time.Millisecond {
				if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), nil); r.status != 429 {
					t.Errorf("right password while limited: %d, want 429 (the limit is per address, not per password)", r.status)
				}
			}
			time.Sleep(window)
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), nil); r.status != 200 {
				t.Fatalf("right password after the window: %d %s", r.status, r.body)
			}
		})
	}
}

func TestRateLimitClientAddress(t *testing.T) {
	t.Parallel()
	spoof := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }
	t.Run("headers are not believed unless configured", func(t *testing.T) {
		t.Parallel()
		ts := startAuth(t, map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_MAIL_MAX": "2"})
		for i := 0; i < 2; i++ {
			if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, spoof(fmt.Sprintf("198.51.100.%d", i))); r.status != 200 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		}
		if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, spoof("198.51.100.99")); r.status != 429 {
			t.Errorf("a new X-Forwarded-For escaped the limit: %d", r.status)
		}
	})
	t.Run("off", func(t *testing.T) {
		t.Parallel()
		ts := startAuth(t, map[string]string{"RATE_LIMIT": "off", "RATE_LIMIT_MAIL_MAX": "1"})
		for i := 0; i < 3; i++ {
			if r := ts.post("/api/auth/request-password-reset", `{"email":"a@example.com"}`, nil); r.status != 200 {
				t.Fatalf("request %d with RATE_LIMIT=off: %d", i+1, r.status)
			}
		}
	})
}

func TestRateLimitDefaultAndStartupLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env      map[string]string
		on       bool
		contains string
	}{
		{map[string]string{"BETTER_AUTH_URL": "http://localhost:3001"}, false, "rate limiting off"},
		{map[string]string{"BETTER_AUTH_URL": "http://127.0.0.1:3001"}, false, "rate limiting off"},
		{map[string]string{"BETTER_AUTH_URL": "https://auth.example.com"}, true, `"store":"in-process memory`},
		{map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "REDIS_URL": "redis://127.0.0.1:6379/0"}, true, `"store":"redis"`},
		{map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "RATE_LIMIT": "off"}, false, "rate limiting off"},
		{map[string]string{"BETTER_AUTH_URL": "http://localhost:3001", "RATE_LIMIT": "on"}, true, "rate limiting on"},
	}
	for _, tc := range tests {
		cfg, err := loadConfig(func(k string) string { return tc.env[k] })
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		logRateLimit(cfg, slog.New(slog.NewJSONHandler(&buf, nil)))
		if cfg.RateLimit != tc.on || !strings.Contains(buf.String(), tc.contains) {
			t.Errorf("%v: on=%v log %s; want on=%v and %q", tc.env, cfg.RateLimit, buf.String(), tc.on, tc.contains)
		}
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"RATE_LIMIT": "maybe"}[k] }); err == nil {
		t.Error("RATE_LIMIT=maybe accepted")
	}
}

// TestRateLimitFailsOpenWhileRedisIsDown: with Redis refusing connections
// or accepting and never answering, requests go through at once (no 429,
// no 5xx, no seconds of waiting), the outage is one log line, not one per
// request, and each request is counted in auth_rate_limit_store_errors_total;
// when Redis answers again, limiting resumes in the running process.
func TestRateLimitFailsOpenWhileRedisIsDown(t *testing.T) {
	t.Parallel()
	testdb.Redis(t) // fails fast, saying how to start Redis, when it is down
	real, err := url.Parse(testdb.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// down returns the address auth is given, a function that takes
		// Redis away, and one that brings it back (nil: it never comes back).
		down func(t *testing.T) (addr string, fail, restore func())
	}{
		{"refused, then back", func(t *testing.T) (string, func(), func()) {
			p := newTCPProxy(t, real.Host)
			return p.addr, p.cut, p.restore
		}},
		{"hung", func(t *testing.T) (string, func(), func()) { return testdb.HungServer(t), func() {}, nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, fail, restore := tc.down(t)
			redisURL := *real
			redisURL.Host = addr
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			ts := startAuth(t, map[string]string{"RATE_LIMIT": "on", "REDIS_URL": redisURL.String(), "RATE_LIMIT_KEY_PREFIX": "test:" + hex.EncodeToString(b) + ":"})
			ts.signUp("owner@example.com", "the-right-password")
			fail()
			before := observetest.Scrape(t, ts.base).Value("auth_rate_limit_store_errors_total")

			const guesses = 6 // twice the credentials rule
			for i := range guesses {
				if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", fmt.Sprintf("guess-%d", i)), nil); r.status != 401 {
					t.Fatalf("guess %d with Redis down: %d %s, want 401", i+1, r.status, r.body)
				}
			}
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), nil); r.status != 200 {
				t.Fatalf("right password with Redis down: %d %s", r.status, r.body)
			}
			// get-session is limited too but hashes nothing: its time is the limiter's.
			start := time.Now()
			if r := ts.get("/api/auth/get-session", nil); r.status != 200 {
				t.Errorf("get-session with Redis down: %d %s", r.status, r.body)
			}
			if took := time.Since(start); took > time.Second {
				t.Errorf("get-session with Redis down took %v", took)
			}
			// Requests that hash nothing show the limiter's own cost: with the
			// store failing, one a second asks it (and may wait out its
			// timeout); the others do not ask.
			const quick = 10
			var slow int
			for range quick {
				start := time.Now()
				if r := ts.get("/api/auth/get-session", nil); r.status != 200 {
					t.Errorf("get-session with Redis down: %d %s", r.status, r.body)
				}
				if time.Since(start) >= ratelimit.DefaultTimeout {
					slow++
				}
			}
			// A probe a second: one or two in this burst; without the
			// breaker every request waits out the timeout. The slack is for
			// a loaded machine.
			if slow > 4 {
				t.Errorf("%d of %d get-session requests in a row took the store's timeout (%v) or more with Redis down, want a probe a second", slow, quick, ratelimit.DefaultTimeout)
			}
			if got := observetest.Scrape(t, ts.base).Value("auth_rate_limit_store_errors_total") - before; got != guesses+2+quick {
				t.Errorf("auth_rate_limit_store_errors_total moved by %v, want %d (every request let through)", got, guesses+2+quick)
			}
			if n := strings.Count(ts.logs.String(), "rate limit store failed"); n != 1 {
				t.Errorf("%d log lines about the failing store for %d requests, want 1", n, guesses+2+quick)
			}
			if restore == nil {
				return
			}

			restore()
			deadline := time.Now().Add(10 * time.Second)
			for i := 0; ; i++ {
				r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", fmt.Sprintf("again-%d", i)), nil)
				if r.status == 429 {
					break
				}
				if r.status != 401 || time.Now().After(deadline) {
					t.Fatalf("after Redis came back: %d %s, want 401 until 429", r.status, r.body)
				}
			}
			if n := strings.Count(ts.logs.String(), "limiting resumed"); n != 1 {
				t.Errorf("%d log lines saying limiting resumed, want 1", n)
			}
		})
	}
}

// The service clients' token endpoint sits beside Better Auth's API and was
// served outside its limits: anyone could send it guesses (and database
// lookups) without bound. It now counts per client address under the
// default rule, and the request log and request id are the API's.
func TestTokenEndpointIsRateLimited(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, map[string]string{"RATE_LIMIT": "on", "RATE_LIMIT_MAX": "5", "RATE_LIMIT_WINDOW": "1m"})
	guess := func() response {
		return ts.do(req{method: "POST", path: "/api/auth/oauth2/token", contentType: "application/x-www-form-urlencoded",
			body: "grant_type=client_credentials&client_id=nobody&client_secret=guess"})
	}
	for i := range 5 {
		if r := guess(); r.status != 401 {
			t.Fatalf("guess %d: %d %s, want 401 invalid_client", i+1, r.status, r.body)
		}
	}
	r := guess()
	if r.status != 429 {
		t.Fatalf("the sixth guess in the window: %d %s, want 429", r.status, r.body)
	}
	if r.header.Get("X-Retry-After") == "" || r.header.Get("X-Request-Id") == "" {
		t.Errorf("429 headers %v: want X-Retry-After and X-Request-Id", r.header)
	}
	// The API's own routes count apart (per path), as Better Auth's do.
	if r := ts.do(req{method: "GET", path: "/api/auth/ok"}); r.status != 200 {
		t.Errorf("/ok after the token endpoint's limit: %d", r.status)
	}
}
