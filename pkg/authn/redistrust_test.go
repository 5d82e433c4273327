package authn

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// Attack: whoever can write to Redis writes a JWKS with their own Ed25519
// key beside auth's into the shared copy. No replica may accept a token
// signed with it: not a user's, not a service client's.
func TestAKeyWrittenIntoRedisIsNeverTrusted(t *testing.T) {
	t.Parallel()
	k1, evil := newEdKey(t, "k1"), newEdKey(t, "evil")
	srv := newJWKSServer(t, k1.jwk())
	rdb, prefix := sharedRedis(t)
	v := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.UnknownKIDWindow = 50 * time.Millisecond })
	mustVerify(t, v, k1.sign(t, claims(nil), nil))

	forged, _ := json.Marshal(map[string]any{"keys": []map[string]any{k1.jwk(), evil.jwk()}})
	if err := rdb.Set(context.Background(), v.keys.jwks(), forged, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{
		"a user's token": evil.sign(t, claims(map[string]any{"sub": "user_victim", "id": "user_victim"}), nil),
		"a service client's token": evil.sign(t, claims(map[string]any{
			"sub": "client:svc", "client_id": "svc", "scope": "tasks:read tasks:write",
			"id": nil, "name": nil, "email": nil, "emailVerified": nil, "image": nil, "createdAt": nil, "updatedAt": nil,
		}), nil),
	}
	check := func(when string) {
		t.Helper()
		for what, token := range tokens {
			if p, err := v.Verify(context.Background(), token); !errors.Is(err, ErrUnknownKID) {
				t.Fatalf("%s: %s signed by a key only Redis knows = %+v, %v; want %v", when, what, p, err, ErrUnknownKID)
			}
		}
	}
	check("on use")
	v.tick(context.Background()) // the refresh cycle reads the shared copy too
	time.Sleep(60 * time.Millisecond)
	check("after a refresh cycle")
	peer := newVerifier(t, srv, rdb, prefix, nil) // a replica starting now
	for what, token := range tokens {
		if _, err := peer.Verify(context.Background(), token); !errors.Is(err, ErrUnknownKID) {
			t.Fatalf("a replica started after the write accepted %s: %v", what, err)
		}
	}
	mustVerify(t, v, k1.sign(t, claims(nil), nil))
}

// Attack: a refresh lease written without expiry (or with a TTL far longer
// than a verifier sets) must not stop refreshes: the reader takes it over.
func TestALeaseWithoutExpiryIsTakenOver(t *testing.T) {
	t.Parallel()
	for _, ttl := range []time.Duration{0, 30 * 24 * time.Hour} {
		k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
		srv := newJWKSServer(t, k1.jwk())
		rdb, prefix := sharedRedis(t)
		v := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.UnknownKIDWindow = 50 * time.Millisecond })
		for _, name := range []string{leaseRefresh, leaseUnknownKID} {
			if err := rdb.Set(context.Background(), v.keys.lease(name), "pinned", ttl).Err(); err != nil {
				t.Fatal(err)
			}
		}
		srv.add(k2.jwk())
		before := srv.fetches.Load()
		v.tick(context.Background())
		if srv.fetches.Load() == before {
			t.Fatalf("lease TTL %v: the refresh cycle did not fetch: the planted lease pins refresh", ttl)
		}
		if left, err := rdb.PTTL(context.Background(), v.keys.lease(leaseRefresh)).Result(); err != nil || left <= 0 || left > v.leaseTTL {
			t.Fatalf("lease TTL %v: the lease now has PTTL %v (%v), want at most %v", ttl, left, err, v.leaseTTL)
		}
		mustVerify(t, v, k2.sign(t, claims(nil), nil))
	}
}

// Attack: whoever writes to Redis keeps re-taking the refresh lease (with a
// proper TTL) and keeps the shared copy equal to an old key set. A key auth
// removed must still stop verifying within two refresh intervals.
func TestAPinnedLeaseAndAStaleCopyDoNotKeepARemovedKey(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
	srv := newJWKSServer(t, k1.jwk(), k2.jwk())
	rdb, prefix := sharedRedis(t)
	v := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.RefreshInterval = interval })
	old := k1.sign(t, claims(nil), nil)
	mustVerify(t, v, old)

	stale, err := rdb.Get(context.Background(), v.keys.jwks()).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	pinned := make(chan struct{})
	go func() {
		defer close(pinned)
		for ctx.Err() == nil {
			rdb.Set(ctx, v.keys.lease(leaseRefresh), "attacker", interval/2)
			rdb.Set(ctx, v.keys.jwks(), stale, time.Hour)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	time.Sleep(20 * time.Millisecond)
	srv.remove("k1")
	removed := time.Now()
	if !eventually(t, 3*interval+300*time.Millisecond, func() bool {
		_, err := v.Verify(context.Background(), old)
		return errors.Is(err, ErrUnknownKID)
	}) {
		t.Fatalf("the removed key still verifies %v after removal, with the lease pinned", time.Since(removed))
	}
	t.Logf("removed key refused after %v (refresh interval %v)", time.Since(removed), interval)
	mustVerify(t, v, k2.sign(t, claims(nil), nil))
	stop()
	<-pinned
}
