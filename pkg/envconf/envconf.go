// Package envconf reads a service's typed configuration from environment
// variables and collects every problem, so one start reports all of them.
package envconf

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Reader reads variables through getenv (os.Getenv, or a map in tests).
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a reader over getenv.
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

// Err returns every problem seen so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Fail records a problem found by the caller's own validation.
func (r *Reader) Fail(format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf(format, args...))
}

// String returns the trimmed value of key, or def when it is unset or blank.
func (r *Reader) String(key, def string) string {
	if v := strings.TrimSpace(r.getenv(key)); v != "" {
		return v
	}
	return def
}

// Int returns key as an integer.
func (r *Reader) Int(key string, def int) int {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.Fail("%s must be an integer, got %q", key, v)
		return def
	}
	return n
}

// Bool returns key as a boolean (true/false/1/0).
func (r *Reader) Bool(key string, def bool) bool {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.Fail("%s must be true or false, got %q", key, v)
		return def
	}
	return b
}

// Duration accepts Go durations ("15m", "168h") or plain seconds, the unit
// Better Auth's options use.
func (r *Reader) Duration(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(key))
	if v == "" {
		return def
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.Fail("%s must be a duration like 15m or a number of seconds, got %q", key, v)
		return def
	}
	return d
}

// List splits a comma-separated value, dropping blanks.
func (r *Reader) List(key string) []string {
	var out []string
	for _, p := range strings.Split(r.getenv(key), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// URL returns key as an absolute http(s) URL.
func (r *Reader) URL(key, def string) *url.URL {
	v := r.String(key, def)
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.Fail("%s must be an absolute http(s) URL, got %q", key, v)
		return &url.URL{Scheme: "http", Host: "localhost"}
	}
	return u
}

// Redact hides the password of a URL such as a DATABASE_URL, for logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
