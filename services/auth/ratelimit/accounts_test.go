package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/ratelimit"
)

type accountStore interface {
	Consume(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
	Peek(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error)
	Remember(ctx context.Context, key string, ttl time.Duration, now time.Time) error
	Remembers(ctx context.Context, key string, now time.Time) (bool, error)
}

// TestPeekAndRemember: Peek answers what Consume would without counting,
// on the same clock; a remembered flag lasts its TTL. Redis keeps real
// time for TTLs, so its flag is checked for presence only.
func TestPeekAndRemember(t *testing.T) {
	t.Parallel()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for name, s := range map[string]accountStore{
		"memory":        ratelimit.NewMemory(),
		"redis":         ratelimit.NewRedis(testdb.Redis(t), "test:accounts:"+hex.EncodeToString(b)+":"),
		"redis breaker": ratelimit.NewBreaker(ratelimit.NewRedis(testdb.Redis(t), "test:accounts:b:"+hex.EncodeToString(b)+":"), 0),
	} {
		ctx := context.Background()
		rule := ratelimit.Rule{Window: time.Minute, Max: 2}
		now := time.Now().Truncate(time.Millisecond) // Redis keeps milliseconds
		for i := 0; i < 5; i++ {                     // peeking never counts
			if d, err := s.Peek(ctx, "acct", rule, now); err != nil || !d.Allowed {
				t.Fatalf("%s: peek %d before any failure: %+v %v", name, i, d, err)
			}
		}
		_, _ = s.Consume(ctx, "acct", rule, now)
		_, _ = s.Consume(ctx, "acct", rule, now.Add(10*time.Second))
		d, err := s.Peek(ctx, "acct", rule, now.Add(20*time.Second))
		if err != nil || d.Allowed || d.RetryAfter != 50*time.Second {
			t.Errorf("%s: peek at the limit: %+v %v, want refused, retry after 50s (a window after the last count)", name, d, err)
		}
		if d, _ := s.Peek(ctx, "acct", rule, now.Add(70*time.Second)); !d.Allowed {
			t.Errorf("%s: peek a window after the last count: refused", name)
		}
		if ok, err := s.Remembers(ctx, "known", now); ok || err != nil {
			t.Errorf("%s: remembers an unset flag: %v %v", name, ok, err)
		}
		if err := s.Remember(ctx, "known", 2*time.Minute, now); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Remembers(ctx, "known", now.Add(time.Minute)); !ok || err != nil {
			t.Errorf("%s: forgot a flag within its TTL: %v %v", name, ok, err)
		}
		if name == "memory" {
			if ok, _ := s.Remembers(ctx, "known", now.Add(3*time.Minute)); ok {
				t.Errorf("memory: remembers a flag past its TTL")
			}
		}
	}
}
