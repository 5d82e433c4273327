package httpapi

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// Redirects to a caller's URL (callbackURL, redirectTo, errorCallbackURL,
// newUserCallbackURL). A Location is built by appending text to the checked
// value, never by parsing and re-serializing it (Go's url.URL.String decodes
// "/%2Fevil.example" into "//evil.example", a host to a browser), and the
// finished Location is checked again by the same rule before it is sent.

// allowsRedirect accepts trusted absolute URLs and safe root-relative paths.
func (t trustedOrigins) allowsRedirect(raw string) bool {
	if hasControlOrBadUTF8(raw) {
		return false
	}
	if strings.HasPrefix(raw, "/") {
		return safeRelativeURL(raw)
	}
	return t.allows(raw)
}

// safeRelativeURL is Better Auth 1.7's isSafeRelativeURL: a path every
// browser and router resolves on this origin. "//host" and "/\host" are
// hosts to a browser (it reads \ as /), and an encoded separator in the path
// (%2F, %5C) becomes one for any layer that decodes before routing.
func safeRelativeURL(raw string) bool {
	if !strings.HasPrefix(raw, "/") || strings.HasPrefix(raw, "//") || strings.Contains(raw, `\`) || hasControlOrBadUTF8(raw) {
		return false
	}
	path := raw
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		path = raw[:i]
	}
	lower := strings.ToLower(path)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") {
		return false
	}
	// A broken %-escape ("/%", "/%zz") is refused too (Better Auth keeps it
	// literally): the absolute form a reset link makes of it would not parse.
	_, err := url.Parse(raw)
	return err == nil
}

// hasControlOrBadUTF8 finds what Better Auth refuses (C0 and C1 controls,
// DEL; a browser silently drops tab and newlines, which joins what a check
// saw apart) and what a JavaScript string cannot hold (invalid UTF-8).
func hasControlOrBadUTF8(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

// withQuery appends key=value to target's query, before its fragment, as
// Better Auth's appendQueryParams does; nothing already there is re-encoded.
func withQuery(target, key, value string) string {
	target, fragment := splitFragment(target)
	sep := "?"
	if i := strings.IndexByte(target, '?'); i >= 0 {
		sep = "&"
		if strings.HasSuffix(target, "?") || strings.HasSuffix(target, "&") {
			sep = ""
		}
	}
	return target + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value) + fragment
}

// withParam is URL.searchParams.set as Better Auth's reset-password link
// uses it: the pairs named key are dropped (as text), then key=value appended.
func withParam(target, key, value string) string {
	target, fragment := splitFragment(target)
	if i := strings.IndexByte(target, '?'); i >= 0 {
		var kept []string
		for _, pair := range strings.Split(target[i+1:], "&") {
			name, _, _ := strings.Cut(pair, "=")
			if decoded, err := url.QueryUnescape(name); err == nil && decoded == key {
				continue
			}
			if pair != "" {
				kept = append(kept, pair)
			}
		}
		target = target[:i]
		if len(kept) > 0 {
			target += "?" + strings.Join(kept, "&")
		}
	}
	return withQuery(target+fragment, key, value)
}

func splitFragment(s string) (before, fragment string) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

// absolute is new URL(ref, baseURL) for a ref that passed allowsRedirect:
// a root-relative path lands on the base URL's origin, as text.
func (h *handler) absolute(ref string) string {
	if strings.HasPrefix(ref, "/") {
		return h.origin + ref
	}
	return ref
}

// redirect answers as better-call's ctx.redirect does: 302 with Location.
// It is the one place a Location is set from a caller's URL, so it checks
// the text it is about to send; a refusal here means a builder broke the
// rule, and the browser gets an error rather than a foreign Location.
func (h *handler) redirect(c *gin.Context, to string) {
	if !h.origins.allowsRedirect(to) {
		h.log.WarnContext(c.Request.Context(), "redirect refused: the built Location left the trusted origins", "route", c.FullPath())
		h.fail(c, errInvalidCallbackURL)
		return
	}
	c.Header("Location", to)
	c.Header("Content-Type", "application/json")
	c.AbortWithStatus(http.StatusFound)
}
