// Package oauth2api serves the OAuth2 token endpoint for service clients:
// the client-credentials grant (RFC 6749 §4.4) with client_secret_basic or
// client_secret_post, answering in RFC 6749 §5.1/§5.2 bodies.
package oauth2api

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/httplog/ginlog"
	"github.com/latchid/latch/services/auth/clients"
)

// TokenPath is the endpoint's path under the auth base path (/api/auth).
const TokenPath = "/oauth2/token"

// maxBody bounds a token request: a few short form fields.
const maxBody = 16 << 10

// TokenIssuer authenticates a client and issues its token (clients.Service).
type TokenIssuer interface {
	IssueToken(ctx context.Context, clientID, secret, scope string) (clients.Token, error)
}

type handler struct {
	issuer TokenIssuer
	log    *slog.Logger
}

// New returns a handler serving POST basePath+TokenPath, with panic
// recovery. Its caller serves it behind the request id, request log and
// rate limits of the API beside it (httpapi.Config.Beside).
func New(basePath string, issuer TokenIssuer, log *slog.Logger) http.Handler {
	h := &handler{issuer: issuer, log: log}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	_ = r.SetTrustedProxies(nil)
	r.Use(ginlog.Recover(log, oauthError{Code: "server_error"}))
	r.POST(strings.TrimRight(basePath, "/")+TokenPath, h.token)
	r.NoRoute(func(c *gin.Context) { c.Status(http.StatusNotFound) })
	return r
}

// oauthError is RFC 6749 §5.2's error body.
type oauthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func invalidRequest(desc string) *oauthError {
	return &oauthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: desc}
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope,omitempty"`
}

func (h *handler) token(c *gin.Context) {
	// Tokens and errors alike must not be cached (§5.1).
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	form, err := readForm(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	clientID, secret, err := clientCredentials(c.Request, form)
	if err != nil {
		h.fail(c, err)
		return
	}
	switch grant := form.Get("grant_type"); grant {
	case "client_credentials":
	case "":
		h.fail(c, invalidRequest("grant_type is required"))
		return
	default:
		h.fail(c, &oauthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "only client_credentials is supported"})
		return
	}
	tok, err := h.issuer.IssueToken(c.Request.Context(), clientID, secret, form.Get("scope"))
	if err != nil {
		if errors.Is(err, clients.ErrInvalidClient) {
			err = &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}
		}
		h.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, tokenResponse{
		AccessToken: tok.AccessToken, TokenType: "Bearer",
		ExpiresIn: int64(tok.ExpiresIn / time.Second), Scope: strings.Join(tok.Scopes, " "),
	})
}

// readForm reads the form-encoded body, and only the body: secrets in a
// URL end up in logs. Repeated parameters are refused (§3.2).
func readForm(c *gin.Context) (url.Values, error) {
	if c.Request.ContentLength > maxBody {
		return nil, invalidRequest("the request body is too large")
	}
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("the body must be application/x-www-form-urlencoded")
	}
	if c.Request.URL.RawQuery != "" {
		return nil, invalidRequest("parameters belong in the body, not the URL")
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	if err := c.Request.ParseForm(); err != nil {
		return nil, invalidRequest("the body is not a valid form")
	}
	for name, values := range c.Request.PostForm {
		if len(values) > 1 {
			return nil, invalidRequest("parameter " + name + " is repeated")
		}
	}
	return c.Request.PostForm, nil
}

// clientCredentials reads the client's id and secret from exactly one of
// HTTP Basic (client_secret_basic, whose parts are form-encoded, §2.3.1) or
// the body (client_secret_post).
func clientCredentials(r *http.Request, form url.Values) (id, secret string, err error) {
	_, inBody := form["client_secret"]
	if auth := r.Header.Get("Authorization"); auth != "" {
		if inBody {
			return "", "", invalidRequest("use one client authentication method, not both")
		}
		rawID, rawSecret, ok := r.BasicAuth()
		if !ok {
			return "", "", &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "the Authorization header must be Basic"}
		}
		id, err1 := url.QueryUnescape(rawID)
		secret, err2 := url.QueryUnescape(rawSecret)
		if err1 != nil || err2 != nil {
			return "", "", &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "malformed client credentials"}
		}
		if bodyID := form.Get("client_id"); bodyID != "" && bodyID != id {
			return "", "", invalidRequest("client_id in the body differs from the Authorization header")
		}
		return id, secret, nil
	}
	if !inBody || form.Get("client_id") == "" {
		return "", "", &oauthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication is required (HTTP Basic or client_id and client_secret)"}
	}
	return form.Get("client_id"), form.Get("client_secret"), nil
}

// fail answers err as RFC 6749 §5.2 says, here and nowhere else.
func (h *handler) fail(c *gin.Context, err error) {
	var oe *oauthError
	switch {
	case errors.As(err, &oe):
	case errors.Is(err, clients.ErrInvalidScope):
		oe = &oauthError{Status: http.StatusBadRequest, Code: "invalid_scope", Description: strings.TrimPrefix(err.Error(), clients.ErrInvalidScope.Error()+": ")}
	case errors.Is(err, context.Canceled):
		c.Abort()
		return
	case errors.Is(err, clients.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.log.ErrorContext(c.Request.Context(), "token endpoint unavailable", "err", err)
		c.Header("Retry-After", "1")
		oe = &oauthError{Status: http.StatusServiceUnavailable, Code: "temporarily_unavailable", Description: "try again shortly"}
	default:
		h.log.ErrorContext(c.Request.Context(), "token request failed", "err", err)
		oe = &oauthError{Status: http.StatusInternalServerError, Code: "server_error"}
	}
	if oe.Status == http.StatusUnauthorized { // §5.2: name the scheme the client may use
		c.Header("WWW-Authenticate", `Basic realm="latch"`)
	}
	c.AbortWithStatusJSON(oe.Status, oe)
}
