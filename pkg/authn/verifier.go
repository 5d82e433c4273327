// Package authn verifies the auth service's JWTs for resource servers: a
// Verifier checks a Bearer token against a JWKS cached in process and shared
// between replicas through Redis, and Middleware puts the resulting
// Principal into the request context.
//
// What a token must look like to pass:
//   - at most MaxTokenSize bytes; compact JWS with canonical base64url;
//   - alg on the allow-list (EdDSA by default; none and HS* can never be
//     configured, so a token "signed" with the public key as an HMAC secret
//     fails);
//   - a kid naming a key of the JWKS whose own alg, if present, equals the
//     token's, whose use is not "enc" and whose type fits the alg;
//   - no jwk, jku, x5u or x5c header: keys carried or pointed to by a token are
//     never trusted, and rather than ignore them the token is rejected, since
//     a legitimate issuer has no reason to send them; no crit header, since
//     this verifier understands no extension;
//   - exp present and not past (with Leeway), nbf (if any) reached, iss equal to
//     Config.Issuer, aud containing Config.Audience, a non-empty sub;
//   - a sub of "client:<id>" (a service's client-credentials token) only with
//     client_id <id>, and client_id on no other token.
package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/sync/singleflight"

	"github.com/latchid/latch/pkg/breaker"
	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/pkg/revocation"
)

// forbiddenHeaders name keys a token could bring along; see the package doc.
var forbiddenHeaders = [...]string{"jwk", "jku", "x5u", "x5c"}

// maxKIDLength: longer kids are never looked up, so they cannot trigger a fetch.
const maxKIDLength = 256

// Verifier checks JWTs against the auth service's JWKS. It is safe for
// concurrent use; create one per process and Close it on shutdown.
type Verifier struct {
	cfg    Config
	log    *slog.Logger
	parser *jwt.Parser
	kf     keyfunc.Keyfunc

	// local is the in-process copy of the last good key set: every Verify
	// reads only this, so neither a JWKS nor a Redis outage stops verification.
	local   *jwkset.MemoryJWKSet
	current atomic.Pointer[snapshot]
	adoptMu sync.Mutex

	keys      keyNames
	redis     *redisCluster       // nil without Redis
	mem       *localLeases        // used without Redis and while Redis is failing
	redisDown *breaker.Breaker    // pkg/breaker: Redis skipped while it keeps failing
	redisLog  *redisclient.Logger // pkg/redisclient's throttle for the failures logged meanwhile
	flight    singleflight.Group

	leaseTTL   time.Duration // refresh lease: a little under RefreshInterval
	retryDelay time.Duration // after a failed fetch or while no keys are cached
	staleAfter time.Duration // a tick fetches when this process's own last fetch is older
	lastFetch  atomic.Int64  // unix nanos of this process's last successful fetch

	fetches, fetchFailures, sharedHints, redisErrors atomic.Uint64

	accepted *acceptedCache // nil when disabled

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// snapshot identifies the key set in local: raw is the JSON it came from.
type snapshot struct {
	raw  []byte
	keys int
}

// Stats are counters for readiness and debugging; Hooks feed metrics.
type Stats struct {
	Keys          int    // keys in the local copy
	Fetches       uint64 // successful JWKS fetches by this process
	FetchFailures uint64 // failed JWKS fetches by this process
	SharedHints   uint64 // changed shared copies that made this process fetch (never adopted)
	RedisErrors   uint64 // Redis operations that failed
}

// NewVerifier validates cfg, loads the key set from the JWKS (never from
// Redis: see refresh.go) and starts the background refresh. An
// unreachable JWKS is not an error: it is logged, Ready stays false and
// loading is retried in the background and on use. ctx bounds only this
// first load.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	local := jwkset.NewMemoryStorage()
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:          context.WithoutCancel(ctx),
		Storage:      local,
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		return nil, fmt.Errorf("authn: %w", err)
	}
	v := &Verifier{
		cfg: cfg,
		log: cfg.Logger.With("component", "authn"),
		parser: jwt.NewParser(
			jwt.WithValidMethods(cfg.Algorithms),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithStrictDecoding(),
		),
		kf:         kf,
		local:      local,
		keys:       newKeyNames(cfg.KeyPrefix, cfg.JWKSURL),
		mem:        newLocalLeases(),
		redisDown:  breaker.New(breaker.DefaultProbeEvery),
		leaseTTL:   cfg.RefreshInterval - min(cfg.RefreshInterval/10, time.Second),
		retryDelay: min(cfg.RefreshInterval, cfg.UnknownKIDWindow),
		staleAfter: cfg.RefreshInterval + cfg.RefreshInterval/2,
		done:       make(chan struct{}),
		accepted:   newAcceptedCache(cfg.AcceptedCacheSize),
	}
	v.redisLog = redisclient.NewLogger(v.log, redisclient.DefaultInterval)
	if cfg.Redis != nil {
		v.redis = newRedisCluster(cfg.Redis, v.keys, max(24*time.Hour, 3*cfg.RefreshInterval))
	}
	v.start(ctx)
	if !v.Ready() {
		v.log.WarnContext(ctx, "authn: no JWKS cached yet; tokens are refused until it loads", "url", cfg.JWKSURL)
	}
	bg, stop := context.WithCancel(context.WithoutCancel(ctx))
	v.stop = stop
	go v.run(bg)
	return v, nil
}

