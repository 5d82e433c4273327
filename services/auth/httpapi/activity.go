package httpapi

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/auth/audit"
)

// eventJSON is one event of GET /security-activity (a Latch extension:
// Better Auth has no audit trail). The shape is the account page's
// contract; docs/audit.md documents it.
type eventJSON struct {
	ID        string            `json:"id"`
	Type      audit.Type        `json:"type"`
	CreatedAt string            `json:"createdAt"`
	IPAddress string            `json:"ipAddress"`
	UserAgent string            `json:"userAgent"`
	Detail    map[string]string `json:"detail"`
}

// securityActivity answers the signed-in user's own most recent events,
// newest first. The user is the session's, always: no parameter names
// another, so none can widen the answer.
func (h *handler) securityActivity(c *gin.Context) {
	limit := audit.DefaultLimit
	if raw, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > audit.MaxLimit || len(c.QueryArray("limit")) > 1 {
			h.fail(c, &validationErrors{issues: []string{"[query.limit] Invalid input: expected one integer from 1 to " + strconv.Itoa(audit.MaxLimit)}})
			return
		}
		limit = n
	}
	auth := authOf(c)
	events, err := h.ids.SecurityActivity(c.Request.Context(), auth.User.ID, limit)
	if err != nil {
		h.fail(c, err)
		return
	}
	out := make([]eventJSON, len(events))
	for i, e := range events {
		d := e.Detail
		if d == nil {
			d = map[string]string{}
		}
		out[i] = eventJSON{
			ID: e.ID, Type: e.Type, CreatedAt: jsTime(e.CreatedAt),
			IPAddress: e.IPAddress, UserAgent: e.UserAgent, Detail: d,
		}
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"events": out})
}
