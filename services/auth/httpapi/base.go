package httpapi

import (
	"fmt"
	"net/url"
)

// parseBaseURL reads BETTER_AUTH_URL as Better Auth does: a URL without a
// path means the API lives at /api/auth.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q must be an absolute http(s) URL", raw)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/api/auth"
	}
	return u, nil
}
