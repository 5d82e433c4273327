package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/latchid/latch/pkg/breaker"
)

// ErrSkipped is Breaker's answer while its store is failing: the store was
// not asked. Callers treat it as they treat the store's own failure.
var ErrSkipped = breaker.ErrOpen

// DefaultProbeEvery is how often a Breaker lets one request ask a failing store.
const DefaultProbeEvery = breaker.DefaultProbeEvery

// consumer is a limiter whose store may fail (Redis).
type consumer interface {
	Consume(ctx context.Context, key string, r Rule, now time.Time) (Decision, error)
}

// Breaker keeps a failing store from slowing every request. Once the store
// fails breaker.OpenAfter times in a row, requests get ErrSkipped at once
// instead of each waiting out the store's timeout (a hung Redis held every
// sign-in for the full 250 ms); one request per probe interval asks the
// store again, and the first answer closes the breaker.
type Breaker struct {
	store consumer
	b     *breaker.Breaker
}

// NewBreaker wraps store; probeEvery <= 0 means DefaultProbeEvery.
func NewBreaker(store consumer, probeEvery time.Duration) *Breaker {
	return &Breaker{store: store, b: breaker.New(probeEvery)}
}

// Consume asks the store unless it keeps failing and no probe is due.
func (b *Breaker) Consume(ctx context.Context, key string, r Rule, now time.Time) (Decision, error) {
	var d Decision
	err := b.b.Do(now, func() (err error) {
		d, err = b.store.Consume(ctx, key, r, now)
		return err
	})
	return d, err
}

// String names the store in logs.
func (b *Breaker) String() string { return fmt.Sprint(b.store) }
