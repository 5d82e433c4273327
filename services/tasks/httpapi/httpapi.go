// Package httpapi serves the tasks REST API over the task domain, keeping
// the contract of the FastAPI backend Latch replaces: {"detail": …} errors,
// 422 for invalid input.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-contrib/cors"
	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/httplog/ginlog"
	"github.com/latchid/latch/services/tasks/caller"
	"github.com/latchid/latch/services/tasks/task"
)

// Config is what the HTTP layer needs to know about the deployment.
type Config struct {
	// FrontendOrigins may call the API from a browser (CORS); empty: none.
	FrontendOrigins []string
	// MaxBodyBytes bounds request bodies (64 KiB by default: a task is small).
	MaxBodyBytes int64
}

type handler struct {
	tasks   *task.Service
	log     *slog.Logger
	maxBody int64
}

// New returns the API. authenticate must put an authn.Principal in the
// request context or answer 401 itself (authn.Middleware in production).
func New(cfg Config, tasks *task.Service, authenticate gin.HandlerFunc, log *slog.Logger) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 64 << 10
	}
	h := &handler{tasks: tasks, log: log, maxBody: cfg.MaxBodyBytes}
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	_ = r.SetTrustedProxies(nil)
	r.Use(ginlog.Recover(log, gin.H{"detail": "Internal Server Error"}), ginlog.Middleware(log, loggedUser))
	if len(cfg.FrontendOrigins) > 0 {
		r.Use(cors.New(cors.Config{
			AllowOrigins:     cfg.FrontendOrigins,
			AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
			AllowHeaders:     []string{"Authorization", "Content-Type", "X-Request-Id"},
			ExposeHeaders:    []string{"X-Total-Count", "X-Request-Id"},
			AllowCredentials: true,
			MaxAge:           12 * time.Hour,
		}))
	}
	r.NoRoute(func(c *gin.Context) { c.JSON(http.StatusNotFound, gin.H{"detail": "Not Found"}) })

	api := r.Group("/api/tasks", h.limitBody, authenticate, h.checkQuery)
	api.POST("", h.create)
	api.GET("", h.list)
	api.GET("/:id", h.get)
	api.PATCH("/:id", h.update)
	api.PATCH("/:id/complete", h.toggle)
	api.DELETE("/:id", h.delete)
	return r
}

// actsFor is whom the request acts as and the scope it asks for (see
// package caller): from the token, the ?user_id= and ?organization_id= it
// names and ?scope=; bodyOrg is a create's organization_id member.
func actsFor(c *gin.Context, a caller.Access, bodyOrg *string) (task.Actor, task.Scope, error) {
	p, ok := authn.PrincipalFrom(c.Request.Context())
	if !ok || p.UserID == "" {
		panic("tasks API mounted without authentication") // a wiring bug: ginlog.Recover logs it and answers 500
	}
	n, err := namedIn(c, bodyOrg)
	if err != nil {
		return task.Actor{}, 0, err
	}
	return caller.Resolve(p, n, a)
}

func (h *handler) create(c *gin.Context) {
	// Who acts is decided before the body's errors are reported (as for
	// every route), but a body's organization_id is part of that decision.
	in, org, badBody := decodeNewTask(c)
	actor, scope, err := actsFor(c, caller.Write, org)
	if err != nil {
		h.fail(c, err)
		return
	}
	if badBody != nil {
		h.fail(c, badBody)
		return
	}
	t, err := h.tasks.Create(c.Request.Context(), actor, scope, in)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respond(c, http.StatusCreated, appendTask(nil, t))
}

