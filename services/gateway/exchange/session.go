package exchange

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/latchid/latch/pkg/signedcookie"
)

// Session is a browser's session cookie read exactly as auth reads it, in
// the one spelling the cache is keyed on and auth is sent. Whatever the
// gateway caches under a key was therefore fetched with that very cookie:
// a cookie auth ignores, or a second spelling of a cookie auth accepts,
// can never make a token reachable under another key.
type Session struct {
	key    string // names the session in the caches
	header string // the Cookie header auth is sent
}

// Key names the session in the caches: a hash of its canonical cookie,
// never the cookie itself, so neither memory dumps nor Redis hold usable
// cookies.
func (s Session) Key() string { return s.key }

// Cookies reads session cookies by auth's rules for one base URL.
type Cookies struct {
	session, dontRemember string
}

// NewCookies follows auth's naming: on an https base URL (BETTER_AUTH_URL)
// every cookie is __Secure-better-auth.*, otherwise better-auth.*; auth
// reads no other name, so neither does the gateway.
func NewCookies(secureBaseURL bool) Cookies {
	prefix := "better-auth."
	if secureBaseURL {
		prefix = "__Secure-" + prefix
	}
	return Cookies{session: prefix + "session_token", dontRemember: prefix + "dont_remember"}
}

// Session finds the session cookie in a request's Cookie header. It parses
// the header with auth's own parser (better-call's rules: first occurrence
// wins, quotes and whitespace trimmed, percent-decoding), takes the signed
// value apart as auth's verification does and puts it back together in the
// canonical spelling (signedcookie.Canonical). ok is false when there is no
// such cookie or auth would refuse it for its shape alone.
//
// The header for auth carries that session cookie, re-encoded, and the
// dont_remember marker when present: the marker only stops auth extending
// the session, and without it a session opened with "remember me" off
// would be extended by every exchange. Nothing else of the browser's
// cookies goes to auth on an exchange.
func (c Cookies) Session(cookieHeader string) (Session, bool) {
	cookies := signedcookie.ParseCookieHeader(cookieHeader)
	raw, ok := cookies[c.session]
	if !ok {
		return Session{}, false
	}
	canonical, ok := signedcookie.Canonical(raw)
	if !ok {
		return Session{}, false
	}
	wire := signedcookie.EncodeValue(canonical)
	if signedcookie.DecodeValue(wire) != canonical {
		// Bytes that are not UTF-8 do not survive encodeURIComponent and
		// back: auth would read another value than the one keyed on.
		return Session{}, false
	}
	sum := sha256.Sum256([]byte(canonical))
	header := c.session + "=" + wire
	if marker, ok := cookies[c.dontRemember]; ok {
		header += "; " + c.dontRemember + "=" + signedcookie.EncodeValue(marker)
	}
	return Session{key: hex.EncodeToString(sum[:]), header: header}, true
}
