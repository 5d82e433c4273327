// Package signedcookie reads and writes better-call's signed cookie values
// and Cookie headers the way Better Auth does, so session cookies set by
// Better Auth are accepted by Latch and the other way round.
//
// A signed value is value + "." + base64std(HMAC-SHA256(secret, value)),
// padded (always 44 characters ending in '='); on the wire it is passed
// through encodeURIComponent. The key is the raw UTF-8 bytes of the secret,
// with no derivation (better-call crypto.mjs).
package signedcookie

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"unicode/utf8"
)

// sigLen is the length of a padded standard-base64 HMAC-SHA256.
const sigLen = 44

// Sign returns value + "." + its signature, not yet URL-encoded: wrap it in
// EncodeValue before putting it in a Set-Cookie header, as better-call's
// signCookieValue does. Better Auth's secret is never empty (WebCrypto
// refuses an empty HMAC key), so neither should secret be.
func Sign(value, secret string) string {
	return value + "." + signature(value, secret)
}

func signature(value, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(value))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Verify checks a signed value (already URL-decoded, as ParseCookieHeader
// returns it) and returns the value that was signed.
//
// It follows better-call's getSignedCookie: the value is split at the last
// '.', which must not be the first character; the signature must be exactly
// 44 characters ending in '='; then the HMAC is compared in constant time.
// Like the browser's atob that better-call uses, the unused low bits of the
// last base64 digit are ignored.
func Verify(signed, secret string) (value string, ok bool) {
	value, mac, ok := split(signed)
	if !ok {
		return "", false
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(value))
	if !hmac.Equal(mac, m.Sum(nil)) {
		return "", false
	}
	return value, true
}

// Canonical returns the one spelling of a signed value (already
// URL-decoded) among all those Verify treats alike: the same value, and the
// signature re-encoded from its bytes, so the unused low bits of its last
// base64 digit are zero, as Sign writes them. ok is false when Verify would
// refuse signed with any secret. It needs no secret: whoever keys a cache on
// a session cookie without being able to verify it (the gateway) keys on
// this, so two spellings of one cookie are one entry.
func Canonical(signed string) (string, bool) {
	value, mac, ok := split(signed)
	if !ok {
		return "", false
	}
	return value + "." + base64.StdEncoding.EncodeToString(mac), true
}

// split applies getSignedCookie's shape rules: the value is everything
// before the last '.', which must not be the first character; the
// signature must be exactly 44 characters of standard base64 ending in '='.
// It returns the signature's bytes.
func split(signed string) (value string, mac []byte, ok bool) {
	dot := strings.LastIndexByte(signed, '.')
	if dot < 1 {
		return "", nil, false
	}
	value, sig := signed[:dot], signed[dot+1:]
	if len(sig) != sigLen || sig[sigLen-1] != '=' {
		return "", nil, false
	}
	for i := 0; i < sigLen-1; i++ {
		if !isBase64Digit(sig[i]) {
			return "", nil, false
		}
	}
	// Not Strict: like atob, the unused low bits of the last digit are ignored.
	mac, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return "", nil, false
	}
	return value, mac, true
}

func isBase64Digit(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/'
}

// EncodeValue is JavaScript's encodeURIComponent, which better-call applies
// to every cookie value it sets: A–Z a–z 0–9 and - _ . ! ~ * ' ( ) are kept,
// everything else is percent-encoded as UTF-8 with uppercase hex digits.
// JavaScript strings cannot hold invalid UTF-8; here each invalid byte is
// percent-encoded on its own, so nothing is lost.
func EncodeValue(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0x0F])
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

// DecodeValue is better-call's tryDecode: decodeURIComponent when s holds a
// '%', and s unchanged when it holds none or when decodeURIComponent would
// throw (a '%' not followed by two hex digits, or escapes that are not one
// well-formed UTF-8 sequence per character).
func DecodeValue(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	if d, ok := decodeURIComponent(s); ok {
		return d
	}
	return s
}