// Ready reports whether a key set is cached, i.e. whether valid tokens can be
// accepted; use it in a readiness probe.
func (v *Verifier) Ready() bool {
	s := v.current.Load()
	return s != nil && s.keys > 0
}

// Stats returns the verifier's counters.
func (v *Verifier) Stats() Stats {
	st := Stats{
		Fetches:       v.fetches.Load(),
		FetchFailures: v.fetchFailures.Load(),
		SharedHints:   v.sharedHints.Load(),
		RedisErrors:   v.redisErrors.Load(),
	}
	if s := v.current.Load(); s != nil {
		st.Keys = s.keys
	}
	return st
}

// Close stops the background refresh. Verify keeps working with the cached keys.
func (v *Verifier) Close() {
	v.closeOnce.Do(v.stop)
	<-v.done
}

// Verify checks token (without the "Bearer " prefix) and returns who it
// speaks for. A rejection is an *Error; ReasonOf(err) labels it.
func (v *Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	start := time.Now()
	p, err := v.verify(ctx, token)
	if f := v.cfg.Hooks.OnVerify; f != nil {
		f(string(ReasonOf(err)), time.Since(start))
	}
	return p, err
}

func (v *Verifier) verify(ctx context.Context, token string) (Principal, error) {
	if token == "" {
		return Principal{}, ErrMissingToken
	}
	if len(token) > MaxTokenSize {
		return Principal{}, reject(ReasonTooLarge, fmt.Errorf("token is %d bytes, the limit is %d", len(token), MaxTokenSize))
	}
	// The key set is read before the check, so an entry is never labelled
	// with a newer set than the one that accepted it.
	keySet := v.current.Load()
	var digest [sha256.Size]byte
	if v.accepted != nil {
		digest = sha256.Sum256([]byte(token))
		if p, ok := v.accepted.get(digest, keySet, time.Now()); ok {
			if err := v.checkRevoked(p); err != nil {
				return Principal{}, err
			}
			return p, nil
		}
	}
	claims := jwt.MapClaims{}
	tok, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return v.key(ctx, t) })
	if err != nil {
		return Principal{}, v.classify(tok, err)
	}
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return Principal{}, reject(ReasonMissingClaim, errors.New("sub is required"))
	}
	if err := checkServiceClaims(claims, sub); err != nil {
		return Principal{}, err
	}
	p := principalFrom(claims, sub)
	if exp, err := claims.GetExpirationTime(); err == nil && exp != nil {
		v.accepted.put(digest, acceptedEntry{p: p, exp: exp.Time, keySet: keySet})
	}
	if err := v.checkRevoked(p); err != nil {
		return Principal{}, err
	}
	return p, nil
}

