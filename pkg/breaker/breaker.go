// Package breaker stops a service from waiting on a dependency that is
// failing. After OpenAfter failures in a row, calls are refused at once
// (ErrOpen) for a probe interval; then one call at a time goes through as a
// probe, and the first success lets every call through again. Failures
// must come in a row: a dependency that drops a call now and then keeps
// being asked. Latch puts one in front of Redis wherever Redis is an
// optimization (a rate-limit counter, a token cache): a hung Redis should
// cost one call a second its timeout, not every request.
package breaker

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// ErrOpen refuses a call: the dependency keeps failing and its next probe
// is not due. Callers treat it as they treat the dependency's own failure.
var ErrOpen = errors.New("not tried: it keeps failing and the next probe is not due")

// DefaultProbeEvery is how often an open Breaker lets one call through.
const DefaultProbeEvery = time.Second

// OpenAfter is how many failures in a row open a Breaker.
const OpenAfter = 3

// Breaker is safe for concurrent use; its zero value is not (use New).
type Breaker struct {
	probeEvery time.Duration
	failures   atomic.Int64 // in a row
	nextProbe  atomic.Int64 // unix nanoseconds; 0 while closed
	lastErr    atomic.Pointer[error]
}

// New returns a closed Breaker; probeEvery <= 0 means DefaultProbeEvery.
func New(probeEvery time.Duration) *Breaker {
	if probeEvery <= 0 {
		probeEvery = DefaultProbeEvery
	}
	return &Breaker{probeEvery: probeEvery}
}

// allow reports whether a call may go ahead at now: nil, or an error
// wrapping ErrOpen and naming the last failure. Past the probe time, only
// the one call that moves the probe time on is allowed.
func (b *Breaker) allow(now time.Time) error {
	next := b.nextProbe.Load()
	if next == 0 {
		return nil
	}
	if now.UnixNano() >= next && b.nextProbe.CompareAndSwap(next, now.Add(b.probeEvery).UnixNano()) {
		return nil
	}
	last := errors.New("unknown")
	if p := b.lastErr.Load(); p != nil {
		last = *p
	}
	return fmt.Errorf("%w (last failure: %v)", ErrOpen, last)
}

// done records how an allowed call that started at now went: the
// OpenAfter-th failure in a row (or a failed probe) opens the breaker until
// now plus the probe interval; a success closes it.
func (b *Breaker) done(now time.Time, err error) {
	if err != nil {
		b.lastErr.Store(&err)
		if b.failures.Add(1) >= OpenAfter {
			b.nextProbe.Store(now.Add(b.probeEvery).UnixNano())
		}
		return
	}
	b.failures.Store(0)
	b.nextProbe.Store(0)
}

// Do runs call unless the breaker refuses it, and records the outcome.
// call must report only the dependency's own failures: one cut short
// because its caller left must not open the breaker (give such calls a
// context without the caller's cancellation, as the users in Latch do).
func (b *Breaker) Do(now time.Time, call func() error) error {
	if err := b.allow(now); err != nil {
		return err
	}
	err := call()
	b.done(now, err)
	return err
}
