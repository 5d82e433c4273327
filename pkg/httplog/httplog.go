// Package httplog gives every Latch HTTP service the same request plumbing:
// a request id accepted from X-Request-Id or made up, one structured log
// line per request (never a token, cookie or body), and panics turned into
// a logged error and a bare 500.
//
// It is plain net/http: Middleware and Recover wrap any http.Handler, and
// the router tells the log line which route served the request (SetRoute)
// and, once it knows, whose request it was (SetUser). The services on gin
// use it through httplog/ginlog, which does both from the gin context.
package httplog

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/latchid/latch/pkg/requestid"
)

// Header carries the request id between services and back to the client.
const Header = "X-Request-Id"

// facts are what the handlers tell a request's log line and route trackers.
type facts struct {
	route   string // a pattern such as /api/tasks/:id, never the raw path
	user    string
	hasUser bool
}

type factsKey struct{}

// track returns r carrying a facts slot, the outermost one if r already has one.
func track(r *http.Request) (*http.Request, *facts) {
	if f, ok := r.Context().Value(factsKey{}).(*facts); ok {
		return r, f
	}
	f := new(facts)
	return r.WithContext(context.WithValue(r.Context(), factsKey{}, f)), f
}

// TrackRoute lets a handler outside the router (metrics, tracing, wrapped
// around the whole service) learn the route pattern that served r: the
// router fills the slot (SetRoute), route reads it after the request (""
// when nothing matched). Nested trackers share the outermost slot, since
// the router fills only one.
func TrackRoute(r *http.Request) (tracked *http.Request, route func() string) {
	tracked, f := track(r)
	return tracked, func() string { return f.route }
}

// SetRoute records the pattern of the route that serves r (a router calls
// it once it has matched), for the log line and every TrackRoute tracker.
// Without a tracker (no Middleware around the router) it does nothing.
func SetRoute(r *http.Request, pattern string) {
	if f, ok := r.Context().Value(factsKey{}).(*facts); ok {
		f.route = pattern
	}
}

// SetUser names the authenticated user of r for its log line.
func SetUser(r *http.Request, userID string) {
	if f, ok := r.Context().Value(factsKey{}).(*facts); ok {
		f.user, f.hasUser = userID, true
	}
}

// RequestID returns the id of the request ctx belongs to, or "": the id
// Middleware accepted or made, or the one services/tasks/rpclog did for a gRPC call.
func RequestID(ctx context.Context) string { return requestid.From(ctx) }

// Line is the log line of one request, from Start to Finish.
type Line struct {
	start time.Time
	id    string
	r     *http.Request
	facts *facts
	rec   recorder // Middleware's, in the same allocation
}

// Start begins the log line of r, which w answers: it accepts r's request
// id or makes one, sends it back on w, and returns r carrying it (RequestID)
// and a route tracker. Serve the returned request, then call Finish.
// Middleware does both around a handler; ginlog around a gin chain.
func Start(w http.ResponseWriter, r *http.Request) (*http.Request, *Line) {
	start := time.Now()
	id := requestid.Accept(r.Header.Get(Header))
	w.Header().Set(Header, id)
	r, f := track(r)
	r = r.WithContext(requestid.With(r.Context(), id))
	return r, &Line{start: start, id: id, r: r, facts: f}
}

// Finish logs the request at Info with its id, method, route, status,
// latency and, when SetUser named one, the user id.
func (l *Line) Finish(log *slog.Logger, status int) {
	ctx := l.r.Context()
	if !log.Enabled(ctx, slog.LevelInfo) {
		return // don't build a line nobody keeps
	}
	attrs := []any{
		"request_id", l.id, "method", l.r.Method, "route", l.facts.route,
		"status", status, "latency_ms", float64(time.Since(l.start).Microseconds()) / 1000,
	}
	if l.facts.hasUser {
		attrs = append(attrs, "user_id", l.facts.user)
	}
	log.InfoContext(ctx, "request", attrs...)
}

// Middleware logs one line per request (Start, then Finish with the status
// next answered). A panic in next is not logged here but by Recover, which
// goes around it.
func Middleware(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, line := Start(w, r)
			line.rec.ResponseWriter = w
			next.ServeHTTP(&line.rec, r)
			line.Finish(log, line.rec.final())
		})
	}
}

// Recover turns a panic into a logged error and a 500 with body as JSON,
// so a client never sees a stack trace. http.ErrAbortHandler (the server's
// way to cut a response short) passes on.
func Recover(log *slog.Logger, body any) func(http.Handler) http.Handler {
	payload, err := json.Marshal(body)
	if err != nil {
		panic("httplog: Recover's body is not JSON: " + err.Error()) // a wiring bug
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r, f := track(r)
			rec := &recorder{ResponseWriter: w}
			defer func() {
				p := recover()
				if p == nil {
					return
				}
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(r.Context(), "panic serving request", "panic", p, "route", f.route)
				if rec.status == 0 {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = w.Write(payload)
				}
			}()
			next.ServeHTTP(rec, r)
		})
	}
}

// recorder remembers the status a handler answered with.
type recorder struct {
	http.ResponseWriter
	status int // 0 until the final (non-1xx) header is written
}

func (rec *recorder) WriteHeader(code int) {
	// 1xx (103 Early Hints, a proxied 100 Continue) precede the status that counts.
	if rec.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		rec.status = code
	}
	rec.ResponseWriter.WriteHeader(code)
}

func (rec *recorder) Write(b []byte) (int, error) {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	return rec.ResponseWriter.Write(b)
}

// Flush keeps streaming responses streaming through the recorder.
func (rec *recorder) Flush() {
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	_ = http.NewResponseController(rec.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (hijack, deadlines).
func (rec *recorder) Unwrap() http.ResponseWriter { return rec.ResponseWriter }

// final is the status the client got: 200 when the handler wrote nothing,
// as net/http answers then.
func (rec *recorder) final() int {
	if rec.status == 0 {
		return http.StatusOK
	}
	return rec.status
}
