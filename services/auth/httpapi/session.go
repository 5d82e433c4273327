package httpapi

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/services/auth/identity"
)

const (
	authKey   = "latch.auth"
	userIDKey = "latch.user_id"
)

// sessionToken finds the request's session token: a Bearer header (the
// bearer plugin's rule: signed, or a bare token) wins over the cookie.
// signed reports whether a correctly signed token was presented at all.
func (h *handler) sessionToken(c *gin.Context, cookies map[string]string) (token string, signed bool) {
	if auth := c.GetHeader("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		if t := strings.TrimSpace(auth[7:]); t != "" {
			if !strings.Contains(t, ".") {
				return t, true
			}
			if strings.Contains(t, "%") {
				if decoded, err := url.PathUnescape(t); err == nil { // decodeURIComponent
					t = decoded
				}
			}
			if v, ok := signedcookie.Verify(t, h.cookies.secret); ok {
				return v, true
			}
		}
	}
	raw, ok := cookies[h.cookies.sessionToken()]
	if !ok {
		return "", false
	}
	return signedcookie.Verify(raw, h.cookies.secret)
}

// authenticate resolves the request's session, extending it (and re-sending
// its cookie) when due. A signed token whose session is gone or expired
// clears the cookies, as Better Auth does.
func (h *handler) authenticate(c *gin.Context, opt identity.SessionOptions) (identity.Authenticated, error) {
	cookies := requestCookies(c.Request)
	token, signed := h.sessionToken(c, cookies)
	if !signed {
		return identity.Authenticated{}, identity.ErrUnauthenticated
	}
	if h.dontRemember(c) {
		opt.NoRefresh = true
	}
	auth, err := h.ids.Authenticate(c.Request.Context(), token, opt)
	if errors.Is(err, identity.ErrUnauthenticated) {
		h.cookies.clearSession(c)
		return auth, err
	}
	if err != nil {
		return auth, err
	}
	if auth.Refreshed {
		h.cookies.setSession(c, auth.Session.Token, true, h.ids.Policy().SessionTTL)
	}
	c.Set(authKey, auth)
	c.Set(userIDKey, auth.User.ID)
	return auth, nil
}

// requireSession admits requests with a live session (a fresh one when
// fresh is set) and answers 401 (or 403 SESSION_NOT_FRESH) otherwise.
func (h *handler) requireSession(fresh bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		auth, err := h.authenticate(c, identity.SessionOptions{})
		if err == nil && fresh {
			err = h.ids.RequireFresh(auth.Session)
		}
		if err != nil {
			h.fail(c, err)
			return
		}
		c.Next()
	}
}

func authOf(c *gin.Context) identity.Authenticated {
	return c.MustGet(authKey).(identity.Authenticated)
}

// clientOf records where a request came from: the address resolveClient
// found under TRUSTED_PROXIES (never a header a client can send directly).
func clientOf(r *http.Request) identity.Client {
	ip := ""
	if a, ok := clientAddr(r); ok {
		ip = normalizeIP(a)
	}
	return identity.Client{IPAddress: ip, UserAgent: r.UserAgent()}
}

// normalizeIP keeps IPv4 as is, unmaps IPv4-in-IPv6, and masks other IPv6
// addresses to their /64, as Better Auth stores them.
func normalizeIP(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.Addr().StringExpanded()
}
