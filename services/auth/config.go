package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/google"
	"github.com/latchid/latch/services/auth/httpapi"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/ratelimit"
	"github.com/latchid/latch/services/auth/sealedbox"
)

// minSecretLength is Better Auth's recommended minimum; below it a deployment
// that is not on localhost refuses to start.
const minSecretLength = 32

// betterAuthDefaultSecret is the secret Better Auth falls back to without
// one (DEFAULT_SECRET in better-auth/dist/utils/constants.mjs); it is
// published, so whoever has it can sign cookies and tokens and unseal keys.
const betterAuthDefaultSecret = "better-auth-secret-12345678901234567890"

// Config is the auth service's configuration, read from the environment
// once. The variables keep the names a Better Auth deployment uses
// (BETTER_AUTH_SECRET, BETTER_AUTH_URL, DATABASE_URL, ...) so its .env files keep working.
type Config struct {
	Port    int
	BaseURL string // BETTER_AUTH_URL
	// Secret signs cookies: BETTER_AUTH_SECRET, or with BETTER_AUTH_SECRETS
	// the current versioned secret, as Better Auth picks it.
	Secret       string
	SecretSource string
	// Keyring seals private keys at rest with every configured secret.
	Keyring        sealedbox.Keyring
	DatabaseURL    string
	DataDir        string
	TrustedOrigins []string
	AutoMigrate    bool
	Pool           sqldb.Pool
	// DatabaseZone is the time zone of the schema's zone-less timestamp
	// columns: UTC, unless a Better Auth deployment wrote them from a Node
	// process running in another zone.
	DatabaseZone *time.Location

	Policy identity.Policy

	JWTIssuer        string
	JWTAudience      string
	JWTTTL           time.Duration
	ClientTokenTTL   time.Duration // OAUTH2_TOKEN_TTL: services' client-credentials tokens
	JWKSGracePeriod  time.Duration
	JWKSRotation     time.Duration
	JWKSPublishDelay time.Duration
	KeyCacheTTL      time.Duration
	// ShutdownDelay: after SIGTERM, serve on (unready, Connection: close)
	// this long before closing the listener (pkg/serve).
	ShutdownDelay time.Duration
	// SweepInterval is how often expired sessions and verification rows
	// are deleted (package sweep); 0 turns the sweep off.
	SweepInterval time.Duration
	// AuditRetention is how long audit events are kept before the sweep
	// deletes them (docs/audit.md); 0 keeps them forever.
	AuditRetention time.Duration

	LogLevel  slog.Level
	LogFormat string
	Tracing   tracing.Config

	// Mail: SMTP_URL sends through a server; otherwise mails are appended
	// to MAIL_OUTBOX (default <LATCH_DATA_DIR>/outbox.jsonl).
	SMTPURL    string
	MailFrom   string
	MailOutbox string
	MailPolicy identity.MailPolicy
	// Account changes Better Auth keeps off by default.
	AccountPolicy identity.AccountPolicy

	// RedisURL, when set, holds the rate-limit counters every replica shares.
	RedisURL string
	// RateLimit is RATE_LIMIT=on|off; unset, it is on unless the base URL
	// is localhost, as Better Auth limits only in production.
	RateLimit      bool
	RateLimitRules ratelimit.Rules
	// RateLimitAccount limits failed email sign-ins per account
	// (RATE_LIMIT_ACCOUNT_MAX per RATE_LIMIT_ACCOUNT_WINDOW), from
	// addresses the account has not signed in from.
	RateLimitAccount  ratelimit.Rule
	RateLimitIPHeader string
	RateLimitPrefix   string
	// TrustedProxies (TRUSTED_PROXIES, comma-separated CIDRs or addresses)
	// are the peers whose X-Forwarded-For is believed: the client is the
	// right-most entry not in these ranges (pkg/forwarded).
	TrustedProxies forwarded.Proxies

	// Google sign-in: on when GOOGLE_CLIENT_ID is set. The provider URLs
	// default to Google's and can point at any OpenID Connect provider.
	Google  GoogleConfig
	Linking identity.LinkingPolicy

	// Plugins are the Better Auth plugins AUTH_PLUGINS switches on
	// (comma-separated; none by default, so the core answers stay Better
	// Auth's without plugins).
	Plugins httpapi.Plugins
	// TwoFactorIssuer names the service in authenticator apps
	// (TWO_FACTOR_ISSUER, Better Auth's appName by default).
	TwoFactorIssuer string
}

