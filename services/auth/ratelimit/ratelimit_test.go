package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/ratelimit"
)

type limiter interface {
	Consume(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
}

func stores(t *testing.T) map[string]func(t *testing.T) limiter {
	return map[string]func(t *testing.T) limiter{
		"memory": func(*testing.T) limiter { return ratelimit.NewMemory() },
		"redis": func(t *testing.T) limiter {
			b := make([]byte, 6)
			_, _ = rand.Read(b)
			return ratelimit.NewRedis(testdb.Redis(t), "test:ratelimit:"+hex.EncodeToString(b)+":")
		},
	}
}

func TestBetterAuthsCountingRule(t *testing.T) {
	t.Parallel()
	rule := ratelimit.Rule{Window: 10 * time.Second, Max: 3}
	t0 := time.UnixMilli(1_800_000_000_000)
	steps := []struct {
		at        time.Duration
		key       string
		allowed   bool
		retryAfer int
	}{
		{0, "ip|/sign-in/email", true, 0},
		{time.Second, "ip|/sign-in/email", true, 0},
		{2 * time.Second, "ip|/sign-in/email", true, 0},
		{3 * time.Second, "ip|/sign-in/email", false, 9}, // window counts from the last allowed request (2 s)
		{3 * time.Second, "other|/sign-in/email", true, 0},
		{3 * time.Second, "ip|/sign-up/email", true, 0},
		{11500 * time.Millisecond, "ip|/sign-in/email", false, 1},
		{12 * time.Second, "ip|/sign-in/email", true, 0}, // 10 s after the last allowed one
		{12 * time.Second, "ip|/sign-in/email", true, 0},
	}
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newStore(t)
			for i, s := range steps {
				d, err := l.Consume(context.Background(), s.key, rule, t0.Add(s.at))
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed != s.allowed || (!s.allowed && d.RetryAfterSeconds() != s.retryAfer) {
					t.Errorf("step %d (%v %s): allowed=%v retry=%ds, want %v %ds", i, s.at, s.key, d.Allowed, d.RetryAfterSeconds(), s.allowed, s.retryAfer)
				}
			}
		})
	}
}

func TestConcurrentRequestsNeverExceedMax(t *testing.T) {
	t.Parallel()
	rule := ratelimit.Rule{Window: time.Minute, Max: 5}
	for name, newStore := range stores(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := newStore(t)
			now := time.Now()
			var mu sync.Mutex
			allowed := 0
			var wg sync.WaitGroup
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					d, err := l.Consume(context.Background(), "ip|/sign-in/email", rule, now)
					if err != nil {
						t.Error(err)
						return
					}
					if d.Allowed {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if allowed != 5 {
				t.Errorf("%d of 50 concurrent requests allowed, want 5", allowed)
			}
		})
	}
}

func TestRulesForPaths(t *testing.T) {
	t.Parallel()
	r := ratelimit.DefaultRules()
	tests := map[string]ratelimit.Rule{
		"/sign-in/email":           {Window: 10 * time.Second, Max: 3},
		"/sign-up/email":           {Window: 10 * time.Second, Max: 3},
		"/change-password":         {Window: 10 * time.Second, Max: 3},
		"/change-email":            {Window: 10 * time.Second, Max: 3},
		"/request-password-reset":  {Window: time.Minute, Max: 3},
		"/send-verification-email": {Window: time.Minute, Max: 3},
		"/get-session":             {Window: 10 * time.Second, Max: 100},
		"/reset-password":          {Window: 10 * time.Second, Max: 100},
	}
	for path, want := range tests {
		if got := r.For(path); got != want {
			t.Errorf("For(%s) = %+v, want %+v", path, got, want)
		}
	}
}

// TestRedisDownFailsWithinTimeout: the caller lets the request through on
// an error, so the error must come quickly, whether Redis refuses
// connections (stopped) or accepts and never answers (hung, partitioned).
func TestRedisDownFailsWithinTimeout(t *testing.T) {
	t.Parallel()
	rule := ratelimit.Rule{Window: 10 * time.Second, Max: 3}
	for name, addr := range map[string]func(testing.TB) string{"refused": testdb.RefusedAddr, "silent": testdb.HungServer} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// The client's defaults (dial and command retries, 3 s read
			// timeout) but for ContextTimeoutEnabled, which auth sets: without
			// it go-redis ignores the deadline on a connection that hangs.
			rdb := redis.NewClient(&redis.Options{Addr: addr(t), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = rdb.Close() })
			l := ratelimit.NewRedis(rdb, "test:down:")
			for i := range 3 {
				start := time.Now()
				_, err := l.Consume(context.Background(), "ip|/sign-in/email", rule, start)
				if took := time.Since(start); err == nil || took > l.Timeout+250*time.Millisecond {
					t.Errorf("attempt %d: err %v after %v, want an error within %v", i+1, err, took, l.Timeout)
				}
			}
		})
	}
}
