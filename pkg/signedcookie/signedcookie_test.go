package signedcookie

import (
	"encoding/json"
	"maps"
	"os"
	"strings"
	"testing"
)

// golden is testdata/golden.json, written by testdata/gen.mjs with
// better-call's own signCookieValue, getSignedCookie, encodeURIComponent,
// tryDecode and parseCookies.
type golden struct {
	Sign []struct {
		Value  string `json:"value"`
		Secret string `json:"secret"`
		Wire   string `json:"wire"`
		Signed string `json:"signed"`
	} `json:"sign"`
	Verify []struct {
		Name   string `json:"name"`
		Signed string `json:"signed"`
		Secret string `json:"secret"`
		Result string `json:"result"` // "value", "false" (bad signature) or "null" (not a signed value)
		Value  string `json:"value"`
	} `json:"verify"`
	Encode []struct {
		S       string `json:"s"`
		Encoded string `json:"encoded"`
	} `json:"encode"`
	Decode []struct {
		S       string `json:"s"`
		Decoded string `json:"decoded"`
	} `json:"decode"`
	Parse []struct {
		Header  string      `json:"header"`
		Cookies [][2]string `json:"cookies"`
	} `json:"parse"`
}

func loadGolden(t *testing.T) golden {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("parse golden.json: %v", err)
	}
	if len(g.Sign) == 0 || len(g.Verify) == 0 || len(g.Encode) == 0 || len(g.Decode) == 0 || len(g.Parse) == 0 {
		t.Fatal("golden.json is missing vectors; regenerate it with testdata/gen.mjs")
	}
	return g
}

// short keeps subtest names readable when a vector is long.
func short(s string) string {
	if len(s) > 48 {
		return s[:48] + "…"
	}
	return s
}

func TestSignMatchesBetterCallByteForByte(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Sign {
		t.Run("signing "+short(c.Value)+" with "+short(c.Secret), func(t *testing.T) {
			t.Parallel()
			signed := Sign(c.Value, c.Secret)
			if signed != c.Signed {
				t.Fatalf("Sign = %q, better-call = %q", signed, c.Signed)
			}
			if wire := EncodeValue(signed); wire != c.Wire {
				t.Fatalf("EncodeValue(Sign) = %q, better-call's cookie value = %q", wire, c.Wire)
			}
		})
	}
}

func TestVerifyAgreesWithBetterCallsGetSignedCookie(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Verify {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			value, ok := Verify(c.Signed, c.Secret)
			if want := c.Result == "value"; ok != want {
				t.Fatalf("Verify(%q) ok = %v, better-call returned %s", c.Signed, ok, c.Result)
			}
			if value != c.Value {
				t.Fatalf("Verify value = %q, better-call = %q", value, c.Value)
			}
		})
	}
}

func TestVerifyRoundTripsSign(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, value, secret string
	}{
		{"a session token round-trips", "Pz3kD9qWm2vL8xN4rT6yB1cF5hJ7gK0s", "a-secret-of-at-least-thirty-two-chars"},
		{"a value with dots round-trips", "a.b.c.", "s"},
		{"a non-ASCII value round-trips", "日本語 😀", "sécret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, ok := Verify(Sign(c.value, c.secret), c.secret)
			if !ok || got != c.value {
				t.Fatalf("Verify(Sign(%q)) = %q, %v", c.value, got, ok)
			}
			got, ok = Verify(DecodeValue(EncodeValue(Sign(c.value, c.secret))), c.secret)
			if !ok || got != c.value {
				t.Fatalf("Verify after an encode/decode trip = %q, %v", got, ok)
			}
			if _, ok := Verify(Sign(c.value, c.secret), c.secret+"x"); ok {
				t.Fatal("Verify accepted another secret")
			}
		})
	}
	t.Run("an empty value signs but never verifies, as in better-call", func(t *testing.T) {
		t.Parallel()
		if _, ok := Verify(Sign("", "s"), "s"); ok {
			t.Fatal("Verify accepted a signature with an empty value")
		}
	})
}