// knownPlugins are the names AUTH_PLUGINS accepts.
var knownPlugins = []string{"two-factor", "organization"}

// parsePlugins reads AUTH_PLUGINS; an unknown or unavailable name is an
// error, so a typo never leaves a deployment without the plugin it asked for.
func parsePlugins(names []string) (httpapi.Plugins, []string) {
	var p httpapi.Plugins
	var problems []string
	for _, name := range names {
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "":
		case "two-factor":
			p.TwoFactor = true
		case "organization":
			problems = append(problems, "AUTH_PLUGINS: the organization plugin is not available in this build")
		default:
			problems = append(problems, fmt.Sprintf("AUTH_PLUGINS: unknown plugin %q (known: %s)", name, strings.Join(knownPlugins, ", ")))
		}
	}
	return p, problems
}

// GoogleConfig locates Google (or a stand-in) and identifies this client.
type GoogleConfig struct {
	ClientID, ClientSecret             string
	Issuer, AuthURL, TokenURL, JWKSURL string
}

// loadConfig reads and validates the environment. A missing secret on
// localhost is generated once and kept in the data directory; anywhere else
// a missing or short secret stops the service.
func loadConfig(getenv func(string) string) (Config, error) {
	e := envconf.New(getenv)
	defaults := identity.DefaultPolicy() // the rules' defaults are written once, there
	cfg := Config{
		Port:           e.Int("PORT", 3001),
		DataDir:        e.String("LATCH_DATA_DIR", ".data"),
		TrustedOrigins: e.List("TRUSTED_ORIGINS"),
		AutoMigrate:    e.Bool("AUTO_MIGRATE", true),
		Pool:           sqldb.PoolFromEnv(e),
		Policy: identity.Policy{
			SessionTTL:        e.Duration("SESSION_EXPIRES_IN", defaults.SessionTTL),
			ShortSessionTTL:   defaults.ShortSessionTTL,
			UpdateAge:         e.Duration("SESSION_UPDATE_AGE", defaults.UpdateAge),
			FreshAge:          e.Duration("SESSION_FRESH_AGE", defaults.FreshAge),
			MinPasswordLength: e.Int("PASSWORD_MIN_LENGTH", defaults.MinPasswordLength),
			MaxPasswordLength: e.Int("PASSWORD_MAX_LENGTH", defaults.MaxPasswordLength),
		},
		JWTTTL:           e.Duration("JWT_EXPIRATION", 15*time.Minute),
		ClientTokenTTL:   e.Duration("OAUTH2_TOKEN_TTL", 5*time.Minute),
		JWKSGracePeriod:  e.Duration("JWKS_GRACE_PERIOD", 30*24*time.Hour),
		JWKSRotation:     e.Duration("JWKS_ROTATION_INTERVAL", 0),
		JWKSPublishDelay: e.Duration("JWKS_PUBLISH_DELAY", 5*time.Minute),
		KeyCacheTTL:      e.Duration("KEY_CACHE_TTL", 30*time.Second),
		LogFormat:        e.String("LOG_FORMAT", "json"),
		ShutdownDelay:    e.Duration("SHUTDOWN_DELAY", 0),
		SweepInterval:    e.Duration("SWEEP_INTERVAL", time.Hour),
		AuditRetention:   e.Duration("AUDIT_RETENTION", audit.DefaultRetention),
		Tracing:          tracing.FromEnv(e, "auth"),
	}
	if cfg.ShutdownDelay < 0 {
		e.Fail("SHUTDOWN_DELAY must not be negative")
	}
	if cfg.SweepInterval < 0 {
		e.Fail("SWEEP_INTERVAL must not be negative (0 turns the sweep off)")
	}
	if cfg.AuditRetention < 0 {
		e.Fail("AUDIT_RETENTION must not be negative (0 keeps audit events forever)")
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(e.String("LOG_LEVEL", "info"))); err != nil {
		e.Fail("LOG_LEVEL: %v", err)
	}
	base := e.URL("BETTER_AUTH_URL", fmt.Sprintf("http://localhost:%d", cfg.Port))
	cfg.BaseURL = e.String("BETTER_AUTH_URL", base.String())
	origin := base.Scheme + "://" + base.Host
	cfg.JWTIssuer = e.String("JWT_ISSUER", origin)
	cfg.JWTAudience = e.String("JWT_AUDIENCE", origin)
	cfg.DatabaseURL = e.String("DATABASE_URL", "sqlite:"+filepath.Join(cfg.DataDir, "auth.db"))
	zone, err := time.LoadLocation(e.String("DATABASE_TIMEZONE", "UTC"))
	if err != nil {
		e.Fail("DATABASE_TIMEZONE must be an IANA time zone such as UTC or America/Sao_Paulo: %v", err)
		zone = time.UTC
	}
	cfg.DatabaseZone = zone

	cfg.SMTPURL = e.String("SMTP_URL", "")
	cfg.MailFrom = e.String("MAIL_FROM", "Latch <no-reply@"+base.Hostname()+">")
	cfg.MailOutbox = e.String("MAIL_OUTBOX", "")
	if cfg.SMTPURL == "" && cfg.MailOutbox == "" {
		cfg.MailOutbox = filepath.Join(cfg.DataDir, "outbox.jsonl")
	}
	mp := identity.DefaultMailPolicy()
	mp.APIBaseURL = apiBaseURL(base)
	mp.VerificationTTL = e.Duration("EMAIL_VERIFICATION_EXPIRES_IN", mp.VerificationTTL)
	mp.ResetTTL = e.Duration("RESET_PASSWORD_TOKEN_EXPIRES_IN", mp.ResetTTL)
	mp.RequireEmailVerification = e.Bool("REQUIRE_EMAIL_VERIFICATION", false)
	mp.SendOnSignUp = e.Bool("SEND_VERIFICATION_ON_SIGN_UP", mp.RequireEmailVerification)
	mp.AutoSignInAfterVerification = e.Bool("AUTO_SIGN_IN_AFTER_VERIFICATION", false)
	mp.RevokeSessionsOnReset = e.Bool("REVOKE_SESSIONS_ON_PASSWORD_RESET", mp.RevokeSessionsOnReset)
	mp.AnonymousFloor = e.Duration("MAIL_RESPONSE_FLOOR", mp.AnonymousFloor)
	cfg.MailPolicy = mp
	cfg.AccountPolicy = identity.AccountPolicy{
		ChangeEmail:                    e.Bool("CHANGE_EMAIL_ENABLED", false),
		ChangeEmailWithoutVerification: e.Bool("CHANGE_EMAIL_WITHOUT_VERIFICATION", false),
		DeleteUser:                     e.Bool("DELETE_USER_ENABLED", false),
	}
	if mp.VerificationTTL <= 0 || mp.ResetTTL <= 0 || mp.AnonymousFloor < 0 {
		e.Fail("EMAIL_VERIFICATION_EXPIRES_IN and RESET_PASSWORD_TOKEN_EXPIRES_IN must be positive, MAIL_RESPONSE_FLOOR not negative")
	}

	cfg.Google = GoogleConfig{
		ClientID:     e.String("GOOGLE_CLIENT_ID", ""),
		ClientSecret: e.String("GOOGLE_CLIENT_SECRET", ""),
		Issuer:       e.String("GOOGLE_ISSUER", google.DefaultIssuer),
		AuthURL:      e.String("GOOGLE_AUTH_URL", google.DefaultAuthURL),
		TokenURL:     e.String("GOOGLE_TOKEN_URL", google.DefaultTokenURL),
		JWKSURL:      e.String("GOOGLE_JWKS_URL", google.DefaultJWKSURL),
	}
	if (cfg.Google.ClientID == "") != (cfg.Google.ClientSecret == "") {
		e.Fail("GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET must be set together")
	}
	cfg.Linking = identity.LinkingPolicy{
		Enabled:              e.Bool("ACCOUNT_LINKING_ENABLED", true),
		TrustedProviders:     e.List("ACCOUNT_LINKING_TRUSTED_PROVIDERS"),
		AllowDifferentEmails: e.Bool("ACCOUNT_LINKING_ALLOW_DIFFERENT_EMAILS", false),
	}
	var pluginProblems []string
	cfg.Plugins, pluginProblems = parsePlugins(e.List("AUTH_PLUGINS"))
	for _, p := range pluginProblems {
		e.Fail("%s", p)
	}
	cfg.TwoFactorIssuer = e.String("TWO_FACTOR_ISSUER", "Better Auth")
	cfg.RedisURL = e.String("REDIS_URL", "")
	switch v := strings.ToLower(e.String("RATE_LIMIT", "")); v {
	case "":
		cfg.RateLimit = !isLocalHost(base.Hostname())
	case "on", "true", "1":
		cfg.RateLimit = true
	case "off", "false", "0":
		cfg.RateLimit = false
	default:
		e.Fail("RATE_LIMIT must be on or off, got %q", v)
	}
	rules := ratelimit.DefaultRules()
	rules.Default.Window = e.Duration("RATE_LIMIT_WINDOW", rules.Default.Window)
	rules.Default.Max = e.Int("RATE_LIMIT_MAX", rules.Default.Max)
	rules.Credentials.Window = e.Duration("RATE_LIMIT_CREDENTIALS_WINDOW", rules.Credentials.Window)
	rules.Credentials.Max = e.Int("RATE_LIMIT_CREDENTIALS_MAX", rules.Credentials.Max)
	rules.Mail.Window = e.Duration("RATE_LIMIT_MAIL_WINDOW", rules.Mail.Window)
	rules.Mail.Max = e.Int("RATE_LIMIT_MAIL_MAX", rules.Mail.Max)
	cfg.RateLimitAccount = ratelimit.Rule{
		Window: e.Duration("RATE_LIMIT_ACCOUNT_WINDOW", 5*time.Minute),
		Max:    e.Int("RATE_LIMIT_ACCOUNT_MAX", 10),
	}
	for _, r := range []ratelimit.Rule{rules.Default, rules.Credentials, rules.Mail, cfg.RateLimitAccount} {
		if r.Window <= 0 || r.Max < 1 {
			e.Fail("RATE_LIMIT_*_WINDOW must be positive and RATE_LIMIT_*_MAX at least 1")
			break
		}
	}
	cfg.RateLimitRules = rules
	proxies, err := forwarded.Parse(e.List("TRUSTED_PROXIES"))
	if err != nil {
		e.Fail("TRUSTED_PROXIES must be comma-separated CIDRs or IP addresses of the proxies in front of auth (the gateway's, the ingress's): %v", err)
	}
	cfg.TrustedProxies = proxies
	// Kept for proxies that send the client in a header of their own
	// (X-Real-IP, CF-Connecting-IP), but believed only from a trusted peer:
	// without TRUSTED_PROXIES it used to be believed from anyone.
	cfg.RateLimitIPHeader = e.String("RATE_LIMIT_IP_HEADER", "")
	if cfg.RateLimitIPHeader != "" && proxies.Empty() && err == nil {
		e.Fail("RATE_LIMIT_IP_HEADER=%s is believed only from trusted proxies: set TRUSTED_PROXIES to the CIDRs of the proxies that set it (a client reaching auth directly could otherwise choose its own rate-limit bucket)", cfg.RateLimitIPHeader)
	}
	cfg.RateLimitPrefix = e.String("RATE_LIMIT_KEY_PREFIX", "latch:auth:ratelimit:")

	if cfg.Policy.MinPasswordLength < 1 || cfg.Policy.MaxPasswordLength < cfg.Policy.MinPasswordLength {
		e.Fail("PASSWORD_MIN_LENGTH must be at least 1 and at most PASSWORD_MAX_LENGTH")
	}
	if cfg.ClientTokenTTL < time.Second || cfg.ClientTokenTTL > cfg.JWKSGracePeriod {
		e.Fail("OAUTH2_TOKEN_TTL must be at least 1s and at most JWKS_GRACE_PERIOD")
	}
	if cfg.Policy.SessionTTL <= 0 || cfg.Policy.UpdateAge < 0 || cfg.Policy.FreshAge < 0 {
		e.Fail("SESSION_EXPIRES_IN must be positive; SESSION_UPDATE_AGE and SESSION_FRESH_AGE must not be negative")
	}
	return cfg, e.Err()
}