func (h *handler) list(c *gin.Context) {
	actor, scope, err := actsFor(c, caller.Read, nil)
	if err != nil {
		h.fail(c, err)
		return
	}
	q, err := decodeQuery(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	tasks, total, err := h.tasks.List(c.Request.Context(), actor, scope, q)
	if err != nil {
		h.fail(c, err)
		return
	}
	c.Header("X-Total-Count", strconv.Itoa(total))
	h.respond(c, http.StatusOK, appendTasks(make([]byte, 0, 64+400*len(tasks)), tasks))
}

// target is whom a request on one task acts as and the task's id; the task
// itself says whose it is, so the request's scope does not matter here.
func target(c *gin.Context, a caller.Access) (actor task.Actor, id int64, err error) {
	if actor, _, err = actsFor(c, a, nil); err != nil {
		return task.Actor{}, 0, err
	}
	id, err = taskID(c)
	return actor, id, err
}

func (h *handler) get(c *gin.Context) {
	actor, id, err := target(c, caller.Read)
	if err != nil {
		h.fail(c, err)
		return
	}
	t, err := h.tasks.Get(c.Request.Context(), actor, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respond(c, http.StatusOK, appendTask(nil, t))
}

func (h *handler) update(c *gin.Context) {
	actor, id, err := target(c, caller.Write)
	if err != nil {
		h.fail(c, err)
		return
	}
	patch, err := decodePatch(c)
	if err != nil {
		h.fail(c, err)
		return
	}
	t, err := h.tasks.Update(c.Request.Context(), actor, id, patch)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respond(c, http.StatusOK, appendTask(nil, t))
}

func (h *handler) toggle(c *gin.Context) {
	actor, id, err := target(c, caller.Write)
	if err != nil {
		h.fail(c, err)
		return
	}
	t, err := h.tasks.Toggle(c.Request.Context(), actor, id)
	if err != nil {
		h.fail(c, err)
		return
	}
	h.respond(c, http.StatusOK, appendTask(nil, t))
}

func (h *handler) delete(c *gin.Context) {
	actor, id, err := target(c, caller.Write)
	if err != nil {
		h.fail(c, err)
		return
	}
	if err := h.tasks.Delete(c.Request.Context(), actor, id); err != nil {
		h.fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// fail maps domain errors to the FastAPI contract's statuses, here and nowhere else.
func (h *handler) fail(c *gin.Context, err error) {
	var invalid *task.ValidationError
	var bad *requestError
	switch {
	case errors.As(err, &bad):
		c.AbortWithStatusJSON(bad.status, gin.H{"detail": bad.detail})
	case errors.As(err, &invalid):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"detail": validationDetail(invalid)})
	case errors.Is(err, task.ErrNotFound):
		c.AbortWithStatusJSON(http.StatusNotFound, gin.H{"detail": "Task not found"})
	case errors.Is(err, task.ErrForbidden):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": "Not authorized to access this task"})
	case errors.Is(err, caller.ErrMissingScope):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": err.Error()})
	case errors.Is(err, caller.ErrOtherUser):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": "A user's token may act only for that user"})
	case errors.Is(err, task.ErrNoOrganization):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": "No active organization: the token names none you are a member of"})
	case errors.Is(err, caller.ErrOtherOrganization):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"detail": "A user's token may act only in its active organization"})
	case errors.Is(err, caller.ErrOrganizationRequired):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"detail": []issue{{Loc: []string{"query", "organization_id"}, Msg: "a service acting for an organization must name it in organization_id, and no user_id", Type: "value_error"}}})
	case errors.Is(err, caller.ErrUserRequired):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"detail": []issue{{Loc: []string{"query", "user_id"}, Msg: "A service token must name the user it acts for", Type: "missing"}}})
	case errors.Is(err, context.Canceled):
		c.Abort()
	case errors.Is(err, task.ErrInvalidData):
		h.log.WarnContext(c.Request.Context(), "store refused the data", "err", err, "route", c.FullPath())
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"detail": []issue{{Loc: []string{"body"}, Msg: "The data was refused as invalid", Type: "value_error"}}})
	case errors.Is(err, task.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		h.log.ErrorContext(c.Request.Context(), "store unavailable", "err", err, "route", c.FullPath())
		c.Header("Retry-After", "1")
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"detail": "Service temporarily unavailable"})
	default:
		h.log.ErrorContext(c.Request.Context(), "request failed", "err", err, "route", c.FullPath())
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"detail": "Internal Server Error"})
	}
}

// respond writes a JSON body (encode.go) with its Content-Length. Without
// one, a body over net/http's 2 KiB chunking threshold (a list page) goes
// out chunked, and a reverse proxy in front (the gateway) must then flush
// every piece as it arrives: several writes per response instead of one.
func (h *handler) respond(c *gin.Context, status int, body []byte) {
	c.Header("Content-Length", strconv.Itoa(len(body)))
	c.Data(status, "application/json; charset=utf-8", body)
}

// loggedUser names the request's user in its log line, once authenticated.
func loggedUser(c *gin.Context) (string, bool) {
	p, ok := authn.PrincipalFrom(c.Request.Context())
	return p.UserID, ok
}

func (h *handler) limitBody(c *gin.Context) {
	if c.Request.ContentLength > h.maxBody {
		h.fail(c, &requestError{status: http.StatusRequestEntityTooLarge, detail: "Request body too large"})
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, h.maxBody)
	c.Next()
}
