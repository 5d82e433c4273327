// Package router is the gateway's HTTP surface: which path goes where, the
// session-cookie-to-JWT swap and CSRF check in front of the tasks service,
// and the mapping of the gateway's own errors to HTTP.
package router

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/services/gateway/exchange"
)

// Tokens swaps a session cookie for a JWT, and forgets it on sign-out.
type Tokens interface {
	Token(ctx context.Context, s exchange.Session) (string, error)
	Evict(ctx context.Context, s exchange.Session)
}

// Config says where the upstreams are and which other origins may use the
// tasks API with cookies.
type Config struct {
	// Auth and Tasks carry each upstream's requests to its replicas.
	Auth, Tasks *Balancer
	// FrontendOrigins are trusted besides the gateway's own origin (a dev
	// server, or the public https origin when TLS ends in front of the gateway).
	FrontendOrigins []string
	// Cookies reads the session cookie auth reads for its base URL.
	Cookies exchange.Cookies
	// TrustedProxies are the peers (an ingress, a load balancer) whose
	// X-Forwarded-For and X-Forwarded-Proto are believed and passed on.
	TrustedProxies forwarded.Proxies
}

type handler struct {
	tokens  Tokens
	cookies exchange.Cookies
	auth    http.Handler
	tasks   http.Handler
	ui      http.Handler
	trusted map[string]bool
	proxies forwarded.Proxies
	log     *slog.Logger
}

// New returns the gateway's handler; ui serves everything that is not an API.
func New(cfg Config, tokens Tokens, ui http.Handler, log *slog.Logger) http.Handler {
	h := &handler{
		tokens:  tokens,
		cookies: cfg.Cookies,
		auth:    newProxy("auth", cfg.Auth.URL(), cfg.Auth, cfg.TrustedProxies, authError, log),
		tasks:   newProxy("tasks", cfg.Tasks.URL(), staleTokenRetry{next: cfg.Tasks, tokens: tokens}, cfg.TrustedProxies, tasksError, log),
		ui:      ui,
		trusted: map[string]bool{},
		proxies: cfg.TrustedProxies,
		log:     log,
	}
	for _, o := range cfg.FrontendOrigins {
		h.trusted[normalizeOrigin(o)] = true
	}

	recoverPanics := httplog.Recover(log, map[string]string{"detail": "Internal Server Error"})
	return recoverPanics(httplog.Middleware(log)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.strictTransport(w, r)
		if r.Header.Get("Expect") != "" {
			w = keepHeaders(w)
		}
		route, serve := h.route(r)
		httplog.SetRoute(r, route)
		serve(w, r)
	})))
}

// Route patterns, as metrics, traces and logs name them.
const (
	authRoute       = "/api/auth/*path"
	wellKnownRoute  = "/.well-known/*path"
	tasksRoute      = "/api/tasks"
	tasksPathsRoute = "/api/tasks/*path"
)

// route picks the handler by the decoded path exactly as sent: no cleaning
// and no slash redirects (which http.ServeMux would make), so the path goes
// upstream unchanged and the upstream routes its // and ../ as it would any
// client's. A path that does not begin with an API prefix is the UI's
// (route ""), whatever it would become once cleaned (//api/tasks,
// /api/auth). Only RFC 9110's methods and PATCH reach an upstream; others
// get the UI's 405.
func (h *handler) route(r *http.Request) (string, http.HandlerFunc) {
	if forwardedMethod(r.Method) {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, "/api/auth/"):
			return authRoute, h.forwardAuth
		case strings.HasPrefix(p, "/.well-known/"):
			return wellKnownRoute, h.forwardAuth
		case p == "/api/tasks":
			return tasksRoute, h.forwardTasks
		case strings.HasPrefix(p, "/api/tasks/"):
			return tasksPathsRoute, h.forwardTasks
		}
	}
	return "", h.ui.ServeHTTP
}

func forwardedMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodHead,
		http.MethodOptions, http.MethodDelete, http.MethodConnect, http.MethodTrace:
		return true
	}
	return false
}

// feedPath is auth's revocation feed (docs/revocation.md): for resource
// servers, not browsers. It holds only ids and times, yet who signed out when
// is nobody else's business, so the gateway does not expose it.
const feedPath = "/api/auth/revocations"

