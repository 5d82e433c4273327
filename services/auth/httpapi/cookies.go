package httpapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/signedcookie"
)

// cookieJar names, signs and writes Better Auth's cookies: the same names,
// attribute order and signed value format, so a browser's cookie from either
// server is good on the other.
type cookieJar struct {
	secret string
	secure bool
	prefix string // "__Secure-better-auth." or "better-auth."
}

func newCookieJar(secret string, secure bool) cookieJar {
	prefix := "better-auth."
	if secure {
		prefix = "__Secure-" + prefix
	}
	return cookieJar{secret: secret, secure: secure, prefix: prefix}
}

func (j cookieJar) sessionToken() string { return j.prefix + "session_token" }
func (j cookieJar) sessionData() string  { return j.prefix + "session_data" }
func (j cookieJar) dontRemember() string { return j.prefix + "dont_remember" }
func (j cookieJar) state() string        { return j.prefix + "state" }

// write appends one Set-Cookie in better-call's attribute order:
// name=value; Max-Age; Path; HttpOnly; Secure; SameSite.
func (j cookieJar) write(c *gin.Context, name, value string, maxAge *int) {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(value)
	if maxAge != nil {
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.Itoa(*maxAge))
	}
	b.WriteString("; Path=/; HttpOnly")
	if j.secure {
		b.WriteString("; Secure")
	}
	b.WriteString("; SameSite=Lax")
	c.Writer.Header().Add("Set-Cookie", b.String())
}

func (j cookieJar) signed(value string) string {
	return signedcookie.EncodeValue(signedcookie.Sign(value, j.secret))
}

// setSession issues the session cookie. A remembered session's cookie lives
// as long as the session may; otherwise it is a browser-session cookie with
// a dont_remember marker, so refreshes never extend it.
func (j cookieJar) setSession(c *gin.Context, token string, remember bool, ttl time.Duration) {
	signed := signedcookie.Sign(token, j.secret)
	if remember {
		age := int(ttl / time.Second)
		j.write(c, j.sessionToken(), signedcookie.EncodeValue(signed), &age)
	} else {
		j.write(c, j.sessionToken(), signedcookie.EncodeValue(signed), nil)
		j.write(c, j.dontRemember(), j.signed("true"), nil)
	}
	// The bearer plugin's header: the signed token for clients without cookies.
	c.Header("set-auth-token", signed)
	exposeHeader(c, "set-auth-token")
}

// clearSession expires every session cookie, as Better Auth's sign-out does.
func (j cookieJar) clearSession(c *gin.Context) {
	zero := 0
	for _, name := range []string{j.sessionToken(), j.sessionData(), j.dontRemember()} {
		j.write(c, name, "", &zero)
	}
}

// requestCookies parses the Cookie header once per request.
func requestCookies(r *http.Request) map[string]string {
	return signedcookie.ParseCookieHeader(r.Header.Get("Cookie"))
}

func exposeHeader(c *gin.Context, name string) {
	existing := c.Writer.Header().Get("Access-Control-Expose-Headers")
	for _, h := range strings.Split(existing, ",") {
		if strings.EqualFold(strings.TrimSpace(h), name) {
			return
		}
	}
	if existing != "" {
		name = existing + ", " + name
	}
	c.Writer.Header().Set("Access-Control-Expose-Headers", name)
}
