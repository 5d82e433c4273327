package httpapi

import (
	"net/url"
	"sort"

	"github.com/gin-gonic/gin"
)

// checkURL refuses a request whose query string does not parse (a ";"
// separator, a broken %-escape: Go's parser drops such pairs, so a value
// the client sent would be silently ignored) or whose path or query holds
// invalid UTF-8 or NUL, which no token, id or URL contains and PostgreSQL
// refuses. Better Auth reads queries with WHATWG's URLSearchParams, which
// never fails; answering 400 VALIDATION_ERROR instead is our deviation.
func (h *handler) checkURL(c *gin.Context) {
	if !cleanText(c.Request.URL.Path) {
		h.fail(c, &validationErrors{issues: []string{"[path] " + badTextMessage}})
		return
	}
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		h.fail(c, &validationErrors{issues: []string{"[query] Invalid input: the query string does not parse (use & between pairs and valid %-escapes)"}})
		return
	}
	var issues []string
	for key, values := range q {
		ok := cleanText(key)
		for _, v := range values {
			ok = ok && cleanText(v)
		}
		if !ok {
			issues = append(issues, "[query."+key+"] "+badTextMessage)
		}
	}
	if len(issues) > 0 {
		sort.Strings(issues)
		h.fail(c, &validationErrors{issues: issues})
	}
}
