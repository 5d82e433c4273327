// Package httplog gives every Latch HTTP service the same request plumbing:
// a request id accepted from X-Request-Id or made up, one structured log
// line per request (never a token, cookie or body), and panics turned into
// a logged error and a bare 500.
package httplog

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/requestid"
)

// Header carries the request id between services and back to the client.
const Header = "X-Request-Id"

type routeSlotKey struct{}

// TrackRoute lets a handler outside the router (metrics, tracing, wrapped
// around the whole service) learn the route pattern that served r:
// Middleware fills the slot, route reads it after the request ("" when
// nothing matched). Nested trackers share the outermost slot, since
// Middleware can fill only one.
func TrackRoute(r *http.Request) (tracked *http.Request, route func() string) {
	if slot, ok := r.Context().Value(routeSlotKey{}).(*string); ok {
		return r, func() string { return *slot }
	}
	slot := new(string)
	return r.WithContext(context.WithValue(r.Context(), routeSlotKey{}, slot)), func() string { return *slot }
}

// RequestID returns the id of the request ctx belongs to, or "": the id
// Middleware accepted or made, or the one services/tasks/rpclog did for a gRPC call.
func RequestID(ctx context.Context) string { return requestid.From(ctx) }

// UserFunc names the authenticated user of a finished request, if any.
type UserFunc func(c *gin.Context) (string, bool)

// Middleware logs one line per request with its id, route, status, latency
// and, when user knows it, the user id.
func Middleware(log *slog.Logger, user UserFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		id := requestid.Accept(c.GetHeader(Header))
		c.Header(Header, id)
		if slot, ok := c.Request.Context().Value(routeSlotKey{}).(*string); ok {
			*slot = c.FullPath() // a pattern such as /api/tasks/:id, never the raw path
		}
		c.Request = c.Request.WithContext(requestid.With(c.Request.Context(), id))
		c.Next()
		if !log.Enabled(c.Request.Context(), slog.LevelInfo) {
			return // don't build a line nobody keeps
		}
		attrs := []any{
			"request_id", id, "method", c.Request.Method, "route", c.FullPath(),
			"status", c.Writer.Status(), "latency_ms", float64(time.Since(start).Microseconds()) / 1000,
		}
		if user != nil {
			if uid, ok := user(c); ok {
				attrs = append(attrs, "user_id", uid)
			}
		}
		log.InfoContext(c.Request.Context(), "request", attrs...)
	}
}

// Recover turns a panic into a logged error and a 500 with body, so a
// client never sees a stack trace.
func Recover(log *slog.Logger, body any) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(c.Request.Context(), "panic serving request", "panic", p, "route", c.FullPath())
				if !c.Writer.Written() {
					c.AbortWithStatusJSON(http.StatusInternalServerError, body)
				}
			}
		}()
		c.Next()
	}
}
