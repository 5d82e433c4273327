package signedcookie

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzSecret is the secret every golden value was signed with, so the
// golden signed values are seeds that verify.
const fuzzSecret = "better-auth-secret-12345678901234567890"

const sessionCookie = "better-auth.session_token"

// addGoldenSeeds adds the values better-call itself produced (signed values,
// wire forms, Cookie headers) as seeds of f; pick chooses what to add from
// each signed value and its wire form.
func addGoldenSeeds(f *testing.F, pick func(signed, wire string) []string) {
	f.Helper()
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		f.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		f.Fatal(err)
	}
	for _, s := range g.Sign {
		if s.Secret != fuzzSecret {
			continue
		}
		for _, seed := range pick(s.Signed, s.Wire) {
			f.Add(seed)
		}
	}
	for _, v := range g.Verify {
		for _, seed := range pick(v.Signed, EncodeValue(v.Signed)) {
			f.Add(seed)
		}
	}
}

// signatureHolds is the rule written out independently of Verify: value is
// everything before the last '.', and what follows is the padded standard
// base64 of HMAC-SHA256(secret, value).
func signatureHolds(signed, value string) bool {
	dot := strings.LastIndex(signed, ".")
	if dot < 0 || signed[:dot] != value {
		return false
	}
	mac, err := base64.StdEncoding.DecodeString(signed[dot+1:])
	if err != nil {
		return false
	}
	m := hmac.New(sha256.New, []byte(fuzzSecret))
	m.Write([]byte(value))
	return hmac.Equal(mac, m.Sum(nil))
}

// FuzzVerify: a value whose signature does not verify is never accepted, and
// what is accepted is exactly the part that was signed.
func FuzzVerify(f *testing.F) {
	addGoldenSeeds(f, func(signed, _ string) []string { return []string{signed} })
	f.Add("x.")
	f.Add(".")
	f.Add("a." + strings.Repeat("A", 43) + "=")
	f.Fuzz(func(t *testing.T, signed string) {
		value, ok := Verify(signed, fuzzSecret)
		if !ok {
			if value != "" {
				t.Fatalf("Verify(%q) refused but returned %q", signed, value)
			}
			return
		}
		if !signatureHolds(signed, value) {
			t.Fatalf("Verify(%q) accepted %q, whose signature does not verify", signed, value)
		}
		if _, ok := Verify(signed, fuzzSecret+"x"); ok {
			t.Fatalf("Verify(%q) accepted it under another secret too", signed)
		}
	})
}

// FuzzSessionCookie: no cookie name parsed from any Cookie header holds a
// ';'; a session cookie read from it is accepted
// only with a signature that verifies, and re-encodes (signed, as
// Set-Cookie writes it) to a value that parses and verifies to the same
// session. The value must be valid UTF-8 for that, as every value Better
// Auth or Latch signs is (JavaScript strings cannot hold anything else);
// an invalid one must at least never verify to a different session.
func FuzzSessionCookie(f *testing.F) {
	addGoldenSeeds(f, func(signed, wire string) []string {
		return []string{
			sessionCookie + "=" + wire,
			sessionCookie + "=" + signed,
			"a=b; " + sessionCookie + "=\"" + wire + "\"; c=d",
			" " + sessionCookie + " = " + wire + " ;" + sessionCookie + "=other",
		}
	})
	for _, s := range []string{"a=1; b=2", "a=\"x😀", "a;b;c=%E0%A4%A", "=;=;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for name, raw := range ParseCookieHeader(header) {
			if strings.Contains(name, ";") {
				t.Fatalf("cookie name %q holds a ';'", name)
			}
			value, ok := Verify(raw, fuzzSecret)
			if !ok {
				continue
			}
			if !signatureHolds(raw, value) {
				t.Fatalf("cookie %q=%q accepted as %q without a valid signature", name, raw, value)
			}
			wire := EncodeValue(Sign(value, fuzzSecret))
			again, ok := Verify(ParseCookieHeader(sessionCookie + "=" + wire)[sessionCookie], fuzzSecret)
			switch {
			case utf8.ValidString(value) && (!ok || again != value):
				t.Fatalf("session %q re-encoded as %q reads back as %q (ok=%v)", value, wire, again, ok)
			case ok && again != value:
				t.Fatalf("session %q re-encoded as %q reads back as another session %q", value, wire, again)
			}
		}
	})
}

// FuzzEncodeValue: EncodeValue writes only what a cookie value may hold (no
// ';', ',', space, quote or control byte can reach Set-Cookie), and
// DecodeValue undoes it for every valid UTF-8 string.
func FuzzEncodeValue(f *testing.F) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		f.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		f.Fatal(err)
	}
	for _, e := range g.Encode {
		f.Add(e.S)
	}
	for _, d := range g.Decode {
		f.Add(d.S)
	}
	f.Add("\r\nSet-Cookie: x=y")
	f.Fuzz(func(t *testing.T, s string) {
		enc := EncodeValue(s)
		for i := 0; i < len(enc); i++ {
			c := enc[i]
			if c == '%' {
				if i+2 >= len(enc) || !isHex(enc[i+1]) || !isHex(enc[i+2]) {
					t.Fatalf("EncodeValue(%q) = %q: a '%%' not followed by two hex digits", s, enc)
				}
				continue
			}
			if !isUnreserved(c) {
				t.Fatalf("EncodeValue(%q) = %q holds %q", s, enc, c)
			}
		}
		if utf8.ValidString(s) {
			if got := DecodeValue(enc); got != s {
				t.Fatalf("DecodeValue(EncodeValue(%q)) = %q", s, got)
			}
		}
		_ = DecodeValue(s) // never panics, whatever it is given
	})
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f'
}