// decodeURIComponent follows ECMA-262's Decode with an empty reserved set:
// every escape is decoded, and a multi-byte character must be spelled
// entirely in escapes forming valid UTF-8 (no overlongs, no surrogates).
func decodeURIComponent(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '%' {
			b.WriteByte(s[i])
			i++
			continue
		}
		first, ok := escapedByte(s, i)
		if !ok {
			return "", false
		}
		i += 3
		if first < 0x80 {
			b.WriteByte(first)
			continue
		}
		var n int
		switch {
		case first&0xE0 == 0xC0:
			n = 2
		case first&0xF0 == 0xE0:
			n = 3
		case first&0xF8 == 0xF0:
			n = 4
		default:
			return "", false
		}
		var seq [4]byte
		seq[0] = first
		for k := 1; k < n; k++ {
			c, ok := escapedByte(s, i)
			if !ok || c&0xC0 != 0x80 {
				return "", false
			}
			seq[k] = c
			i += 3
		}
		if _, size := utf8.DecodeRune(seq[:n]); size != n {
			return "", false
		}
		b.Write(seq[:n])
	}
	return b.String(), true
}

// escapedByte decodes the "%XX" at s[i:].
func escapedByte(s string, i int) (byte, bool) {
	if i+2 >= len(s) || s[i] != '%' {
		return 0, false
	}
	hi, ok1 := unhex(s[i+1])
	lo, ok2 := unhex(s[i+2])
	return hi<<4 | lo, ok1 && ok2
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ParseCookieHeader parses a Cookie header as better-call's parseCookies
// does, which is what Better Auth reads every cookie through:
//   - pairs are separated by ';'; a piece without '=' is skipped;
//   - name and value are trimmed of JavaScript whitespace (String.trim);
//   - the first occurrence of a name wins, and the empty name is a name;
//   - the value is split at its first '=', so later '=' stay in the value;
//   - a value starting with '"' loses its first and last character, whether
//     or not the last is a quote;
//   - the value is then decoded with DecodeValue.
//
// The header is taken as UTF-8 text. (Node hands better-call raw header
// bytes as Latin-1 characters, so non-ASCII bytes sent unescaped cannot come
// out identical in any encoding; browsers only send what Better Auth set,
// which is always percent-encoded.)
func ParseCookieHeader(header string) map[string]string {
	cookies := make(map[string]string)
	for index := 0; index < len(header); {
		eq := strings.IndexByte(header[index:], '=')
		if eq < 0 {
			break
		}
		eq += index
		end := strings.IndexByte(header[index:], ';')
		if end < 0 {
			end = len(header)
		} else {
			end += index
			if end < eq {
				// A piece without '=': resume after the last ';' before this '='.
				index = strings.LastIndexByte(header[:eq], ';') + 1
				continue
			}
		}
		name := jsTrim(header[index:eq])
		if _, seen := cookies[name]; !seen {
			val := jsTrim(header[eq+1 : end])
			if strings.HasPrefix(val, `"`) {
				val = dropFirstAndLastUnit(val)
			}
			cookies[name] = DecodeValue(val)
		}
		index = end + 1
	}
	return cookies
}

// dropFirstAndLastUnit is JavaScript's val.slice(1, -1) for a val whose first
// character is '"'. It drops UTF-16 code units, so a last character above
// U+FFFF leaves its high surrogate behind, which becomes U+FFFD as soon as
// the string is UTF-8 encoded; that is what this returns in its place.
func dropFirstAndLastUnit(val string) string {
	rest := val[1:]
	if rest == "" {
		return ""
	}
	r, size := utf8.DecodeLastRuneInString(rest)
	rest = rest[:len(rest)-size]
	if r > 0xFFFF {
		rest += string(utf8.RuneError)
	}
	return rest
}

// jsTrim is String.prototype.trim: it strips ECMAScript WhiteSpace and
// LineTerminator characters, a set that differs from unicode.IsSpace (it has
// U+FEFF, and not U+0085).
func jsTrim(s string) string {
	for s != "" {
		r, size := utf8.DecodeRuneInString(s)
		if !isJSSpace(r) {
			break
		}
		s = s[size:]
	}
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isJSSpace(r) {
			break
		}
		s = s[:len(s)-size]
	}
	return s
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00A0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}
