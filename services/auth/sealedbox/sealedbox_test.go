package sealedbox

import (
	"encoding/json"
	"errors"
	"maps"
	"os"
	"regexp"
	"strings"
	"testing"
)

// keySpec describes a Better Auth secret configuration in golden.json: a
// single secret, or versioned secrets (current first, like Better Auth's
// `secrets` option) with a legacy secret; optionally for one purpose.
type keySpec struct {
	Secret   *string `json:"secret"`
	Versions []struct {
		Version int    `json:"version"`
		Value   string `json:"value"`
	} `json:"versions"`
	Legacy  string `json:"legacy"`
	Purpose string `json:"purpose"`
}

// baResult is what Better Auth's symmetricDecrypt returned, or the message
// it threw.
type baResult struct {
	Plaintext *string `json:"plaintext"`
	Throws    string  `json:"throws"`
}

// golden is testdata/golden.json, written by testdata/gen.mjs with Better
// Auth's own symmetricEncrypt, symmetricDecrypt, parseEnvelope,
// derivePurposeKey and buildSecretConfig.
type golden struct {
	Opens []struct {
		Name string  `json:"name"`
		Key  keySpec `json:"key"`
		Data string  `json:"data"`
		baResult
	} `json:"opens"`
	Envelopes []struct {
		S        string `json:"s"`
		Envelope *struct {
			Version    float64 `json:"version"`
			Ciphertext string  `json:"ciphertext"`
		} `json:"envelope"`
	} `json:"envelopes"`
	Purposes []struct {
		Key     keySpec `json:"key"`
		Purpose string  `json:"purpose"`
		Derived struct {
			Secret   *string `json:"secret"`
			Versions []struct {
				Version int    `json:"version"`
				Value   string `json:"value"`
			} `json:"versions"`
			Current int    `json:"current"`
			Legacy  string `json:"legacy"`
		} `json:"derived"`
	} `json:"purposes"`
	GoMade []struct {
		Name      string   `json:"name"`
		Key       keySpec  `json:"key"`
		Plaintext string   `json:"plaintext"`
		Sealed    string   `json:"sealed"`
		BA        baResult `json:"ba"`
	} `json:"go_made"`
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
	if len(g.Opens) == 0 || len(g.Envelopes) == 0 || len(g.Purposes) == 0 || len(g.GoMade) == 0 {
		t.Fatal("golden.json is missing vectors; regenerate it with testdata/gen.mjs")
	}
	return g
}

// keyring builds the Keyring matching a Better Auth configuration.
func (s keySpec) keyring(t *testing.T) Keyring {
	t.Helper()
	var k Keyring
	if s.Secret != nil {
		k = SingleSecret(*s.Secret)
	} else {
		versioned := make(map[int]string)
		for _, v := range s.Versions {
			versioned[v.Version] = v.Value
		}
		var err error
		if k, err = NewKeyring(s.Legacy, versioned, s.Versions[0].Version); err != nil {
			t.Fatalf("NewKeyring: %v", err)
		}
	}
	if s.Purpose != "" {
		var err error
		if k, err = k.ForPurpose(s.Purpose); err != nil {
			t.Fatalf("ForPurpose: %v", err)
		}
	}
	return k
}

// wantErr maps a message Better Auth throws to the sentinel Open returns.
func wantErr(t *testing.T, thrown string) error {
	t.Helper()
	switch {
	case thrown == "invalid tag":
		return ErrDecrypt
	case strings.HasPrefix(thrown, "hex string expected"),
		strings.HasPrefix(thrown, `"nonce" expected`),
		strings.HasPrefix(thrown, `"ciphertext" expected`):
		return ErrMalformed
	case strings.Contains(thrown, "not found in keys"):
		return ErrUnknownVersion
	case strings.HasPrefix(thrown, "Cannot decrypt legacy bare-hex payload"):
		return ErrNoLegacySecret
	}
	t.Fatalf("no sentinel for Better Auth's error %q", thrown)
	return nil
}

func checkOpen(t *testing.T, k Keyring, data string, ba baResult) {
	t.Helper()
	got, err := k.Open(data)
	if ba.Plaintext != nil {
		if err != nil {
			t.Fatalf("Open: %v; Better Auth opened it to %q", err, *ba.Plaintext)
		}
		if string(got) != *ba.Plaintext {
			t.Fatalf("Open = %q, Better Auth = %q", got, *ba.Plaintext)
		}
		return
	}
	if want := wantErr(t, ba.Throws); !errors.Is(err, want) {
		t.Fatalf("Open = %q, %v; Better Auth threw %q, want %v", got, err, ba.Throws, want)
	}
}

func TestOpenAgreesWithBetterAuth(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Opens {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			checkOpen(t, c.Key.keyring(t), c.Data, c.baResult)
		})
	}
}

