package httpapi

import (
	"encoding/json"
	"time"

	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/signing"
)

// userJSON and sessionJSON are Better Auth's output models, members in the
// order its PostgreSQL adapter returns them.
type userJSON struct {
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	EmailVerified bool    `json:"emailVerified"`
	Image         *string `json:"image"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
	// TwoFactorEnabled is the two-factor plugin's field: present only with
	// the plugin on, as in Better Auth.
	TwoFactorEnabled *bool  `json:"twoFactorEnabled,omitempty"`
	ID               string `json:"id"`
}

type sessionJSON struct {
	ExpiresAt string `json:"expiresAt"`
	Token     string `json:"token"`
	CreatedAt string `json:"createdAt"`
	UpdatedAt string `json:"updatedAt"`
	IPAddress string `json:"ipAddress"`
	UserAgent string `json:"userAgent"`
	UserID    string `json:"userId"`
	// ActiveOrganizationID is the organization plugin's field: present
	// (null or the id) only with the plugin on, as in Better Auth.
	ActiveOrganizationID any    `json:"activeOrganizationId,omitempty"`
	ID                   string `json:"id"`
}

func jsTime(t time.Time) string { return t.UTC().Format(signing.TimeFormat) }

func (h *handler) renderUser(u identity.User) userJSON {
	out := userJSON{
		Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Image: u.Image,
		CreatedAt: jsTime(u.CreatedAt), UpdatedAt: jsTime(u.UpdatedAt), ID: u.ID,
	}
	if h.plugins.TwoFactor {
		enabled := u.TwoFactorEnabled
		out.TwoFactorEnabled = &enabled
	}
	return out
}

func (h *handler) renderSession(s identity.Session) sessionJSON {
	out := sessionJSON{
		ExpiresAt: jsTime(s.ExpiresAt), Token: s.Token, CreatedAt: jsTime(s.CreatedAt),
		UpdatedAt: jsTime(s.UpdatedAt), IPAddress: s.IPAddress, UserAgent: s.UserAgent,
		UserID: s.UserID, ID: s.ID,
	}
	if h.plugins.Organization {
		out.ActiveOrganizationID = json.RawMessage("null")
		if s.ActiveOrganizationID != "" {
			out.ActiveOrganizationID = s.ActiveOrganizationID
		}
	}
	return out
}