// checkRevoked asks the deny set, in memory, about a verified token. It
// runs on every call, cached or not, so a remembered token stops working
// the moment its revocation arrives.
func (v *Verifier) checkRevoked(p Principal) error {
	if v.cfg.Revocations == nil {
		return nil
	}
	switch err := v.cfg.Revocations.Check(revocation.Token{
		Subject: p.UserID, SessionID: p.SessionID, ClientID: p.ClientID, IssuedAt: p.IssuedAt,
		OrganizationID: p.OrganizationID,
	}); {
	case err == nil:
		return nil
	case errors.Is(err, revocation.ErrRevoked):
		return reject(ReasonRevoked, err)
	default:
		return reject(ReasonRevocationsUnknown, err)
	}
}

// key is the jwt.Keyfunc: it runs after the alg allow-list check and before
// the signature check, and vets the header before choosing a key.
func (v *Verifier) key(ctx context.Context, t *jwt.Token) (any, error) {
	for _, h := range forbiddenHeaders {
		if _, ok := t.Header[h]; ok {
			return nil, reject(ReasonForbiddenHeader, fmt.Errorf("header %q is not accepted", h))
		}
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, reject(ReasonUnsupportedCrit, errors.New("no critical header extension is supported"))
	}
	raw, present := t.Header["kid"]
	kid, isString := raw.(string)
	switch {
	case present && !isString:
		return nil, reject(ReasonMalformed, errors.New("kid is not a string"))
	case kid == "":
		return nil, reject(ReasonMissingKID, nil)
	case len(kid) > maxKIDLength:
		return nil, reject(ReasonUnknownKID, errors.New("kid is too long"))
	}
	alg := t.Method.Alg()
	key, err := v.kf.KeyfuncCtx(ctx)(t)
	if errors.Is(err, jwkset.ErrKeyNotFound) {
		v.lookUpUnknownKID(ctx, kid)
		key, err = v.kf.KeyfuncCtx(ctx)(t)
		if errors.Is(err, jwkset.ErrKeyNotFound) {
			if !v.Ready() {
				return nil, reject(ReasonUnavailable, errors.New("no JWKS cached"))
			}
			return nil, reject(ReasonUnknownKID, fmt.Errorf("kid %.64q is not in the JWKS", kid))
		}
	}
	if err != nil { // keyfunc refused the key: its alg or use does not fit
		return nil, reject(ReasonKeyMismatch, err)
	}
	if !keyFits(alg, key) {
		return nil, reject(ReasonKeyMismatch, fmt.Errorf("key %.64q cannot verify %s", kid, alg))
	}
	return key, nil
}

// classify turns a parse error into an *Error with the most useful reason.
func (v *Verifier) classify(tok *jwt.Token, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, jwt.ErrTokenMalformed) {
		return reject(ReasonMalformed, err)
	}
	if tok != nil {
		if alg, _ := tok.Header["alg"].(string); !slices.Contains(v.cfg.Algorithms, alg) {
			return reject(ReasonAlgorithm, fmt.Errorf("alg %.32q is not allowed", alg))
		}
	}
	for _, c := range []struct {
		err    error
		reason Reason
	}{
		{jwt.ErrTokenSignatureInvalid, ReasonBadSignature},
		{jwt.ErrTokenInvalidIssuer, ReasonBadIssuer},
		{jwt.ErrTokenInvalidAudience, ReasonBadAudience},
		{jwt.ErrTokenRequiredClaimMissing, ReasonMissingClaim},
		{jwt.ErrTokenExpired, ReasonExpired},
		{jwt.ErrTokenNotValidYet, ReasonNotYetValid},
		{jwt.ErrTokenUsedBeforeIssued, ReasonNotYetValid},
		{jwt.ErrTokenInvalidClaims, ReasonInvalidClaims},
	} {
		if errors.Is(err, c.err) {
			return reject(c.reason, err)
		}
	}
	return reject(ReasonInvalid, err)
}