// resolveSecret finds the secrets as Better Auth does: BETTER_AUTH_SECRETS
// ("<version>:<secret>,…", the first current) when set, beside the single
// BETTER_AUTH_SECRET (or NEXT_PUBLIC_BETTER_AUTH_SECRET, AUTH_SECRET), which
// then only opens what was sealed before versioning. A missing secret on
// localhost is generated once and kept in the data directory; anywhere else
// a missing or short secret stops the service.
func (cfg *Config) resolveSecret(getenv func(string) string, log *slog.Logger) error {
	base, err := url.Parse(cfg.BaseURL)
	if err != nil {
		return err
	}
	local := isLocalHost(base.Hostname())
	var single, singleSource string
	for _, name := range []string{"BETTER_AUTH_SECRET", "NEXT_PUBLIC_BETTER_AUTH_SECRET", "AUTH_SECRET"} {
		if v := getenv(name); v != "" {
			single, singleSource = v, name
			break
		}
	}
	checkLength := func(secret, source string) error {
		problem := weakSecret(secret, source)
		switch {
		case problem == "":
		case !local:
			return fmt.Errorf("%s when BETTER_AUTH_URL is not localhost; generate one with: openssl rand -base64 32", problem)
		default:
			log.Warn("weak secret: acceptable on localhost only", "problem", problem, "fix", "openssl rand -base64 32")
		}
		return nil
	}

	if raw := strings.TrimSpace(getenv("BETTER_AUTH_SECRETS")); raw != "" {
		versioned, current, err := parseVersionedSecrets(raw)
		if err != nil {
			return err
		}
		for v, secret := range versioned {
			if err := checkLength(secret, fmt.Sprintf("BETTER_AUTH_SECRETS version %d", v)); err != nil {
				return err
			}
		}
		if single != "" { // it still opens what was sealed before versioning
			if err := checkLength(single, singleSource); err != nil {
				return err
			}
		}
		cfg.Secret, cfg.SecretSource = versioned[current], fmt.Sprintf("BETTER_AUTH_SECRETS, version %d current", current)
		if cfg.Keyring, err = sealedbox.NewKeyring(single, versioned, current); err != nil {
			return fmt.Errorf("BETTER_AUTH_SECRETS: %w", err)
		}
		return nil
	}

	cfg.Secret, cfg.SecretSource = single, singleSource
	switch {
	case cfg.Secret == "" && !local:
		return fmt.Errorf("BETTER_AUTH_SECRET is required when BETTER_AUTH_URL (%s) is not localhost; generate one with: openssl rand -base64 32", cfg.BaseURL)
	case cfg.Secret == "":
		secret, path, err := developmentSecret(cfg.DataDir)
		if err != nil {
			return err
		}
		cfg.Secret, cfg.SecretSource = secret, "generated, kept in "+path
		log.Warn("BETTER_AUTH_SECRET is not set: using a generated development secret; set BETTER_AUTH_SECRET before exposing this service", "path", path)
	default:
		if err := checkLength(cfg.Secret, cfg.SecretSource); err != nil {
			return err
		}
	}
	cfg.Keyring = sealedbox.SingleSecret(cfg.Secret)
	return nil
}

