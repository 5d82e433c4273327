package authn

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Middleware authenticates every request with v: it takes the Bearer token
// from the Authorization header and, when it verifies, puts the Principal
// into the request context (see PrincipalFrom). Otherwise it aborts with 401,
// WWW-Authenticate: Bearer (plus error="invalid_token" when a token was sent,
// RFC 6750) and a FastAPI-style body {"detail": "..."}: "Not authenticated",
// "Token expired" or "Invalid token". While no key set could be loaded yet it
// answers 503, since the fault is not the client's.
func Middleware(v *Verifier) gin.HandlerFunc {
	return func(c *gin.Context) {
		token, ok := BearerToken(c.GetHeader("Authorization"))
		if !ok {
			c.Header("WWW-Authenticate", "Bearer")
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": ReasonMissing.Detail()})
			return
		}
		p, err := v.Verify(c.Request.Context(), token)
		if err != nil {
			reason := ReasonOf(err)
			if reason.Unavailable() {
				c.Header("Retry-After", "5")
				c.AbortWithStatusJSON(http.StatusServiceUnavailable, gin.H{"detail": reason.Detail()})
				return
			}
			c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"detail": reason.Detail()})
			return
		}
		c.Request = c.Request.WithContext(WithPrincipal(c.Request.Context(), p))
		c.Next()
	}
}

// BearerToken extracts the token from an Authorization header value
// ("Bearer <token>", scheme case-insensitive); ok is false when the header
// holds no Bearer token.
func BearerToken(header string) (token string, ok bool) {
	scheme, rest, found := strings.Cut(strings.TrimSpace(header), " ")
	if !found || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(rest)
	return token, token != ""
}
