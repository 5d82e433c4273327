package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The per-account sign-in limit needs three more steps from a store than
// Consume: asking whether a key is at its limit without counting (a sign-in
// is refused before its password is checked, and only a failure counts),
// and remembering a flag for a while (the addresses an account signed in
// from).

// peek is decide without the write: would a request be refused now?
func peek(s *state, r Rule, now time.Time) Decision {
	if s == nil || now.Sub(s.last) >= r.Window || s.count < r.Max {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: s.last.Add(r.Window).Sub(now)}
}

// Peek answers as Consume would, without counting.
func (m *Memory) Peek(_ context.Context, key string, r Rule, now time.Time) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[key]; ok && now.Before(e.expires) {
		return peek(&e.state, r, now), nil
	}
	return peek(nil, r, now), nil
}

// Remember sets a flag on key for ttl.
func (m *Memory) Remember(_ context.Context, key string, ttl time.Duration, now time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) >= m.max {
		m.prune(now)
	}
	m.entries[key] = memoryEntry{state: state{count: 1, last: now}, expires: now.Add(ttl)}
	return nil
}

// Remembers reports whether key's flag is set.
func (m *Memory) Remembers(_ context.Context, key string, now time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[key]
	return ok && now.Before(e.expires), nil
}

// redisCall runs one call within r.Timeout, not ended by the client
// hanging up (as Consume).
func (r *Redis) redisCall(ctx context.Context, call func(context.Context) error) error {
	ctx = context.WithoutCancel(ctx)
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	if err := call(ctx); err != nil {
		return fmt.Errorf("rate limit: redis: %w", err)
	}
	return nil
}

// Peek answers as Consume would, without counting.
func (r *Redis) Peek(ctx context.Context, key string, rule Rule, now time.Time) (Decision, error) {
	var v []any
	err := r.redisCall(ctx, func(ctx context.Context) (err error) {
		v, err = r.rdb.HMGet(ctx, r.prefix+key, "c", "l").Result()
		return err
	})
	if err != nil {
		return Decision{}, err
	}
	count, okc := v[0].(string)
	last, okl := v[1].(string)
	if !okc || !okl {
		return peek(nil, rule, now), nil
	}
	var s state
	var lastMS int64
	if _, err := fmt.Sscan(count, &s.count); err != nil {
		return Decision{}, fmt.Errorf("rate limit: redis holds count %q", count)
	}
	if _, err := fmt.Sscan(last, &lastMS); err != nil {
		return Decision{}, fmt.Errorf("rate limit: redis holds time %q", last)
	}
	s.last = time.UnixMilli(lastMS)
	return peek(&s, rule, now), nil
}

// Remember sets a flag on key for ttl.
func (r *Redis) Remember(ctx context.Context, key string, ttl time.Duration, _ time.Time) error {
	return r.redisCall(ctx, func(ctx context.Context) error { return r.rdb.Set(ctx, r.prefix+key, "1", ttl).Err() })
}

// Remembers reports whether key's flag is set.
func (r *Redis) Remembers(ctx context.Context, key string, _ time.Time) (bool, error) {
	var ok bool
	err := r.redisCall(ctx, func(ctx context.Context) error {
		_, err := r.rdb.Get(ctx, r.prefix+key).Result()
		switch {
		case errors.Is(err, redis.Nil):
			return nil
		case err != nil:
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// store is what a Breaker wraps for the per-account limit.
type store interface {
	consumer
	Peek(ctx context.Context, key string, r Rule, now time.Time) (Decision, error)
	Remember(ctx context.Context, key string, ttl time.Duration, now time.Time) error
	Remembers(ctx context.Context, key string, now time.Time) (bool, error)
}

// Peek asks the store unless it keeps failing and no probe is due.
func (b *Breaker) Peek(ctx context.Context, key string, r Rule, now time.Time) (Decision, error) {
	s, ok := b.store.(store)
	if !ok {
		return Decision{}, fmt.Errorf("rate limit: %v cannot peek", b.store)
	}
	var d Decision
	err := b.b.Do(now, func() (err error) { d, err = s.Peek(ctx, key, r, now); return err })
	return d, err
}

// Remember asks the store unless it keeps failing and no probe is due.
func (b *Breaker) Remember(ctx context.Context, key string, ttl time.Duration, now time.Time) error {
	s, ok := b.store.(store)
	if !ok {
		return fmt.Errorf("rate limit: %v cannot remember", b.store)
	}
	return b.b.Do(now, func() error { return s.Remember(ctx, key, ttl, now) })
}

// Remembers asks the store unless it keeps failing and no probe is due.
func (b *Breaker) Remembers(ctx context.Context, key string, now time.Time) (bool, error) {
	s, ok := b.store.(store)
	if !ok {
		return false, fmt.Errorf("rate limit: %v cannot remember", b.store)
	}
	var known bool
	err := b.b.Do(now, func() (err error) { known, err = s.Remembers(ctx, key, now); return err })
	return known, err
}
