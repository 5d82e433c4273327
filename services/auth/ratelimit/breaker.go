package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrSkipped is Breaker's answer while its store is failing: the store was
// not asked. Callers treat it as they treat the store's own failure.
var ErrSkipped = errors.New("rate limit store not asked: it failed less than a probe interval ago")

// DefaultProbeEvery is how often a Breaker lets one request ask a failing store.
const DefaultProbeEvery = time.Second

// consumer is a limiter whose store may fail (Redis).
type consumer interface {
	Consume(ctx context.Context, key string, r Rule, now time.Time) (Decision, error)
}

// Breaker keeps a failing store from slowing every request. Once the store
// fails, requests get ErrSkipped at once instead of each waiting out the
// store's timeout (a hung Redis held every sign-in for the full 250 ms);
// one request per probe interval asks the store again, and the first
// answer closes the breaker.
type Breaker struct {
	store      consumer
	probeEvery time.Duration
	nextProbe  atomic.Int64 // unix nanoseconds; 0 while the store answers
	lastErr    atomic.Pointer[error]
}

// NewBreaker wraps store; probeEvery <= 0 means DefaultProbeEvery.
func NewBreaker(store consumer, probeEvery time.Duration) *Breaker {
	if probeEvery <= 0 {
		probeEvery = DefaultProbeEvery
	}
	return &Breaker{store: store, probeEvery: probeEvery}
}

// Consume asks the store unless it failed less than a probe interval ago.
func (b *Breaker) Consume(ctx context.Context, key string, r Rule, now time.Time) (Decision, error) {
	if next := b.nextProbe.Load(); next != 0 {
		// Past the probe time, the one request that moves it on probes;
		// the others keep being skipped.
		if now.UnixNano() < next || !b.nextProbe.CompareAndSwap(next, now.Add(b.probeEvery).UnixNano()) {
			last := errors.New("unknown")
			if p := b.lastErr.Load(); p != nil {
				last = *p
			}
			return Decision{}, fmt.Errorf("%w (last failure: %v)", ErrSkipped, last)
		}
	}
	d, err := b.store.Consume(ctx, key, r, now)
	if err != nil {
		b.lastErr.Store(&err)
		b.nextProbe.Store(now.Add(b.probeEvery).UnixNano())
		return d, err
	}
	b.nextProbe.Store(0)
	return d, nil
}

// String names the store in logs.
func (b *Breaker) String() string { return fmt.Sprint(b.store) }
