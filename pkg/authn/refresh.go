package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/breaker"
)

// How the key set is kept fresh across a cluster, and why Redis cannot
// change it.
//
// Every Verify reads only the in-process copy (local), and local only ever
// holds keys this process fetched from the JWKS URL itself. Redis, which
// anyone with its password can write, carries signals, never keys:
//
//   - the shared copy: whoever fetches publishes the JWKS there. A peer that
//     finds a copy different from its own takes it as "the key set may have
//     changed" and fetches the JWKS itself (at most once per retryDelay per
//     process); it never adopts the copy. A forged copy therefore costs a
//     fetch, and cannot add a key, keep a removed one or drop a live one.
//   - refresh: on each tick (every RefreshInterval) a replica tries to take
//     it for a little less than RefreshInterval; the winner fetches, so a
//     rotation is seen by one replica within an interval and by the others,
//     through the shared copy, at their next tick. A replica whose own last
//     fetch is older than staleAfter (1.5 intervals) fetches at its tick
//     whoever holds the lease, so a lease held forever, or a shared copy
//     kept equal to an old set, cannot keep a replica on stale keys for more
//     than two intervals.
//   - unknown-kid: a token with a kid not in local first makes the replica
//     check the shared copy (a peer may have seen a rotation); if the kid
//     is still unknown, whoever takes this lease (for UnknownKIDWindow)
//     fetches. Everyone else rejects the token: a flood of random kids costs
//     at most one JWKS fetch per window for the whole cluster.
//
// Leases always expire: they are taken with a TTL, and a lease found without
// one, or with a longer one than the taker would set, is taken over (one Lua
// script, atomically). A lease held by someone who keeps re-taking it only
// delays fetches to the staleAfter bound above.
//
// Redis failing is pkg/breaker's policy, the same as everywhere in Latch:
// after three failures in a row calls are skipped, one probe a second, and
// the replica uses its in-process leases meanwhile (the same rules per
// process), so rotation and refresh go on; verification never needed Redis.

const (
	leaseRefresh    = "refresh"
	leaseUnknownKID = "unknown-kid"
	// leaseHint limits, per process, the fetches a changed shared copy causes.
	leaseHint    = "hint"
	redisTimeout = time.Second
)

// keyNames are the Redis keys of one JWKS URL; the hash tag keeps them in one
// Redis Cluster slot and keeps verifiers of different URLs apart.
type keyNames struct{ base string }

func newKeyNames(prefix, jwksURL string) keyNames {
	h := sha256.Sum256([]byte(jwksURL))
	return keyNames{base: prefix + "{" + hex.EncodeToString(h[:8]) + "}:"}
}

func (k keyNames) jwks() string             { return k.base + "jwks" }
func (k keyNames) lease(name string) string { return k.base + name }

type redisCluster struct {
	client *redis.Client
	store  *redisStorage
	keys   keyNames
}

func newRedisCluster(c *redis.Client, keys keyNames, ttl time.Duration) *redisCluster {
	return &redisCluster{client: c, keys: keys, store: &redisStorage{client: c, key: keys.jwks(), ttl: ttl}}
}

