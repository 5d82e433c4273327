package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/ratelimit"
)

// A hung Redis costs the store's timeout three times in a row, then once
// per probe interval, not once per request.
func TestBreakerSkipsAHungStoreBetweenProbes(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: testdb.HungServer(t), ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	store := ratelimit.NewRedis(rdb, "test:breaker:")
	store.Timeout = 300 * time.Millisecond
	b := ratelimit.NewBreaker(store, time.Second)
	rule := ratelimit.Rule{Window: 10 * time.Second, Max: 3}

	t0 := time.Now()
	steps := []struct {
		at      time.Duration // the request's time, from t0
		skipped bool          // ErrSkipped at once; otherwise the store was asked and timed out
	}{
		{0, false},
		{time.Millisecond, false},
		{2 * time.Millisecond, false}, // the third failure in a row opens the breaker until 1002 ms
		{10 * time.Millisecond, true},
		{500 * time.Millisecond, true},
		{1100 * time.Millisecond, false}, // the probe
		{1100 * time.Millisecond, true},  // one probe at a time
		{1500 * time.Millisecond, true},
		{2200 * time.Millisecond, false}, // the next probe
	}
	for i, s := range steps {
		start := time.Now()
		_, err := b.Consume(context.Background(), "ip|/sign-in/email", rule, t0.Add(s.at))
		took := time.Since(start)
		switch {
		case err == nil:
			t.Fatalf("step %d: a hung store answered", i)
		case s.skipped && (!errors.Is(err, ratelimit.ErrSkipped) || took > store.Timeout/2):
			t.Errorf("step %d at %v: %v after %v, want ErrSkipped at once", i, s.at, err, took)
		case !s.skipped && (errors.Is(err, ratelimit.ErrSkipped) || took < store.Timeout):
			t.Errorf("step %d at %v: %v after %v, want the store asked (a timeout after %v)", i, s.at, err, took, store.Timeout)
		}
	}
}

// Once a probe gets an answer, every request asks the store again.
func TestBreakerClosesWhenTheStoreAnswers(t *testing.T) {
	t.Parallel()
	p := make([]byte, 6)
	_, _ = rand.Read(p)
	prefix := "test:breaker:" + hex.EncodeToString(p) + ":"
	rdb := testdb.Redis(t)
	b := ratelimit.NewBreaker(ratelimit.NewRedis(rdb, prefix), time.Second)
	rule := ratelimit.Rule{Window: 10 * time.Second, Max: 100}
	ctx := context.Background()
	// A real failure of the real store: the counter's key holds a string,
	// and the script's HMGET answers WRONGTYPE.
	if err := rdb.Set(ctx, prefix+"ip|/x", "not a hash", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	for i := range 3 { // failures in a row open the breaker
		if _, err := b.Consume(ctx, "ip|/x", rule, t0); err == nil || errors.Is(err, ratelimit.ErrSkipped) {
			t.Fatalf("call %d against a key of the wrong type: %v, want the store's failure", i+1, err)
		}
	}
	if _, err := b.Consume(ctx, "ip|/x", rule, t0.Add(time.Millisecond)); !errors.Is(err, ratelimit.ErrSkipped) {
		t.Fatalf("right after the failure: %v, want ErrSkipped", err)
	}
	if err := rdb.Del(ctx, prefix+"ip|/x").Err(); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Duration{time.Second, time.Second + time.Millisecond, time.Second + 2*time.Millisecond} {
		d, err := b.Consume(ctx, "ip|/x", rule, t0.Add(at))
		if err != nil || !d.Allowed {
			t.Errorf("request %d after the probe time: %+v, %v; want the store to answer (allowed)", i+1, d, err)
		}
	}
}

// A client that hangs up mid-request is still counted, and does not make
// the store look failed (which would open the breaker: a second of
// unlimited guesses for anyone who can cancel requests).
func TestBreakerIgnoresCallersThatLeave(t *testing.T) {
	t.Parallel()
	p := make([]byte, 6)
	_, _ = rand.Read(p)
	b := ratelimit.NewBreaker(ratelimit.NewRedis(testdb.Redis(t), "test:breaker:"+hex.EncodeToString(p)+":"), time.Second)
	rule := ratelimit.Rule{Window: 10 * time.Second, Max: 2}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	for i, want := range []bool{true, true, false} {
		d, err := b.Consume(gone, "ip|/sign-in/email", rule, now.Add(time.Duration(i)*time.Millisecond))
		if err != nil {
			t.Fatalf("request %d from a client that left: %v, want it counted", i+1, err)
		}
		if d.Allowed != want {
			t.Errorf("request %d: allowed = %v, want %v (2 per window)", i+1, d.Allowed, want)
		}
	}
}