func TestValuesSealedHereOpenInBetterAuth(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).GoMade {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			if c.BA.Plaintext == nil || *c.BA.Plaintext != c.Plaintext {
				t.Fatalf("Better Auth opened the Go-sealed value to %v (threw %q), want %q", c.BA.Plaintext, c.BA.Throws, c.Plaintext)
			}
			checkOpen(t, c.Key.keyring(t), c.Sealed, c.BA)
		})
	}
}

func TestParseEnvelopeMatchesBetterAuth(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Envelopes {
		name := c.S
		if len(name) > 40 {
			name = name[:40] + "…"
		}
		t.Run("parsing "+name, func(t *testing.T) {
			t.Parallel()
			version, ciphertext, ok := parseEnvelope(c.S)
			if c.Envelope == nil {
				if ok {
					t.Fatalf("parseEnvelope = %v, %q; Better Auth: not an envelope", version, ciphertext)
				}
				return
			}
			if !ok || version != c.Envelope.Version || ciphertext != c.Envelope.Ciphertext {
				t.Fatalf("parseEnvelope = %v, %q, %v; Better Auth = %v, %q", version, ciphertext, ok, c.Envelope.Version, c.Envelope.Ciphertext)
			}
		})
	}
}

func TestForPurposeDerivesBetterAuthsPurposeKeys(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Purposes {
		mode := "versioned"
		if c.Key.Secret != nil {
			mode = "single " + *c.Key.Secret
		}
		t.Run(c.Purpose+" for "+mode, func(t *testing.T) {
			t.Parallel()
			got, err := c.Key.keyring(t).ForPurpose(c.Purpose)
			if err != nil {
				t.Fatal(err)
			}
			if c.Derived.Secret != nil {
				if got.keys != nil || got.single != *c.Derived.Secret {
					t.Fatalf("ForPurpose = %+v, Better Auth = %q", got, *c.Derived.Secret)
				}
				return
			}
			want := make(map[int]string)
			for _, v := range c.Derived.Versions {
				want[v.Version] = v.Value
			}
			if !maps.Equal(got.keys, want) || got.current != c.Derived.Current || got.legacy != c.Derived.Legacy {
				t.Fatalf("ForPurpose = %+v, Better Auth = %+v", got, c.Derived)
			}
		})
	}
}

var bareHex = regexp.MustCompile(`^[0-9a-f]+$`)