// takeLease sets the lease unless a live one with a TTL no longer than ours
// holds it: a lease without expiry (PTTL -1) or longer than ARGV[2] ms was
// not set by these rules and is taken over.
var takeLease = redis.NewScript(`
local pttl = redis.call('PTTL', KEYS[1])
if pttl == -2 or pttl == -1 or pttl > tonumber(ARGV[2]) then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

func (r *redisCluster) acquire(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	taken, err := takeLease.Run(ctx, r.client, []string{r.keys.lease(name)},
		time.Now().UTC().Format(time.RFC3339Nano), max(ttl.Milliseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("take %s lease: %w", name, err)
	}
	return taken == 1, nil
}

func (r *redisCluster) shorten(ctx context.Context, name string, ttl time.Duration) error {
	if err := r.client.PExpire(ctx, r.keys.lease(name), ttl).Err(); err != nil {
		return fmt.Errorf("shorten %s lease: %w", name, err)
	}
	return nil
}

// localLeases are the in-process equivalent of the Redis leases.
type localLeases struct {
	mu    sync.Mutex
	until map[string]time.Time
}

func newLocalLeases() *localLeases { return &localLeases{until: map[string]time.Time{}} }

func (l *localLeases) acquire(name string, ttl time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.until[name]) {
		return false
	}
	l.until[name] = now.Add(ttl)
	return true
}

func (l *localLeases) shorten(name string, ttl time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t := time.Now().Add(ttl); t.Before(l.until[name]) {
		l.until[name] = t
	}
}

// start loads the first key set from the JWKS itself: a copy in Redis is
// no key source, so a replica that cannot reach auth at start has no keys
// (Ready is false) and keeps trying in the background and on use.
func (v *Verifier) start(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	if err := v.fetch(ctx, "start"); err == nil {
		v.take(ctx, leaseRefresh, v.leaseTTL) // the cluster's fetch for this interval, if nobody made one
	}
}

func (v *Verifier) run(ctx context.Context) {
	defer close(v.done)
	t := time.NewTimer(v.nextTick())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			v.tick(ctx)
			t.Reset(v.nextTick())
		}
	}
}

func (v *Verifier) nextTick() time.Duration {
	if v.Ready() {
		return v.cfg.RefreshInterval
	}
	return v.retryDelay
}

// tick is one refresh cycle: fetch if this replica wins the refresh lease
// or its own last fetch is older than staleAfter, otherwise check the
// shared copy for a change.
func (v *Verifier) tick(ctx context.Context) {
	if v.take(ctx, leaseRefresh, v.leaseTTL) {
		if err := v.fetch(ctx, "interval"); err != nil {
			v.shorten(ctx, leaseRefresh, v.retryDelay)
		}
		return
	}
	if last := v.lastFetch.Load(); last == 0 || time.Since(time.Unix(0, last)) >= v.staleAfter {
		_ = v.fetch(ctx, "own_interval")
		return
	}
	v.pull(ctx)
}

// lookUpUnknownKID gives a token with an unknown kid its one chance: re-read
// the shared set, then fetch if this replica takes the unknown-kid lease.
// Concurrent calls in one process share one attempt.
func (v *Verifier) lookUpUnknownKID(ctx context.Context, kid string) {
	ch := v.flight.DoChan(leaseUnknownKID, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		v.pull(ctx)
		if v.has(ctx, kid) {
			return nil, nil
		}
		if v.take(ctx, leaseUnknownKID, v.cfg.UnknownKIDWindow) {
			return nil, v.fetch(ctx, "unknown_kid")
		}
		return nil, nil
	})
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

func (v *Verifier) has(ctx context.Context, kid string) bool {
	_, err := v.local.KeyRead(ctx, kid)
	return err == nil
}

// fetch downloads the JWKS, adopts it and shares it. On failure the cached
// keys stay in use.
func (v *Verifier) fetch(ctx context.Context, trigger string) error {
	raw, keys, err := v.download(ctx)
	if err != nil {
		v.fetchFailures.Add(1)
		v.log.WarnContext(ctx, "authn: JWKS fetch failed; keeping cached keys",
			"url", v.cfg.JWKSURL, "trigger", trigger, "cached_keys", v.Stats().Keys, "err", err)
		v.hookRefresh("http", err)
		return err
	}
	v.fetches.Add(1)
	v.lastFetch.Store(time.Now().UnixNano())
	v.adopt(ctx, raw, keys, "http")
	v.hookRefresh("http", nil)
	if v.redis != nil {
		_ = v.callRedis(ctx, func(ctx context.Context) error { return v.redis.store.putRaw(ctx, raw) })
	}
	return nil
}

func (v *Verifier) download(ctx context.Context) ([]byte, []jwkset.JWK, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.cfg.JWKSURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("build JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("get JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("get JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read JWKS: %w", err)
	}
	if len(body) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("JWKS is larger than %d bytes", maxJWKSBytes)
	}
	raw, keys, skipped, err := parseJWKS(body)
	if len(skipped) > 0 {
		v.log.DebugContext(ctx, "authn: JWKS keys skipped", "keys", skipped)
	}
	return raw, keys, err
}

// pull checks the shared copy: one that differs from the set in use means
// a peer (or whoever wrote to Redis) saw another JWKS, and this replica
// fetches the JWKS to see for itself, at most once per retryDelay. The
// copy's content is never used.
func (v *Verifier) pull(ctx context.Context) {
	if v.redis == nil {
		return
	}
	var raw []byte
	if err := v.callRedis(ctx, func(ctx context.Context) (err error) {
		raw, err = v.redis.store.raw(ctx)
		return err
	}); err != nil || raw == nil || v.same(raw) {
		return
	}
	if !v.mem.acquire(leaseHint, v.retryDelay) {
		return
	}
	v.sharedHints.Add(1)
	_ = v.fetch(ctx, "shared_copy_changed")
}

func (v *Verifier) same(raw []byte) bool {
	s := v.current.Load()
	return s != nil && bytes.Equal(s.raw, raw)
}

// adopt makes keys the local set, unless raw is the set already in use.
func (v *Verifier) adopt(ctx context.Context, raw []byte, keys []jwkset.JWK, source string) bool {
	v.adoptMu.Lock()
	defer v.adoptMu.Unlock()
	if v.same(raw) {
		return false
	}
	if err := v.local.KeyReplaceAll(ctx, keys); err != nil { // cannot fail in memory
		v.log.ErrorContext(ctx, "authn: cannot store key set", "err", err)
		return false
	}
	v.current.Store(&snapshot{raw: raw, keys: len(keys)})
	kids := make([]string, len(keys))
	for i, k := range keys {
		kids[i] = k.Marshal().KID
	}
	v.log.InfoContext(ctx, "authn: key set updated", "source", source, "kids", kids)
	return true
}

func (v *Verifier) take(ctx context.Context, name string, ttl time.Duration) bool {
	if v.redis != nil {
		var ok bool
		if err := v.callRedis(ctx, func(ctx context.Context) (err error) {
			ok, err = v.redis.acquire(ctx, name, ttl)
			return err
		}); err == nil {
			return ok
		}
	}
	return v.mem.acquire(name, ttl)
}

func (v *Verifier) shorten(ctx context.Context, name string, ttl time.Duration) {
	v.mem.shorten(name, ttl)
	if v.redis != nil {
		_ = v.callRedis(ctx, func(ctx context.Context) error { return v.redis.shorten(ctx, name, ttl) })
	}
}

// callRedis runs one Redis call within redisTimeout unless pkg/breaker
// refuses it (Redis failed three times in a row, next probe not due). A
// failure is counted, and logged through pkg/redisclient's throttle (one
// line per 30 s, with the number left out); a refusal is neither. A call
// cut short because our caller gave up does not count against Redis.
func (v *Verifier) callRedis(ctx context.Context, call func(context.Context) error) error {
	var callerGone bool
	err := v.redisDown.Do(time.Now(), func() error {
		rctx, cancel := context.WithTimeout(ctx, redisTimeout)
		defer cancel()
		err := call(rctx)
		if err != nil && ctx.Err() != nil {
			callerGone = true
			return nil
		}
		return err
	})
	switch {
	case callerGone:
		return ctx.Err()
	case err == nil, errors.Is(err, breaker.ErrOpen):
		return err
	}
	v.redisErrors.Add(1)
	v.redisLog.Log(ctx, time.Now(), slog.LevelWarn, "authn: Redis call failed; using the in-process leases, Redis is tried again after a probe interval", "err", err)
	v.hookRefresh("redis", err)
	return err
}

func (v *Verifier) hookRefresh(source string, err error) {
	if f := v.cfg.Hooks.OnRefresh; f != nil {
		f(source, err)
	}
}