// minSecretBits is the least estimated entropy of a secret outside
// localhost: Better Auth's threshold for its low-entropy warning.
const minSecretBits = 120

// weakSecret says what is wrong with a secret, or "" when nothing is. The
// rule is Better Auth's production rule made strict: at least 32
// characters, not the published default, and an estimated entropy (Better
// Auth's estimate: length × log2(distinct characters)) of at least 120 bits.
// The estimate catches repeated and few-character secrets, not guessable
// phrases; a generated secret (openssl rand -base64 32: about 200 bits)
// passes with room to spare. The message never contains the secret.
func weakSecret(secret, source string) string {
	switch {
	case len(secret) < minSecretLength:
		return fmt.Sprintf("%s must be at least %d characters", source, minSecretLength)
	case secret == betterAuthDefaultSecret:
		return source + " is Better Auth's published default secret"
	}
	if bits := secretEntropyBits(secret); bits < minSecretBits {
		return fmt.Sprintf("%s looks low-entropy (estimated %.0f bits, at least %d needed: too few distinct characters for its length)", source, bits, minSecretBits)
	}
	return ""
}

// secretEntropyBits is Better Auth's estimateEntropy: log2(distinct^length).
func secretEntropyBits(secret string) float64 {
	distinct := map[rune]bool{}
	n := 0
	for _, r := range secret {
		distinct[r] = true
		n++
	}
	if len(distinct) == 0 {
		return 0
	}
	return float64(n) * math.Log2(float64(len(distinct)))
}

