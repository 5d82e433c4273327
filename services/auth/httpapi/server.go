// Package httpapi serves Better Auth's HTTP API (core email and password,
// sessions, the jwt and bearer plugins) over the identity and signing
// packages, with Better Auth's paths, bodies, statuses, cookies and errors.
package httpapi

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/pkg/httplog/ginlog"
	"github.com/latchid/latch/pkg/redisclient"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/organization"
	"github.com/latchid/latch/services/auth/signing"
)

// TokenIssuer signs users' JWTs and publishes the keys that verify them.
type TokenIssuer interface {
	// SignWith issues the user's JWT, bound to the session named in extra
	// (its sid claim), with the plugin fields and amr it carries.
	SignWith(ctx context.Context, u identity.User, extra signing.Extra) (string, error)
	JWKS(ctx context.Context) ([]byte, error)
}

// Config is what the HTTP layer needs to know about the deployment.
type Config struct {
	// BaseURL is where the API is served, e.g. https://auth.example.com/api/auth.
	BaseURL string
	// Secret signs cookies, exactly as Better Auth's secret does.
	Secret string
	// TrustedOrigins may act with cookies and receive redirects; the base
	// URL's origin is always trusted.
	TrustedOrigins []string
	// MaxBodyBytes bounds request bodies (1 MiB by default).
	MaxBodyBytes int64
	// Issuer is the JWTs' iss, announced in the OpenID configuration.
	Issuer string
	// JWKSMaxAge is the JWKS response's Cache-Control max-age.
	JWKSMaxAge time.Duration
	// RateLimit, when set, limits requests per client IP and path.
	RateLimit *RateLimit
	// TrustedProxies are the peers whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES); empty, every peer is the client.
	TrustedProxies forwarded.Proxies
	// ClientIPHeader (RATE_LIMIT_IP_HEADER) names a header such as
	// X-Real-IP that the trusted proxies set to the client's address;
	// it is believed only from a trusted peer.
	ClientIPHeader string
	// Plugins are the Better Auth plugins switched on (AUTH_PLUGINS).
	Plugins Plugins
	// Organizations are the organization plugin's rules (required with
	// Plugins.Organization).
	Organizations *organization.Service
	// Beside are handlers served at these paths under the base path (the
	// service clients' OAuth2 token endpoint): behind the API's client
	// address rule, request log and rate limits (Better Auth's rule for the
	// path), none of its body parsing or origin checks, which are theirs.
	Beside map[string]http.Handler
}

// Plugins switches Better Auth plugins on. Off, a plugin's routes answer
// 404 and its fields are absent, so the core answers stay Better Auth's
// without plugins.
type Plugins struct {
	TwoFactor    bool
	Organization bool
}

type handler struct {
	ids      *identity.Service
	tokens   TokenIssuer
	cookies  cookieJar
	origins  trustedOrigins
	log      *slog.Logger
	maxBody  int64
	jwksAge  string
	issuer   string
	origin   string
	basePath string
	apiBase  string // the base URL with its path: where mailed links point
	limit    *RateLimit
	clients  *clientAddress
	plugins  Plugins
	orgs     *organization.Service
}

