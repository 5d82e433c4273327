package authn

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/redis/go-redis/v9"
)

// How the key set is kept fresh across a cluster.
//
// Every Verify reads only the in-process copy (local). Two leases, both
// "SET key NX PX ttl" in Redis (or an in-process map without Redis), decide
// who talks to the JWKS:
//
//   - refresh: on each tick (every RefreshInterval) a replica tries to take
//     it for a little less than RefreshInterval. The winner fetches the JWKS,
//     adopts it and writes it to the shared key; the others read the shared
//     key. The lease is never released, only left to expire, so it is both the
//     lock and the "one fetch per interval for the cluster" gate. After a
//     failed fetch its TTL is cut to retryDelay so someone retries soon.
//   - unknown-kid: a token with a kid not in local first makes the replica
//     re-read the shared key (a peer may have fetched the rotated set); if the
//     kid is still unknown, whoever takes this lease (for UnknownKIDWindow)
//     fetches. Everyone else rejects the token: a flood of random kids costs
//     at most one JWKS fetch per window for the whole cluster.
//
// When a Redis call fails the replica logs it, counts it and for a few
// seconds uses its in-process leases instead (the same rules per process),
// so rotation and refresh go on; verification never needed Redis anyway.

const (
	leaseRefresh    = "refresh"
	leaseUnknownKID = "unknown-kid"
	redisTimeout    = time.Second
	redisBackoff    = 5 * time.Second
	peerPoll        = 25 * time.Millisecond
	peerWait        = 3 * time.Second
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

func (r *redisCluster) acquire(ctx context.Context, name string, ttl time.Duration) (bool, error) {
	ok, err := r.client.SetNX(ctx, r.keys.lease(name), time.Now().UTC().Format(time.RFC3339Nano), ttl).Result()
	if err != nil {
		return false, fmt.Errorf("take %s lease: %w", name, err)
	}
	return ok, nil
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

// start loads the first key set: the shared copy if a peer has one, else a
// fetch; when a peer holds the refresh lease without having shared a set yet,
// it waits a little (peerWait, within ctx) for the peer's result. Whatever
// is missing then is retried by the background loop and on use.
func (v *Verifier) start(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	waitUntil := time.Now().Add(peerWait)
	v.pull(ctx)
	for {
		if v.take(ctx, leaseRefresh, v.leaseTTL) {
			if err := v.fetch(ctx, "start"); err != nil {
				v.shorten(ctx, leaseRefresh, v.retryDelay)
			}
			return
		}
		if v.Ready() || time.Now().After(waitUntil) {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(peerPoll):
		}
		v.pull(ctx)
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

// tick is one refresh cycle: fetch if this replica wins the refresh lease,
// otherwise adopt whatever the winner shared.
func (v *Verifier) tick(ctx context.Context) {
	if v.take(ctx, leaseRefresh, v.leaseTTL) {
		if err := v.fetch(ctx, "interval"); err != nil {
			v.shorten(ctx, leaseRefresh, v.retryDelay)
		}
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
	v.adopt(ctx, raw, keys, "http")
	v.hookRefresh("http", nil)
	if r := v.shared(); r != nil {
		rctx, cancel := context.WithTimeout(ctx, redisTimeout)
		defer cancel()
		if err := r.store.putRaw(rctx, raw); err != nil {
			v.redisFailed(ctx, err)
		}
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

// pull adopts the shared key set if a peer published a different one.
func (v *Verifier) pull(ctx context.Context) {
	r := v.shared()
	if r == nil {
		return
	}
	rctx, cancel := context.WithTimeout(ctx, redisTimeout)
	defer cancel()
	raw, err := r.store.raw(rctx)
	if err != nil {
		v.redisFailed(ctx, err)
		return
	}
	if raw == nil || v.same(raw) {
		return
	}
	_, keys, _, err := parseJWKS(raw)
	if err != nil {
		err = fmt.Errorf("shared JWKS: %w", err)
		v.log.WarnContext(ctx, "authn: ignoring unusable shared JWKS", "err", err)
		v.hookRefresh("redis", err)
		return
	}
	if v.adopt(ctx, raw, keys, "redis") {
		v.sharedReads.Add(1)
		v.hookRefresh("redis", nil)
	}
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

// shared returns the Redis side unless there is none or it is backing off.
func (v *Verifier) shared() *redisCluster {
	if v.redis == nil || time.Now().UnixNano() < v.redisDown.Load() {
		return nil
	}
	return v.redis
}

func (v *Verifier) take(ctx context.Context, name string, ttl time.Duration) bool {
	if r := v.shared(); r != nil {
		rctx, cancel := context.WithTimeout(ctx, redisTimeout)
		defer cancel()
		ok, err := r.acquire(rctx, name, ttl)
		if err == nil {
			return ok
		}
		v.redisFailed(ctx, err)
	}
	return v.mem.acquire(name, ttl)
}

func (v *Verifier) shorten(ctx context.Context, name string, ttl time.Duration) {
	v.mem.shorten(name, ttl)
	if r := v.shared(); r != nil {
		rctx, cancel := context.WithTimeout(ctx, redisTimeout)
		defer cancel()
		if err := r.shorten(rctx, name, ttl); err != nil {
			v.redisFailed(ctx, err)
		}
	}
}

// redisFailed switches this replica to its in-process leases for a while.
func (v *Verifier) redisFailed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return // our caller gave up; Redis is not to blame
	}
	v.redisErrors.Add(1)
	v.redisDown.Store(time.Now().Add(redisBackoff).UnixNano())
	v.log.WarnContext(ctx, "authn: Redis unavailable; using the in-process JWKS cache and limits",
		"retry_in", redisBackoff, "err", err)
	v.hookRefresh("redis", err)
}

func (v *Verifier) hookRefresh(source string, err error) {
	if f := v.cfg.Hooks.OnRefresh; f != nil {
		f(source, err)
	}
}
