package authn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
)

// modes runs a test with the cache shared through Redis and kept in process.
var modes = []struct {
	name  string
	redis bool
}{
	{name: "with Redis", redis: true},
	{name: "in memory", redis: false},
}

func modeRedis(t *testing.T, withRedis bool) (*redis.Client, string) {
	t.Helper()
	if !withRedis {
		return nil, ""
	}
	return sharedRedis(t)
}

func randomKIDToken(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return newEdKey(t, "rnd-"+hex.EncodeToString(b)).sign(t, claims(nil), nil)
}

func mustVerify(t testing.TB, v *Verifier, token string) {
	t.Helper()
	if _, err := v.Verify(context.Background(), token); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestARotatedKeyIsAcceptedWithinOneWindowAndTheOldOneUntilRemoved(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			const window = 400 * time.Millisecond
			k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
			srv := newJWKSServer(t, k1.jwk())
			rdb, prefix := modeRedis(t, mode.redis)
			v := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.UnknownKIDWindow = window })
			old := k1.sign(t, claims(nil), nil)
			mustVerify(t, v, old)

			// An unknown kid uses up the window, then the auth service rotates.
			if _, err := v.Verify(context.Background(), randomKIDToken(t)); !errors.Is(err, ErrUnknownKID) {
				t.Fatalf("random kid: %v", err)
			}
			srv.add(k2.jwk())
			rotated := k2.sign(t, claims(nil), nil)
			start := time.Now()
			if !eventually(t, 2*window, func() bool {
				_, err := v.Verify(context.Background(), rotated)
				return err == nil
			}) {
				t.Fatal("the rotated key was not accepted")
			}
			if waited := time.Since(start); waited > window+200*time.Millisecond {
				t.Fatalf("the rotated key took %v, more than one window (%v)", waited, window)
			}
			mustVerify(t, v, old)

			if mode.redis { // a peer starting now reads the JWKS itself: Redis holds no keys it trusts
				peer := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.UnknownKIDWindow = window })
				mustVerify(t, peer, rotated)
				mustVerify(t, peer, old)
				if st := peer.Stats(); st.Fetches != 1 {
					t.Fatalf("the peer made %d fetches, want its own one at start", st.Fetches)
				}
			}

			srv.remove("k1")
			if !eventually(t, 3*window, func() bool {
				_, _ = v.Verify(context.Background(), randomKIDToken(t)) // triggers a refresh once the window allows
				_, err := v.Verify(context.Background(), old)
				return errors.Is(err, ErrUnknownKID)
			}) {
				t.Fatal("the removed key is still accepted")
			}
			mustVerify(t, v, rotated)
		})
	}
}

func TestValidTokensAreStillAcceptedWhenTheJWKSServerIsDown(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			k1 := newEdKey(t, "k1")
			srv := newJWKSServer(t, k1.jwk())
			rdb, prefix := modeRedis(t, mode.redis)
			config := func(c *Config) {
				c.RefreshInterval = 100 * time.Millisecond
				c.UnknownKIDWindow = 50 * time.Millisecond
			}
			v := newVerifier(t, srv, rdb, prefix, config)
			token := k1.sign(t, claims(nil), nil)
			mustVerify(t, v, token)

			srv.srv.Close()
			if !eventually(t, 3*time.Second, func() bool { return v.Stats().FetchFailures >= 2 }) {
				t.Fatalf("no failed refresh was counted: %+v", v.Stats())
			}
			mustVerify(t, v, token)
			if !v.Ready() {
				t.Fatal("the verifier is not ready although it holds keys")
			}
			if _, err := v.Verify(context.Background(), randomKIDToken(t)); !errors.Is(err, ErrUnknownKID) {
				t.Fatalf("random kid while the JWKS is down: %v", err)
			}

			if mode.redis { // a replica started during the outage does not take its keys from Redis
				late := newVerifier(t, srv, rdb, prefix, config)
				if late.Ready() {
					t.Fatalf("a replica started during the outage is ready with keys it could not fetch: %+v", late.Stats())
				}
				if _, err := late.Verify(context.Background(), token); !errors.Is(err, ErrUnavailable) {
					t.Fatalf("a replica without keys: %v, want %v", err, ErrUnavailable)
				}
			}
		})
	}
}

