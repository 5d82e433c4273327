package authn

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/revocation"
)

// Defaults and limits of Config.
const (
	DefaultRefreshInterval  = 5 * time.Minute
	DefaultUnknownKIDWindow = 30 * time.Second
	DefaultKeyPrefix        = "latch:authn:"
	// DefaultAcceptedCacheSize is how many verified tokens a Verifier remembers.
	DefaultAcceptedCacheSize = 10000
	MaxLeeway                = 60 * time.Second
	// MaxTokenSize is the longest token Verify looks at; longer ones are
	// rejected before any decoding, so a huge header costs nothing.
	MaxTokenSize = 8 << 10
	// maxJWKSBytes caps the JWKS response body.
	maxJWKSBytes = 1 << 20
	// fetchTimeout bounds one JWKS request.
	fetchTimeout = 10 * time.Second
)

// supportedAlgorithms are the asymmetric signature algorithms a JWKS key can
// verify. HMAC and none are deliberately absent: a JWKS holds public keys.
var supportedAlgorithms = []string{
	"EdDSA",
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
}

// Config configures a Verifier.
type Config struct {
	// JWKSURL is the auth service's key set, e.g. http://auth:3001/api/auth/jwks.
	JWKSURL string
	// Issuer must equal the token's iss (the auth base URL origin).
	Issuer string
	// Audience must be one of the token's aud values.
	Audience string
	// Algorithms allowed in a token's alg header; default ["EdDSA"]. Only
	// asymmetric algorithms are accepted: never none, never HS*.
	Algorithms []string
	// Leeway for exp and nbf, 0 to MaxLeeway.
	Leeway time.Duration
	// RefreshInterval is how often the cluster re-reads the JWKS; default 5 min.
	RefreshInterval time.Duration
	// UnknownKIDWindow allows at most one JWKS fetch per window (per cluster
	// with Redis, per process without) for tokens whose kid is unknown;
	// default 30 s. It is also the retry delay after a failed fetch.
	UnknownKIDWindow time.Duration
	// AcceptedCacheSize bounds the tokens remembered as verified (until
	// their exp, or until the key set changes), so a client repeating its
	// token costs a hash lookup instead of a signature check. Default
	// DefaultAcceptedCacheSize; negative disables the cache.
	AcceptedCacheSize int
	// Redis, when set, shares the key set, the refresh lease and the
	// unknown-kid window between replicas. Nil keeps all of it in process.
	Redis *redis.Client
	// KeyPrefix starts every Redis key; default DefaultKeyPrefix. The keys
	// are <prefix>{<hash of JWKSURL>}:jwks, :refresh and :unknown-kid.
	KeyPrefix string
	// HTTPClient fetches the JWKS; default a client with a 10 s timeout.
	HTTPClient *http.Client
	// Logger receives refresh failures and Redis trouble; default slog.Default().
	Logger *slog.Logger
	// Hooks observe verification and refresh, for metrics.
	Hooks Hooks
	// Revocations, when set, is the deny set every verified token (cached or
	// not) is checked against: a token of a revoked session, user or client
	// is refused (ReasonRevoked), and while the set is stale past its bound
	// every token is refused as unavailable (ReasonRevocationsUnknown).
	// Keep it current with a revocation.Follower. Nil: no revocation.
	Revocations *revocation.Set
}

// Hooks are optional callbacks for metrics. They run synchronously on the
// hot path, so they must be cheap and must not block.
type Hooks struct {
	// OnVerify reports every Verify call: reason is "ok" or a Reason.
	OnVerify func(reason string, d time.Duration)
	// OnRefresh reports key set updates: source "http" after every JWKS
	// fetch (err nil on success); source "redis" when a set a peer fetched
	// was adopted (err nil) or when a Redis call failed (err set).
	OnRefresh func(source string, err error)
}

func (c Config) withDefaults() Config {
	if c.Algorithms == nil {
		c.Algorithms = []string{"EdDSA"}
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = DefaultRefreshInterval
	}
	if c.AcceptedCacheSize == 0 {
		c.AcceptedCacheSize = DefaultAcceptedCacheSize
	}
	if c.UnknownKIDWindow == 0 {
		c.UnknownKIDWindow = DefaultUnknownKIDWindow
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = DefaultKeyPrefix
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.JWKSURL == "" {
		errs = append(errs, errors.New("JWKSURL is required"))
	} else if u, err := url.Parse(c.JWKSURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("JWKSURL %q must be an absolute http(s) URL", c.JWKSURL))
	}
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is required"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("audience is required"))
	}
	if len(c.Algorithms) == 0 {
		errs = append(errs, errors.New("algorithms must not be empty"))
	}
	for _, a := range c.Algorithms {
		if !slices.Contains(supportedAlgorithms, a) {
			errs = append(errs, fmt.Errorf("algorithm %q is not allowed (use asymmetric ones: %v)", a, supportedAlgorithms))
		}
	}
	if c.Leeway < 0 || c.Leeway > MaxLeeway {
		errs = append(errs, fmt.Errorf("leeway %v must be between 0 and %v", c.Leeway, MaxLeeway))
	}
	if c.RefreshInterval < 0 {
		errs = append(errs, fmt.Errorf("refresh interval %v must be positive", c.RefreshInterval))
	}
	if c.UnknownKIDWindow < 0 {
		errs = append(errs, fmt.Errorf("unknown-kid window %v must be positive", c.UnknownKIDWindow))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("authn: invalid config: %w", err)
	}
	return nil
}
