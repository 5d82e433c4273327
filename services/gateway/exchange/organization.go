package exchange

import (
	"context"
	"net/http"
	"path"
)

// switchPaths are auth's organization routes (Better Auth's organization
// plugin) that, when they succeed, change which organization the caller's
// session has active, and so the org and org_role claims of its next token.
var switchPaths = map[string]bool{
	"/api/auth/organization/set-active":        true,
	"/api/auth/organization/create":            true,
	"/api/auth/organization/accept-invitation": true,
	"/api/auth/organization/leave":             true,
	"/api/auth/organization/delete":            true,
}

// SwitchesOrganization reports whether a request to auth may change the
// session's active organization. The path is cleaned (".." and "."
// segments): auth answers such spellings 404, so cleaning only ever adds an
// eviction (one more token fetch), never misses a switch auth performed.
func SwitchesOrganization(method, urlPath string) bool {
	return method == http.MethodPost && switchPaths[path.Clean(urlPath)]
}

// Evicter forgets a session's cached token.
type Evicter interface {
	Evict(ctx context.Context, s Session)
}

// EvictOnSwitch wraps the gateway's handler: when auth answers a
// SwitchesOrganization request with a success, the session's cached token is
// evicted before the answer is passed on, so no request the browser sends
// after seeing it can be given the previous organization's token (by this
// replica; others hold theirs at most LocalTTL when the cache is in Redis,
// which is evicted too). A failed switch changes nothing, and keeps the
// token. Correctness does not rest on this: a membership change reaches the
// cache through the revocation feed (member and organization_deleted
// events); this only makes the token follow the browser's own choice.
func EvictOnSwitch(tokens Evicter, cookies Cookies, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !SwitchesOrganization(r.Method, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		s, ok := cookies.Session(r.Header.Get("Cookie"))
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		sw := &switchWriter{ResponseWriter: w, evict: func() { tokens.Evict(r.Context(), s) }}
		next.ServeHTTP(sw, r)
	})
}

// switchWriter evicts when a success status is about to be written.
type switchWriter struct {
	http.ResponseWriter
	evict   func()
	written bool
}

func (w *switchWriter) WriteHeader(status int) {
	if !w.written && status >= 100 && status < 200 {
		w.ResponseWriter.WriteHeader(status) // informational: the answer is still to come
		return
	}
	if !w.written {
		w.written = true
		if status >= 200 && status < 300 {
			w.evict()
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *switchWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (the reverse proxy's flushes) reach
// the writer underneath.
func (w *switchWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