// Each replica fetches once at start (Redis is no key source); after that
// one fetch per refresh interval serves the cluster while the shared copy
// shows no change.
func TestTwoReplicasOnOneRedisFetchOncePerRefresh(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	rdb, prefix := sharedRedis(t)

	var a, b *Verifier
	var wg sync.WaitGroup
	wg.Go(func() { a = newVerifier(t, srv, rdb, prefix, nil) })
	wg.Go(func() { b = newVerifier(t, srv, rdb, prefix, nil) })
	wg.Wait()
	if got := srv.fetches.Load(); got != 2 {
		t.Fatalf("starting two replicas fetched %d times, want 2", got)
	}
	token := k1.sign(t, claims(nil), nil)
	mustVerify(t, a, token)
	mustVerify(t, b, token)

	// The refresh interval ends (the lease expires) and both replicas tick.
	for cycle := 2; cycle <= 4; cycle++ {
		if err := rdb.Del(context.Background(), a.keys.lease(leaseRefresh)).Err(); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { a.tick(context.Background()) })
		wg.Go(func() { b.tick(context.Background()) })
		wg.Wait()
		if got := srv.fetches.Load(); got != int64(cycle+1) {
			t.Fatalf("after %d refresh cycles the JWKS saw %d fetches, want %d", cycle-1, got, cycle+1)
		}
	}
}

func TestTwoReplicasRefreshingOnATimerShareTheFetches(t *testing.T) {
	t.Parallel()
	const interval, run = 200 * time.Millisecond, 1100 * time.Millisecond
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	rdb, prefix := sharedRedis(t)
	fast := func(c *Config) { c.RefreshInterval = interval }
	a := newVerifier(t, srv, rdb, prefix, fast)
	b := newVerifier(t, srv, rdb, prefix, fast)
	time.Sleep(run)
	a.Close()
	b.Close()
	// One replica alone makes 1 + run/interval = 6 fetches; two unshared caches
	// would make 12. Shared: one each at start, the lease winner's each tick
	// (5), and the loser's own every other tick at most (staleAfter is 1.5
	// intervals): 7 to 10.
	t.Logf("%d JWKS fetches by two replicas in %v", srv.fetches.Load(), run)
	if got := srv.fetches.Load(); got < 4 || got > 10 {
		t.Fatalf("two replicas made %d fetches in %v at a %v interval, want 4..10", got, run, interval)
	}
}

func TestAFloodOfRandomKIDsCostsAtMostOneFetchPerWindow(t *testing.T) {
	t.Parallel()
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = randomKIDToken(t)
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			k1 := newEdKey(t, "k1")
			srv := newJWKSServer(t, k1.jwk())
			rdb, prefix := modeRedis(t, mode.redis)
			replicas := []*Verifier{newVerifier(t, srv, rdb, prefix, nil)}
			if mode.redis {
				replicas = append(replicas, newVerifier(t, srv, rdb, prefix, nil))
			}
			before := srv.fetches.Load()

			var wg sync.WaitGroup
			errs := make(chan error, len(tokens))
			for w := range 50 {
				wg.Go(func() {
					for i := w; i < len(tokens); i += 50 {
						v := replicas[i%len(replicas)]
						if _, err := v.Verify(context.Background(), tokens[i]); !errors.Is(err, ErrUnknownKID) {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatalf("a random kid was not rejected as unknown: %v", err)
			}
			t.Logf("%d JWKS fetches during the flood", srv.fetches.Load()-before)
			if got := srv.fetches.Load() - before; got > 1 {
				t.Fatalf("1000 random kids on %d replicas caused %d JWKS fetches in one window, want at most 1", len(replicas), got)
			}
			mustVerify(t, replicas[0], k1.sign(t, claims(nil), nil))
		})
	}
}

func TestASustainedFloodFetchesOncePerWindowAcrossReplicas(t *testing.T) {
	t.Parallel()
	const window, run = 250 * time.Millisecond, time.Second
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	rdb, prefix := sharedRedis(t)
	short := func(c *Config) { c.UnknownKIDWindow = window }
	replicas := []*Verifier{newVerifier(t, srv, rdb, prefix, short), newVerifier(t, srv, rdb, prefix, short)}
	token := randomKIDToken(t) // one kid is enough: it stays unknown
	before := srv.fetches.Load()
	deadline := time.Now().Add(run)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				_, _ = replicas[w%2].Verify(context.Background(), token)
			}
		})
	}
	wg.Wait()
	t.Logf("%d JWKS fetches during the flood", srv.fetches.Load()-before)
	if got, limit := srv.fetches.Load()-before, int64(run/window)+1; got < 2 || got > limit {
		t.Fatalf("a %v flood with a %v window caused %d fetches, want 2..%d", run, window, got, limit)
	}
}

