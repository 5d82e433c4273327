// Package ratelimit is Better Auth's rate limiter: per client IP and path, a
// count of requests that resets once a window has passed since the last
// allowed one, with stricter rules for the paths attackers like. Counters
// live in Redis (shared by every replica) or in process.
package ratelimit

import (
	"context"
	"math"
	"strings"
	"sync"
	"time"
)

// Rule allows Max requests per Window.
type Rule struct {
	Window time.Duration
	Max    int
}

// Rules are the default rule and the two stricter classes, as Better Auth has them.
type Rules struct {
	Default Rule // every path: 100 / 10 s
	// Credentials covers sign-in, sign-up, change-password and change-email: 3 / 10 s.
	Credentials Rule
	// Mail covers the requests that send mail: password reset and verification: 3 / 60 s.
	Mail Rule
}

// DefaultRules are Better Auth 1.7's.
func DefaultRules() Rules {
	return Rules{
		Default:     Rule{Window: 10 * time.Second, Max: 100},
		Credentials: Rule{Window: 10 * time.Second, Max: 3},
		Mail:        Rule{Window: 60 * time.Second, Max: 3},
	}
}

// For picks the rule for a path relative to the API's base path.
func (r Rules) For(path string) Rule {
	for _, p := range []string{"/sign-in", "/sign-up", "/change-password", "/change-email", "/two-factor/"} {
		if strings.HasPrefix(path, p) {
			return r.Credentials
		}
	}
	switch {
	case path == "/request-password-reset", path == "/send-verification-email",
		strings.HasPrefix(path, "/forget-password"),
		path == "/email-otp/send-verification-otp", path == "/email-otp/request-password-reset":
		return r.Mail
	}
	return r.Default
}

// Decision is the answer for one request.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until the window passes, when refused.
	RetryAfter time.Duration
}

// state is one key's counter: Better Auth's {count, lastRequest}.
type state struct {
	count int
	last  time.Time
}

// decide is Better Auth's step: a window passed since the last allowed
// request restarts the count; a full count refuses; otherwise count it.
func decide(s *state, r Rule, now time.Time) (Decision, state) {
	if s == nil || now.Sub(s.last) >= r.Window {
		return Decision{Allowed: true}, state{count: 1, last: now}
	}
	if s.count >= r.Max {
		return Decision{RetryAfter: s.last.Add(r.Window).Sub(now)}, *s
	}
	return Decision{Allowed: true}, state{count: s.count + 1, last: now}
}

// RetryAfterSeconds is the X-Retry-After value: whole seconds, rounded up.
func (d Decision) RetryAfterSeconds() int {
	return int(math.Ceil(d.RetryAfter.Seconds()))
}

// Memory keeps counters in this process.
type Memory struct {
	mu      sync.Mutex
	entries map[string]memoryEntry
	max     int
}

type memoryEntry struct {
	state
	expires time.Time
}

// NewMemory returns an in-process limiter holding at most 100,000 keys, as
// Better Auth's memory store does.
func NewMemory() *Memory { return &Memory{entries: map[string]memoryEntry{}, max: 100_000} }

// Consume counts one request for key.
func (m *Memory) Consume(_ context.Context, key string, r Rule, now time.Time) (Decision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var cur *state
	if e, ok := m.entries[key]; ok && now.Before(e.expires) {
		cur = &e.state
	}
	d, next := decide(cur, r, now)
	if len(m.entries) >= m.max {
		m.prune(now)
	}
	m.entries[key] = memoryEntry{state: next, expires: next.last.Add(r.Window)}
	return d, nil
}

// prune drops expired keys, then the oldest-inserted overflow if still full.
func (m *Memory) prune(now time.Time) {
	for k, e := range m.entries {
		if !now.Before(e.expires) {
			delete(m.entries, k)
		}
	}
	for k := range m.entries {
		if len(m.entries) < m.max {
			break
		}
		delete(m.entries, k)
	}
}

// String names the store in logs.
func (m *Memory) String() string { return "memory" }
