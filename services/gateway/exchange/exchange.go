// Package exchange turns a browser's session cookie into the user's JWT for
// services that only accept Bearer tokens. Tokens are fetched from the auth
// service's /api/auth/token, cached per session until shortly before they
// expire, and shared between gateway replicas through Redis when it is set.
//
// Revocation bound: a session signed out through the gateway is evicted at
// once (here and in Redis). With Config.Revocations (kept from auth's
// revocation feed, docs/revocation.md), a cached token of a session, user or
// client revoked any other way, on any auth replica, is evicted the next time
// it would be handed out, within the feed's bound (about a second); so is one
// whose organization claims a membership change made stale. Without it, such
// a token stays cached until its exp minus Margin.
//
// Switching organization through the gateway (SwitchesOrganization) evicts
// the session's token before the browser sees auth's answer, so its next
// request carries the new org claim.
package exchange

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/redis/go-redis/v9"
	"golang.org/x/sync/singleflight"

	"github.com/latchid/latch/pkg/breaker"
	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/revocation"
)

// ErrUnauthenticated means auth does not know the session (signed out,
// expired, revoked or forged cookie).
var ErrUnauthenticated = errors.New("session is not valid")

// ErrAuthUnavailable means the auth service could not be asked.
var ErrAuthUnavailable = errors.New("auth service unavailable")

// ErrAuthTimeout means the auth service did not answer in time.
var ErrAuthTimeout = errors.New("auth service timed out")

const (
	// Margin is how long before exp a cached token is no longer handed out,
	// so a token never expires between the gateway and the tasks service.
	Margin = 30 * time.Second
	// LocalTTL bounds the in-process copy when Redis is the shared cache.
	LocalTTL = 5 * time.Second
	// fetchTimeout bounds one call to auth, shared by every waiting request.
	fetchTimeout = 10 * time.Second
	redisPrefix  = "latch:gateway:token:"
	// RedisTimeout bounds one call to the shared cache. A miss costs a
	// call to auth, a few milliseconds: waiting longer on Redis than that
	// only delays the request.
	RedisTimeout = 100 * time.Millisecond
)

// Config wires an Exchanger.
type Config struct {
	TokenURL  string        // e.g. http://auth:3001/api/auth/token
	Client    *http.Client  // with upstream timeouts
	CacheSize int           // sessions kept in process
	Redis     *redis.Client // from pkg/redisclient: calls end at their deadline (RedisTimeout)
	Logger    *slog.Logger
	Now       func() time.Time // tests
	// Observe, when set, hears how each Token call was answered: "memory"
	// or "redis" (a cache hit), "auth" (fetched) or "error".
	Observe func(outcome string)
	// Revocations, when set, is the deny set kept from auth's revocation
	// feed: a cached token of a revoked session, user or client is evicted
	// (here and in Redis) instead of handed out, and auth is asked again.
	Revocations *revocation.Set
}

// The outcomes Observe hears.
const (
	FromMemory = "memory"
	FromRedis  = "redis"
	FromAuth   = "auth"
	Failed     = "error"
)

// Exchanger hands out a session's JWT.
type Exchanger struct {
	cfg   Config
	local *lru.Cache[string, entry]
	group singleflight.Group
	// redisDown keeps a failing Redis from costing every request its
	// timeout: after failures in a row, one call a second tries it.
	redisDown *breaker.Breaker
	// redisLog is pkg/redisclient's throttle for the failures logged meanwhile.
	redisLog *redisclient.Logger
	// evictions counts Evict calls. A fetch that overlapped one does not
	// cache its token: it may have been minted before the change the
	// eviction is for (an old organization's token fetched while the
	// switch was in flight). Evictions are rare (sign-out, switching
	// organization), so the cost is an occasional extra call to auth.
	evictions atomic.Uint64
}

type entry struct {
	token string
	until time.Time
	facts revocation.Token // what the deny set needs; read when cached
}