func TestARedisOutageDoesNotStopVerificationOrRotation(t *testing.T) {
	t.Parallel()
	k1, k2 := newEdKey(t, "k1"), newEdKey(t, "k2")
	srv := newJWKSServer(t, k1.jwk())
	prefix := redisPrefix(t, testdb.Redis(t))
	opts, err := redis.ParseURL(testdb.RedisURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts) // this test's own client, to close mid-test
	var logs testlog.Buffer
	v := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	token := k1.sign(t, claims(nil), nil)
	mustVerify(t, v, token)

	if err := rdb.Close(); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, v, token)
	srv.add(k2.jwk())
	mustVerify(t, v, k2.sign(t, claims(nil), nil))
	st := v.Stats()
	if st.RedisErrors < 2 || st.Fetches != 2 {
		t.Fatalf("stats = %+v, want Redis errors counted and the rotation fetched", st)
	}
	// Every failure is counted; the log has one line for them all
	// (pkg/redisclient's throttle: one of a kind per 30 s).
	if n := strings.Count(logs.String(), "authn: Redis call failed"); n != 1 {
		t.Errorf("%d log lines for %d Redis failures, want 1:\n%s", n, st.RedisErrors, logs.String())
	}
}

func TestAVerifierStartsWhenRedisIsUnreachable(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = dead.Close() })
	v := newVerifier(t, srv, dead, "authn-test:dead:", nil)
	if !v.Ready() {
		t.Fatalf("not ready: %+v", v.Stats())
	}
	mustVerify(t, v, k1.sign(t, claims(nil), nil))
}

func TestAVerifierStartedWithoutAJWKSLoadsItOnUse(t *testing.T) {
	t.Parallel()
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			k1 := newEdKey(t, "k1")
			srv := newJWKSServer(t, k1.jwk())
			srv.failing.Store(true)
			rdb, prefix := modeRedis(t, mode.redis)
			v := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.UnknownKIDWindow = 100 * time.Millisecond })
			if v.Ready() {
				t.Fatal("ready without keys")
			}
			token := k1.sign(t, claims(nil), nil)
			if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Verify without keys: %v, want %v", err, ErrUnavailable)
			}
			srv.failing.Store(false)
			if !eventually(t, 2*time.Second, func() bool {
				_, err := v.Verify(context.Background(), token)
				return err == nil
			}) {
				t.Fatalf("the JWKS came back but tokens are still refused: %+v", v.Stats())
			}
			if !v.Ready() {
				t.Fatal("not ready after loading the JWKS")
			}
		})
	}
}

func TestCloseStopsTheBackgroundRefresh(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	v := newVerifier(t, srv, nil, "", func(c *Config) { c.RefreshInterval = 20 * time.Millisecond })
	v.Close()
	before := srv.fetches.Load()
	time.Sleep(100 * time.Millisecond)
	if got := srv.fetches.Load(); got != before {
		t.Fatalf("%d fetches after Close", got-before)
	}
	mustVerify(t, v, k1.sign(t, claims(nil), nil))
}