// parseVersionedSecrets reads BETTER_AUTH_SECRETS: comma-separated
// "<version>:<secret>" entries, versions non-negative integers, the first current.
// Entries and secrets are trimmed of exactly the white space JavaScript's
// trim removes, as Better Auth trims them: any other reading would give the
// two servers different secrets from one variable.
func parseVersionedSecrets(raw string) (map[int]string, int, error) {
	out := map[int]string{}
	current := -1
	for _, entry := range strings.Split(raw, ",") {
		entry = strings.TrimFunc(entry, isJSSpace)
		ver, secret, ok := strings.Cut(entry, ":")
		secret = strings.TrimFunc(secret, isJSSpace)
		v, err := strconv.Atoi(strings.TrimFunc(ver, isJSSpace))
		if !ok || err != nil || v < 0 || secret == "" {
			return nil, 0, fmt.Errorf(`BETTER_AUTH_SECRETS entries must look like "<version>:<secret>" with a non-negative integer version`)
		}
		if _, dup := out[v]; dup {
			return nil, 0, fmt.Errorf("BETTER_AUTH_SECRETS names version %d twice", v)
		}
		out[v] = secret
		if current < 0 {
			current = v
		}
	}
	return out, current, nil
}

// isJSSpace reports ECMAScript's WhiteSpace and LineTerminator characters,
// what String.prototype.trim removes (U+FEFF is one, U+0085 is not).
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00A0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}