// New returns an Exchanger.
func New(cfg Config) (*Exchanger, error) {
	if cfg.TokenURL == "" || cfg.Client == nil || cfg.Logger == nil {
		return nil, errors.New("exchange: TokenURL, Client and Logger are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observe == nil {
		cfg.Observe = func(string) {}
	}
	local, err := lru.New[string, entry](cfg.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("exchange: %w", err)
	}
	return &Exchanger{cfg: cfg, local: local, redisDown: breaker.New(breaker.DefaultProbeEvery),
		redisLog: redisclient.NewLogger(cfg.Logger, redisclient.DefaultInterval)}, nil
}

// Token returns a JWT for the session, fetched from auth with the
// session's own cookie (Cookies.Session) and nothing else of the request.
func (x *Exchanger) Token(ctx context.Context, s Session) (string, error) {
	key := s.key
	now := x.cfg.Now()
	if e, ok := x.local.Get(key); ok && now.Before(e.until) {
		if !x.revoked(e) {
			x.cfg.Observe(FromMemory)
			return e.token, nil
		}
		x.local.Remove(key) // and from Redis below, where a peer may have put it
	}
	v, err, _ := x.group.Do(key, func() (any, error) {
		// Detached from the first caller: its cancellation must not fail
		// the others waiting on the same call.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
		defer cancel()
		evictions := x.evictions.Load()
		if e, ok := x.fromRedis(ctx, key); ok {
			if !x.revoked(e) {
				if x.evictions.Load() == evictions {
					x.local.Add(key, e)
				}
				x.cfg.Observe(FromRedis)
				return e.token, nil
			}
			x.redis(ctx, "evict from", func(ctx context.Context) error { return x.cfg.Redis.Del(ctx, redisPrefix+key).Err() })
		}
		e, err := x.fetch(ctx, s.header)
		if err != nil {
			x.cfg.Observe(Failed)
			return "", err
		}
		x.cfg.Observe(FromAuth)
		if e.until.After(x.cfg.Now()) && x.evictions.Load() == evictions {
			x.toRedis(ctx, key, e)
			if x.cfg.Redis != nil {
				e.until = minTime(e.until, x.cfg.Now().Add(LocalTTL))
			}
			x.local.Add(key, e)
		}
		return e.token, nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

// Evict forgets the session's token (sign-out, switching organization).
// Requests after it fetch anew: they do not join a fetch already under way,
// and that fetch caches nothing (evictions). It finishes even if the client
// hangs up: the eviction must happen, and a cancelled call would count as
// Redis failing.
func (x *Exchanger) Evict(ctx context.Context, s Session) {
	ctx = context.WithoutCancel(ctx)
	key := s.key
	x.evictions.Add(1)
	x.group.Forget(key)
	x.local.Remove(key)
	if x.cfg.Redis != nil {
		x.redis(ctx, "evict from", func(ctx context.Context) error { return x.cfg.Redis.Del(ctx, redisPrefix+key).Err() })
	}
}

func (x *Exchanger) fetch(ctx context.Context, cookieHeader string) (entry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, x.cfg.TokenURL, nil)
	if err != nil {
		return entry{}, fmt.Errorf("%w: %v", ErrAuthUnavailable, err)
	}
	req.Header.Set("Cookie", cookieHeader)
	req.Header.Set("Accept", "application/json")
	if id := httplog.RequestID(ctx); id != "" {
		req.Header.Set(httplog.Header, id)
	}
	resp, err := x.cfg.Client.Do(req)
	if err != nil {
		if isTimeout(err) {
			return entry{}, fmt.Errorf("%w: %v", ErrAuthTimeout, err)
		}
		return entry{}, fmt.Errorf("%w: %v", ErrAuthUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return entry{}, ErrUnauthenticated
	case resp.StatusCode != http.StatusOK:
		return entry{}, fmt.Errorf("%w: /token answered %d", ErrAuthUnavailable, resp.StatusCode)
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&body); err != nil || body.Token == "" {
		return entry{}, fmt.Errorf("%w: /token answered without a token", ErrAuthUnavailable)
	}
	exp, ok := expiry(body.Token)
	if !ok {
		return entry{token: body.Token}, nil // usable once, not cacheable
	}
	return entry{token: body.Token, until: exp.Add(-Margin), facts: factsOf(body.Token)}, nil
}

func (x *Exchanger) fromRedis(ctx context.Context, key string) (entry, bool) {
	if x.cfg.Redis == nil {
		return entry{}, false
	}
	var tok string
	if err := x.redis(ctx, "read from", func(ctx context.Context) (err error) {
		tok, err = x.cfg.Redis.Get(ctx, redisPrefix+key).Result()
		if errors.Is(err, redis.Nil) {
			return nil // an answer: not cached
		}
		return err
	}); err != nil || tok == "" {
		return entry{}, false
	}
	exp, ok := expiry(tok)
	if !ok {
		return entry{}, false
	}
	until := minTime(exp.Add(-Margin), x.cfg.Now().Add(LocalTTL))
	if !until.After(x.cfg.Now()) {
		return entry{}, false
	}
	return entry{token: tok, until: until, facts: factsOf(tok)}, true
}

func (x *Exchanger) toRedis(ctx context.Context, key string, e entry) {
	if x.cfg.Redis == nil {
		return
	}
	ttl := e.until.Sub(x.cfg.Now())
	x.redis(ctx, "write to", func(ctx context.Context) error { return x.cfg.Redis.Set(ctx, redisPrefix+key, e.token, ttl).Err() })
}

// redis runs one call to the shared cache within RedisTimeout, unless
// Redis keeps failing (pkg/breaker). A failure is logged through
// pkg/redisclient's throttle (a line per operation per 30 s, with the
// number left out); a call not tried is not logged.
func (x *Exchanger) redis(ctx context.Context, op string, call func(context.Context) error) error {
	err := x.redisDown.Do(time.Now(), func() error {
		ctx, cancel := context.WithTimeout(ctx, RedisTimeout)
		defer cancel()
		return call(ctx)
	})
	if err != nil && !errors.Is(err, breaker.ErrOpen) {
		x.redisLog.Log(ctx, x.cfg.Now(), slog.LevelWarn, "token cache: "+op+" redis failed; auth answers meanwhile, Redis is tried again in a second", "err", err)
	}
	return err
}

// expiry reads a JWT's exp without verifying it: the gateway only decides
// how long to keep a token auth just gave it; the tasks service verifies.
func expiry(jwt string) (time.Time, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp int64 `json:"exp"`
	}
	if json.Unmarshal(raw, &claims) != nil || claims.Exp == 0 {
		return time.Time{}, false
	}
	return time.Unix(claims.Exp, 0), true
}

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