// New returns the HTTP handler: /api/auth/* and /.well-known/openid-configuration.
func New(cfg Config, ids *identity.Service, tokens TokenIssuer, log *slog.Logger) (http.Handler, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	h := &handler{
		ids:      ids,
		tokens:   tokens,
		cookies:  newCookieJar(cfg.Secret, base.Scheme == "https"),
		origins:  newTrustedOrigins(append([]string{base.Scheme + "://" + base.Host}, cfg.TrustedOrigins...)),
		log:      log,
		maxBody:  cfg.MaxBodyBytes,
		jwksAge:  "public, max-age=" + strconv.Itoa(int(cfg.JWKSMaxAge/time.Second)),
		issuer:   cfg.Issuer,
		origin:   base.Scheme + "://" + base.Host,
		basePath: strings.TrimRight(base.Path, "/"),
		apiBase:  strings.TrimRight(base.String(), "/"),
		limit:    cfg.RateLimit,
		clients:  newClientAddress(cfg.TrustedProxies, cfg.ClientIPHeader),
		plugins:  cfg.Plugins,
		orgs:     cfg.Organizations,
	}
	if h.plugins.Organization && h.orgs == nil {
		return nil, errors.New("httpapi: the organization plugin needs Config.Organizations")
	}
	if h.limit != nil {
		h.limit.outage.log = redisclient.NewLogger(log, redisclient.DefaultInterval)
	}

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.RedirectTrailingSlash = false // Better Auth answers /get-session/ with 404, not a redirect
	r.HandleMethodNotAllowed = false
	r.ContextWithFallback = true
	_ = r.SetTrustedProxies(nil) // client IPs are read explicitly (clientOf), never trusted blindly
	r.Use(ginlog.Recover(log, errInternal), ginlog.Middleware(log, loggedUser), h.limitBody)
	r.NoRoute(func(c *gin.Context) { // Better Auth: 404 with an empty body
		c.Writer.WriteHeader(http.StatusNotFound)
		c.Writer.WriteHeaderNow()
	})

	r.GET("/.well-known/openid-configuration", h.openIDConfiguration)
	// Better Auth limits before routing; then better-call's order: parse the body, check the origin, validate the
	// body, then the route's own middlewares (session, form CSRF), then the handler.
	api := r.Group(h.basePath, h.resolveClient, h.rateLimit, h.checkURL, h.decodeBody, h.checkOrigin)
	api.GET("/ok", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	api.POST("/sign-up/email", validated(h, objectAndRecordShape, parseSignUp), h.formCSRF, h.signUpEmail)
	api.POST("/sign-in/email", validated(h, objectShape, parseSignIn), h.formCSRF, h.accountLimit, h.signInEmail)
	api.POST("/sign-out", h.signOut)
	api.GET("/get-session", h.getSession)
	api.POST("/get-session", func(c *gin.Context) {
		c.Header("Cache-Control", "no-store") // Better Auth's get-session headers, even on the 405
		c.Header("Pragma", "no-cache")
		h.fail(c, errDeferRefresh)
	})
	api.GET("/list-sessions", h.requireSession(true), h.listSessions)
	api.GET("/security-activity", h.requireSession(false), h.securityActivity) // Latch's extension (docs/audit.md)
	api.POST("/revoke-session", validated(h, objectShape, parseRevokeSession), h.requireSession(false), h.revokeSession)
	api.POST("/revoke-sessions", h.requireSession(false), h.revokeSessions)
	api.POST("/revoke-other-sessions", h.requireSession(false), h.revokeOtherSessions)
	api.POST("/update-user", validated(h, recordShape, parseUpdateUser), h.requireSession(false), h.updateUser)
	api.POST("/change-password", validated(h, objectShape, parseChangePassword), h.requireSession(false), h.changePassword)
	api.POST("/send-verification-email", validated(h, objectShape, parseSendVerification), h.sendVerificationEmail)
	api.GET("/verify-email", h.verifyEmail)
	api.POST("/request-password-reset", validated(h, objectShape, parseRequestReset), h.requestPasswordReset)
	api.GET("/reset-password/:token", h.resetPasswordCallback)
	api.POST("/reset-password", validated(h, objectShape, parseResetPassword), h.resetPassword)
	api.POST("/change-email", validated(h, objectShape, parseChangeEmail), h.requireSession(false), h.changeEmail)
	api.POST("/delete-user", validated(h, objectShape, parseDeleteUser), h.requireSession(false), h.deleteUser)
	api.POST("/sign-in/social", validated(h, objectShape, parseSocial), h.signInSocial)
	api.GET("/callback/:id", h.oauthCallback)
	api.POST("/callback/:id", h.oauthCallbackPost)
	api.POST("/link-social", validated(h, objectShape, parseSocial), h.requireSession(false), h.linkSocial)
	api.GET("/list-accounts", h.requireSession(false), h.listAccounts)
	api.POST("/unlink-account", validated(h, objectShape, parseUnlink), h.requireSession(true), h.unlinkAccount)
	api.GET("/token", h.requireSession(false), h.token)
	api.GET("/jwks", h.jwks)
	if len(cfg.Beside) > 0 {
		beside := r.Group(h.basePath, h.resolveClient, h.rateLimit)
		for path, handler := range cfg.Beside {
			beside.Any(path, gin.WrapH(handler))
		}
	}
	if cfg.Plugins.TwoFactor {
		h.mountTwoFactor(api)
	}
	if cfg.Plugins.Organization {
		h.mountOrganization(api)
	}
	return r, nil
}

// loggedUser names the request's user in its log line, once authenticated.
func loggedUser(c *gin.Context) (string, bool) {
	uid, ok := c.Get(userIDKey)
	if !ok {
		return "", false
	}
	s, ok := uid.(string)
	return s, ok
}

// drainFactor bounds, as a multiple of the body limit, how much of a refused
// body is read so that the client receives the 413.
const drainFactor = 4

func (h *handler) limitBody(c *gin.Context) {
	if c.Request.ContentLength > h.maxBody {
		// Read (and drop) a moderately oversized body before answering: a
		// server that answers and closes while the client is still sending
		// makes the kernel reset the connection, and the client sees a
		// network error instead of the 413. Beyond the bound, the
		// connection is closed after the answer.
		if c.Request.ContentLength <= drainFactor*h.maxBody {
			_, _ = io.Copy(io.Discard, io.LimitReader(c.Request.Body, c.Request.ContentLength))
		}
		h.fail(c, errBodyTooLarge)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.maxBody)
	c.Next()
}

// openIDConfiguration lets standard JWT verifiers (Envoy, Kong,
// oauth2-proxy, OIDC libraries) discover the issuer and its keys.
func (h *handler) openIDConfiguration(c *gin.Context) {
	c.Header("Cache-Control", h.jwksAge)
	c.JSON(http.StatusOK, gin.H{
		"issuer":                                h.issuer,
		"jwks_uri":                              h.origin + h.basePath + "/jwks",
		"id_token_signing_alg_values_supported": []string{"EdDSA"},
		"subject_types_supported":               []string{"public"},
		"response_types_supported":              []string{"code"},
	})
}
