package httpapi

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// trustedOrigins decides which origins may act with a user's cookies and
// where callback URLs may point: the base URL's origin plus TRUSTED_ORIGINS.
// A pattern may hold a * wildcard in its host (https://*.example.com).
type trustedOrigins struct{ patterns []string }

func newTrustedOrigins(list []string) trustedOrigins {
	out := make([]string, 0, len(list))
	for _, o := range list {
		if o = strings.TrimRight(strings.TrimSpace(o), "/"); o != "" {
			out = append(out, strings.ToLower(o))
		}
	}
	return trustedOrigins{patterns: out}
}

// allows reports whether the origin of raw (an origin, or any absolute URL)
// is trusted.
func (t trustedOrigins) allows(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.User != nil {
		return false // user info is refused: nothing legitimate sends it, and parsers split it differently
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	for _, p := range t.patterns {
		if p == origin || (strings.Contains(p, "*") && wildcardMatch(p, origin)) {
			return true
		}
	}
	return false
}

// wildcardMatch matches origin against a pattern whose * stands for one or
// more characters of a host label (never a dot, so *.example.com cannot
// match evil.com/.example.com).
func wildcardMatch(pattern, origin string) bool {
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", "\x00"), strings.ReplaceAll(origin, "/", "\x00"))
	if err != nil || !ok {
		return false
	}
	pHost := pattern[strings.Index(pattern, "://")+3:]
	oHost := origin[strings.Index(origin, "://")+3:]
	if strings.HasPrefix(oHost, ".") || strings.Contains(oHost, "..") {
		return false // path.Match's * also matches nothing: https://.example.com is no subdomain
	}
	return strings.Count(pHost, ".") == strings.Count(oHost, ".")
}

// checkOrigin is Better Auth's CSRF defence: a state-changing request that
// carries cookies must come from a trusted Origin (or Referer).
func (h *handler) checkOrigin(c *gin.Context) {
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return
	}
	if c.Request.Header.Get("Cookie") == "" {
		return
	}
	if err := h.validateOrigin(c); err != nil {
		h.fail(c, err)
	}
}

func (h *handler) validateOrigin(c *gin.Context) error {
	origin := c.GetHeader("Origin")
	if origin == "" {
		origin = c.GetHeader("Referer")
	}
	if origin == "" || origin == "null" {
		return errMissingOrigin
	}
	if !h.origins.allows(origin) {
		return errInvalidOrigin
	}
	return nil
}

// checkFormCSRF guards the sign-in and sign-up forms, which a cross-site page
// could post without cookies (login CSRF): Fetch Metadata first, then Origin.
func (h *handler) checkFormCSRF(c *gin.Context) error {
	if c.Request.Header.Get("Cookie") != "" {
		return nil // already checked by checkOrigin
	}
	site, mode, dest := c.GetHeader("Sec-Fetch-Site"), c.GetHeader("Sec-Fetch-Mode"), c.GetHeader("Sec-Fetch-Dest")
	if strings.TrimSpace(site+mode+dest) != "" {
		if site == "cross-site" && mode == "navigate" {
			return errCrossSiteNavigation
		}
		return h.validateOrigin(c)
	}
	if c.GetHeader("Origin") != "" || c.GetHeader("Referer") != "" {
		return h.validateOrigin(c)
	}
	return nil
}

// checkCallbackURL refuses a callbackURL outside the trusted origins, which
// would otherwise make the server an open redirect.
func (h *handler) checkCallbackURL(callbackURL string) error {
	if callbackURL == "" || h.origins.allowsRedirect(callbackURL) {
		return nil
	}
	return errInvalidCallbackURL
}