// developmentSecret returns the secret kept in dir, creating it on first use.
func developmentSecret(dir string) (string, string, error) {
	path := filepath.Join(dir, "auth-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= minSecretLength {
		return strings.TrimSpace(string(b)), path, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create data directory: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", err
	}
	secret := base64.RawURLEncoding.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", "", fmt.Errorf("keep development secret: %w", err)
	}
	return secret, path, nil
}

// apiBaseURL is Better Auth's ctx.baseURL: the base URL, with /api/auth
// when it has no path. Mailed links start with it.
func apiBaseURL(base *url.URL) string {
	u := *base
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api/auth"
	}
	return strings.TrimRight(u.String(), "/")
}

func isLocalHost(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LogValue prints the configuration at start with every secret masked.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int("port", c.Port),
		slog.String("shutdown_delay", c.ShutdownDelay.String()),
		slog.String("sweep_interval", c.SweepInterval.String()),
		slog.String("audit_retention", c.AuditRetention.String()),
		slog.String("base_url", c.BaseURL),
		slog.String("secret", "[set: "+c.SecretSource+"]"),
		slog.String("database", envconf.Redact(c.DatabaseURL)),
		slog.String("database_timezone", c.DatabaseZone.String()),
		slog.Any("trusted_origins", c.TrustedOrigins),
		slog.Bool("auto_migrate", c.AutoMigrate),
		slog.String("session_expires_in", c.Policy.SessionTTL.String()),
		slog.String("jwt_expiration", c.JWTTTL.String()),
		slog.String("oauth2_token_ttl", c.ClientTokenTTL.String()),
		slog.String("jwt_issuer", c.JWTIssuer),
		slog.String("jwt_audience", c.JWTAudience),
		slog.String("jwks_grace_period", c.JWKSGracePeriod.String()),
		slog.String("jwks_publish_delay", c.JWKSPublishDelay.String()),
		slog.String("mail", c.mailTarget()),
		slog.String("redis", envconf.Redact(c.RedisURL)),
		slog.String("trusted_proxies", c.TrustedProxies.String()),
		slog.Bool("google_sign_in", c.Google.ClientID != ""),
		slog.Bool("two_factor", c.Plugins.TwoFactor),
		slog.Bool("require_email_verification", c.MailPolicy.RequireEmailVerification),
		slog.Any("tracing", c.Tracing),
	)
}

// mailTarget names where mail goes, without credentials.
func (c Config) mailTarget() string {
	if c.SMTPURL != "" {
		return "smtp " + envconf.Redact(c.SMTPURL)
	}
	return "outbox " + c.MailOutbox
}
