// Command noauth is the tasks benchmark's baseline: the tasks service's own
// code (sqldb, taskstore, task, httpapi) wired exactly as bin/tasks wires it,
// except that authentication is switched off: the middleware takes sub from
// the Bearer token's payload WITHOUT verifying anything. It exists only to
// measure what verification costs and must never be built into a shipped
// binary; it lives in bench/ for that reason.
//
// Env: PORT, DATABASE_URL (postgres://…), LOG_LEVEL (default warn),
// DB_MAX_OPEN_CONNS / DB_MAX_IDLE_CONNS (default: sqldb.DefaultPool, as bin/tasks).
package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/serve"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/tasks/httpapi"
	"github.com/latchid/latch/services/tasks/task"
	"github.com/latchid/latch/services/tasks/taskstore"
)

// unverified trusts the token's payload: it decodes the middle segment and
// takes sub, and org and org_role for team tasks. No signature, no expiry,
// no issuer: a benchmark baseline only.
func unverified(c *gin.Context) {
	token, ok := authn.BearerToken(c.GetHeader("Authorization"))
	var p authn.Principal
	if ok {
		if parts := strings.Split(token, "."); len(parts) == 3 {
			if raw, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
				var claims struct {
					Sub     string `json:"sub"`
					Org     string `json:"org"`
					OrgRole string `json:"org_role"`
				}
				if json.Unmarshal(raw, &claims) == nil {
					p.UserID, p.OrganizationID = claims.Sub, claims.Org
					if claims.Org != "" && claims.OrgRole != "" {
						p.OrganizationRoles = strings.Split(claims.OrgRole, ",")
					}
				}
			}
		}
	}
	if p.UserID == "" {
		c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": "Not authenticated"})
		return
	}
	c.Request = c.Request.WithContext(authn.WithPrincipal(c.Request.Context(), p))
	c.Next()
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "noauth:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(env("LOG_LEVEL", "warn"))); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})).With("service", "tasks-noauth")
	pool := sqldb.DefaultPool()
	pool.MaxOpen = envInt("DB_MAX_OPEN_CONNS", pool.MaxOpen)
	pool.MaxIdle = envInt("DB_MAX_IDLE_CONNS", pool.MaxIdle)
	db, err := sqldb.Open(ctx, env("DATABASE_URL", ""), pool)
	if err != nil {
		return err
	}
	defer db.Close()
	svc := task.NewService(taskstore.New(db), nil)
	// The same metrics middleware as bin/tasks, so the two differ only in authentication.
	handler := observe.New("tasks", log).Wrap(httpapi.New(httpapi.Config{}, svc, unverified, log))
	ln, err := net.Listen("tcp", ":"+env("PORT", "8001"))
	if err != nil {
		return err
	}
	log.Warn("benchmark baseline: authentication is OFF", "addr", ln.Addr().String())
	return serve.Run(ctx, ln, handler, serve.DefaultDrain, log)
}