func (h *handler) forwardAuth(w http.ResponseWriter, r *http.Request) {
	// The decoded, cleaned path: what auth will route (%72evocations is
	// revocations there too).
	if path.Clean(r.URL.Path) == feedPath {
		w.WriteHeader(http.StatusNotFound) // as auth answers an unknown route: 404, no body
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == "/api/auth/sign-out" {
		h.signOut(w, r)
		return
	}
	h.auth.ServeHTTP(w, r)
}

// signOut evicts the session's cached JWT before and after auth ends the
// session, so a token fetched by a request racing the sign-out is dropped too.
func (h *handler) signOut(w http.ResponseWriter, r *http.Request) {
	session, ok := h.session(r)
	if ok {
		h.tokens.Evict(r.Context(), session)
	}
	h.auth.ServeHTTP(w, r)
	if ok {
		h.tokens.Evict(r.Context(), session)
	}
}

// forwardTasks sends a request to the tasks service. A request with an
// Authorization header passes untouched; one with only the session cookie
// gets the user's JWT. The tasks service never sees cookies.
func (h *handler) forwardTasks(w http.ResponseWriter, r *http.Request) {
	session, hasSession := h.session(r)
	if r.Header.Get("Authorization") == "" && hasSession {
		if stateChanging(r.Method) && !h.trustedOrigin(r) {
			tasksError(w, http.StatusForbidden, "Cross-site request refused: the Origin is not this site")
			return
		}
		ctx := withForwardedFor(r.Context(), h.proxies.Append(r)) // auth counts the exchange for this client
		token, err := h.tokens.Token(ctx, session)
		if err != nil {
			h.failExchange(w, r, err)
			return
		}
		r.Header.Set("Authorization", "Bearer "+token)
		if r, err = withExchanged(r, session); err != nil {
			tasksError(w, http.StatusBadRequest, "The request body could not be read")
			return
		}
	}
	r.Header.Del("Cookie")
	h.tasks.ServeHTTP(w, r)
}

// failExchange maps token exchange errors to HTTP, in the tasks API's shape.
func (h *handler) failExchange(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, exchange.ErrUnauthenticated):
		w.Header().Set("WWW-Authenticate", "Bearer")
		tasksError(w, http.StatusUnauthorized, "Not authenticated")
	case errors.Is(err, exchange.ErrAuthTimeout):
		h.log.WarnContext(r.Context(), "token exchange timed out", "err", err)
		tasksError(w, http.StatusGatewayTimeout, "The auth service did not answer in time")
	default:
		h.log.WarnContext(r.Context(), "token exchange failed", "err", err)
		tasksError(w, http.StatusBadGateway, "The auth service is unavailable")
	}
}

// trustedOrigin is Better Auth's CSRF rule applied to the tasks API: the
// Origin (or, without one, the Referer's origin) must be this gateway's own
// origin or a FRONTEND_URL origin.
func (h *handler) trustedOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		if ref, err := url.Parse(r.Header.Get("Referer")); err == nil && ref.Scheme != "" && ref.Host != "" {
			origin = ref.Scheme + "://" + ref.Host
		}
	}
	if origin == "" || origin == "null" {
		return false
	}
	origin = normalizeOrigin(origin)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return origin == scheme+"://"+strings.ToLower(r.Host) || h.trusted[origin]
}

// session is the request's session cookie as auth reads it: auth reads the
// first Cookie header, and so does the gateway.
func (h *handler) session(r *http.Request) (exchange.Session, bool) {
	return h.cookies.Session(r.Header.Get("Cookie"))
}

func stateChanging(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

func normalizeOrigin(o string) string {
	return strings.ToLower(strings.TrimRight(strings.TrimSpace(o), "/"))
}

// tasksError is the tasks service's FastAPI-style error.
func tasksError(w http.ResponseWriter, status int, detail string) {
	writeJSON(w, status, map[string]string{"detail": detail})
}

// authError is Better Auth's error shape.
func authError(w http.ResponseWriter, status int, msg string) {
	code := "BAD_GATEWAY"
	if status == http.StatusGatewayTimeout {
		code = "GATEWAY_TIMEOUT"
	}
	writeJSON(w, status, map[string]string{"code": code, "message": msg})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
