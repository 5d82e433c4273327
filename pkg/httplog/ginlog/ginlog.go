// Package ginlog is httplog for a gin router (auth and tasks): the same
// request id, log line and panic answer, with the route and user read from
// the gin context.
package ginlog

import (
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/httplog"
)

// UserFunc names the authenticated user of a finished request, if any.
type UserFunc func(c *gin.Context) (string, bool)

// Middleware logs one line per request with its id, route, status, latency
// and, when user knows it, the user id (httplog.Start and Finish around the
// rest of the chain).
func Middleware(log *slog.Logger, user UserFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		r, line := httplog.Start(c.Writer, c.Request)
		c.Request = r
		httplog.SetRoute(r, c.FullPath()) // "" when no route matched
		c.Next()
		if user != nil {
			if uid, ok := user(c); ok {
				httplog.SetUser(r, uid)
			}
		}
		line.Finish(log, c.Writer.Status())
	}
}

// Recover turns a panic into a logged error and a 500 with body, so a
// client never sees a stack trace; it goes before Middleware. The chain
// stops at the handler that panicked: gin would otherwise run the handlers
// after it once Recover returns.
func Recover(log *slog.Logger, body any) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.ErrorContext(c.Request.Context(), "panic serving request", "panic", p, "route", c.FullPath())
				c.Abort()
				if !c.Writer.Written() {
					c.JSON(http.StatusInternalServerError, body)
				}
			}
		}()
		c.Next()
	}
}