func TestEncodeValueMatchesEncodeURIComponent(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Encode {
		t.Run("encoding "+short(c.S), func(t *testing.T) {
			t.Parallel()
			if got := EncodeValue(c.S); got != c.Encoded {
				t.Fatalf("EncodeValue(%q) = %q, encodeURIComponent = %q", c.S, got, c.Encoded)
			}
		})
	}
	t.Run("invalid UTF-8 bytes are percent-encoded one by one", func(t *testing.T) {
		t.Parallel()
		if got := EncodeValue("a\xff\xc3"); got != "a%FF%C3" {
			t.Fatalf("EncodeValue = %q", got)
		}
	})
}

func TestDecodeValueMatchesBetterCallsTryDecode(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Decode {
		t.Run("decoding "+c.S, func(t *testing.T) {
			t.Parallel()
			if got := DecodeValue(c.S); got != c.Decoded {
				t.Fatalf("DecodeValue(%q) = %q, tryDecode = %q", c.S, got, c.Decoded)
			}
		})
	}
}

func TestParseCookieHeaderMatchesBetterCallsParseCookies(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Parse {
		t.Run("parsing "+short(c.Header), func(t *testing.T) {
			t.Parallel()
			want := make(map[string]string, len(c.Cookies))
			for _, kv := range c.Cookies {
				want[kv[0]] = kv[1]
			}
			if got := ParseCookieHeader(c.Header); !maps.Equal(got, want) {
				t.Fatalf("ParseCookieHeader(%q) = %q, parseCookies = %q", c.Header, got, want)
			}
		})
	}
	t.Run("a header of invalid UTF-8 parses without panicking", func(t *testing.T) {
		t.Parallel()
		got := ParseCookieHeader("\xff=\xfe; b=\"\xff")
		if got["\xff"] != "\xfe" || got["b"] != "" {
			t.Fatalf("ParseCookieHeader = %q", got)
		}
	})
}

// Every spelling better-call accepts has one canonical form: the value
// Sign writes. Shapes it refuses outright have none.
func TestCanonicalIsWhatSignWritesForEverySpellingBetterCallAccepts(t *testing.T) {
	t.Parallel()
	accepted := 0
	for _, c := range loadGolden(t).Verify {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			got, ok := Canonical(c.Signed)
			switch c.Result {
			case "value":
				if want := Sign(c.Value, c.Secret); !ok || got != want {
					t.Fatalf("Canonical(%q) = %q, %v; want %q (what Sign writes)", c.Signed, got, ok, want)
				}
			case "null":
				if ok {
					t.Fatalf("Canonical(%q) = %q, but better-call does not read it as a signed value", c.Signed, got)
				}
			}
		})
		if c.Result == "value" {
			accepted++
		}
	}
	if accepted < 2 {
		t.Fatalf("only %d accepted vectors: the golden file lost its low-bits case", accepted)
	}
}

func TestCanonicalMapsTheLowBitsSpellingsToOne(t *testing.T) {
	t.Parallel()
	signed := Sign("session-token", "a-secret-of-enough-length-0123456789")
	// The 43rd digit carries 4 bits of the MAC and 2 unused bits, zero as
	// Sign writes them: setting the lowest gives another spelling.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := strings.IndexByte(alphabet, signed[len(signed)-2])
	respelled := signed[:len(signed)-2] + string(alphabet[last|1]) + "="
	if _, ok := Verify(respelled, "a-secret-of-enough-length-0123456789"); !ok {
		t.Fatalf("the respelled signature %q should verify as better-call's atob reads it", respelled)
	}
	if got, ok := Canonical(respelled); !ok || got != signed {
		t.Fatalf("Canonical(%q) = %q, %v; want %q", respelled, got, ok, signed)
	}
}