func TestSeal(t *testing.T) {
	t.Parallel()
	single := SingleSecret("a-secret-of-at-least-thirty-two-characters")
	versioned, err := NewKeyring("legacy-secret", map[int]string{1: "one", 2: "two"}, 2)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		ring   Keyring
		prefix string
		text   string
	}{
		{"a single secret seals bare hex", single, "", "hello"},
		{"a single secret seals an empty plaintext", single, "", ""},
		{"a single secret seals arbitrary bytes", single, "", "\x00\xff\xfe"},
		{"versioned secrets seal an envelope of the current version", versioned, "$ba$2$", `{"kty":"OKP"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sealed, err := c.ring.Seal([]byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			body, ok := strings.CutPrefix(sealed, c.prefix)
			if !ok || !bareHex.MatchString(body) || len(body) != 2*(24+len(c.text)+16) {
				t.Fatalf("sealed %q is not %s<hex of nonce, ciphertext, tag>", sealed, c.prefix)
			}
			again, err := c.ring.Seal([]byte(c.text))
			if err != nil {
				t.Fatal(err)
			}
			if again[:len(c.prefix)+48] == sealed[:len(c.prefix)+48] {
				t.Fatal("two seals used the same nonce")
			}
			opened, err := c.ring.Open(sealed)
			if err != nil || string(opened) != c.text {
				t.Fatalf("Open(Seal(%q)) = %q, %v", c.text, opened, err)
			}
		})
	}
	t.Run("another secret fails authentication", func(t *testing.T) {
		t.Parallel()
		sealed, err := single.Seal([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := SingleSecret("another").Open(sealed); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("Open = %v, want ErrDecrypt", err)
		}
	})
	t.Run("a versioned keyring still opens bare values of its legacy secret", func(t *testing.T) {
		t.Parallel()
		sealed, err := SingleSecret("legacy-secret").Seal([]byte("old"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := versioned.Open(sealed); err != nil || string(got) != "old" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
	t.Run("an older version still opens after the current version moves on", func(t *testing.T) {
		t.Parallel()
		next, err := NewKeyring("legacy-secret", map[int]string{1: "one", 2: "two", 3: "three"}, 3)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := versioned.Seal([]byte("v2"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := next.Open(sealed); err != nil || string(got) != "v2" {
			t.Fatalf("Open = %q, %v", got, err)
		}
	})
}

func TestOpenRejectsDamagedInput(t *testing.T) {
	t.Parallel()
	ring := SingleSecret("s")
	sealed, err := ring.Seal([]byte("plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"an empty string is malformed", "", ErrMalformed},
		{"odd-length hex is malformed", sealed[:len(sealed)-1], ErrMalformed},
		{"non-hex text is malformed", "not hex at all", ErrMalformed},
		{"a nonce without a tag is malformed", strings.Repeat("ab", 24+15), ErrMalformed},
		{"a truncated tag fails authentication", sealed[:len(sealed)-2], ErrDecrypt},
		{"a flipped bit fails authentication", sealed[:60] + flipHex(sealed[60]) + sealed[61:], ErrDecrypt},
		{"an envelope is malformed for a single secret", "$ba$1$" + sealed, ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got, err := ring.Open(c.in); !errors.Is(err, c.want) || got != nil {
				t.Fatalf("Open = %q, %v; want %v", got, err, c.want)
			}
		})
	}
}

func flipHex(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}

func TestNewKeyring(t *testing.T) {
	t.Parallel()
	const secret = "the-single-secret-value"
	cases := []struct {
		name          string
		secret        string
		versioned     map[int]string
		current       int
		wantErr       error
		wantVersioned bool
		legacy        string
	}{
		{"no versioned secrets means a single secret", secret, nil, 0, nil, false, ""},
		{"no secret at all is refused", "", nil, 0, ErrInvalidKeyring, false, ""},
		{"versioned secrets keep the single secret as legacy", secret, map[int]string{1: "one"}, 1, nil, true, secret},
		{"the default secret is never a legacy secret", defaultSecret, map[int]string{1: "one"}, 1, nil, true, ""},
		{"an empty single secret leaves no legacy secret", "", map[int]string{0: "zero"}, 0, nil, true, ""},
		{"a current version without a secret is refused", secret, map[int]string{1: "one"}, 2, ErrInvalidKeyring, false, ""},
		{"a negative version is refused", secret, map[int]string{-1: "s3cr3t-minus-one", 1: "one"}, 1, ErrInvalidKeyring, false, ""},
		{"a version beyond JavaScript's safe integers is refused", secret, map[int]string{1 << 53: "s3cr3t-too-big", 1: "one"}, 1, ErrInvalidKeyring, false, ""},
		{"an empty versioned secret is refused", secret, map[int]string{1: "one", 2: ""}, 1, ErrInvalidKeyring, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			k, err := NewKeyring(c.secret, c.versioned, c.current)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("NewKeyring error = %v, want %v", err, c.wantErr)
			}
			if err != nil {
				for _, s := range c.versioned {
					if s != "" && strings.Contains(err.Error(), s) {
						t.Fatalf("error %q reveals a secret", err)
					}
				}
				return
			}
			if k.Versioned() != c.wantVersioned || k.legacy != c.legacy {
				t.Fatalf("keyring %+v: versioned %v legacy %q, want %v %q", k, k.Versioned(), k.legacy, c.wantVersioned, c.legacy)
			}
		})
	}
	t.Run("changing the caller's map later does not change the keyring", func(t *testing.T) {
		t.Parallel()
		m := map[int]string{1: "one"}
		k, err := NewKeyring("", m, 1)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := k.Seal([]byte("x"))
		if err != nil {
			t.Fatal(err)
		}
		m[1] = "changed"
		if _, err := k.Open(sealed); err != nil {
			t.Fatalf("Open after the map changed: %v", err)
		}
	})
}

func TestZeroKeyringRefusesToWork(t *testing.T) {
	t.Parallel()
	var k Keyring
	if _, err := k.Seal([]byte("x")); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("Seal = %v", err)
	}
	if _, err := k.Open("00"); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("Open = %v", err)
	}
	if _, err := k.ForPurpose("p"); !errors.Is(err, ErrInvalidKeyring) {
		t.Fatalf("ForPurpose = %v", err)
	}
}

func TestErrorsNeverCarrySecretsOrData(t *testing.T) {
	t.Parallel()
	const secret = "super-secret-value-1234"
	sealed, err := SingleSecret(secret).Seal([]byte("plaintext-value"))
	if err != nil {
		t.Fatal(err)
	}
	ring, err := NewKeyring(secret, map[int]string{4: secret + "-v4"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{sealed[:len(sealed)-2], "$ba$9$" + sealed, "zz" + sealed, sealed + "0"} {
		for _, k := range []Keyring{SingleSecret(secret + "x"), ring} {
			_, err := k.Open(in)
			if err == nil {
				t.Fatalf("Open(%q) succeeded", in)
			}
			if msg := err.Error(); strings.Contains(msg, secret) || strings.Contains(msg, "plaintext-value") || strings.Contains(msg, in[:8]) {
				t.Fatalf("error %q reveals secret material or input", msg)
			}
		}
	}
}
