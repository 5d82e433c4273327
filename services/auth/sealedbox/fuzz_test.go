package sealedbox

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// The fuzz keyring: versions 0 and 7 (7 current) and a legacy secret for
// bare values, as a deployment that turned BETTER_AUTH_SECRETS on has.
const (
	fuzzLegacy = "legacy-secret-for-the-fuzz-test-0001"
	fuzzZero   = "version-zero-secret-for-fuzzing-0001"
	fuzzSeven  = "version-seven-secret-for-fuzzing-001"
)

func fuzzKeyring(tb testing.TB, current int) Keyring {
	tb.Helper()
	k, err := NewKeyring(fuzzLegacy, map[int]string{0: fuzzZero, 7: fuzzSeven}, current)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// sealedForFuzz were sealed once under the fuzz keyring (current 7, current
// 0, the legacy secret alone, and current 7 again), so they are fixed seeds.
// Only these open: nothing the fuzzer derives from them may open to
// anything but their own plaintext.
var sealedForFuzz = []struct{ sealed, plaintext string }{
	{"$ba$7$e3babcf9fd8e7306592127f4819bfc9ca49fd5efb2676f02dfe2a07a77cf848f3c2e087fac007649820b6112f959224dfe25899668c28a4f90cf0c7955656f27eb9dc759ff0ae30c2c30022395ae87710ce72a23326038e1698fef121f895671",
		`{"crv":"Ed25519","d":"private","x":"public","kty":"OKP"}`},
	{"$ba$0$08311ad77b0b59e2af4eb5013907f668a03598a633bf46261f9281f8d1af818469c39998f0c34d35dbb24e5eb993472332f5c412a9aa917697fa08daf699",
		"sealed under version 0"},
	{"51c6b547669212bac54799b05e22150a3485f7e02330228283a971ad24759a16ca8ec395401edd5eae13af6a039cf23357c9db0a3cdf3c3c22160c8c08c6aacb",
		"sealed before versioning"},
	{"$ba$7$e531a6bc2bc0a516cdf279650cf3c827cf500f66fdaeccc8cd2b102ca9930d24fced1fa5b0b661bb", ""},
}

// FuzzOpen: a tampered envelope never opens. Whatever Open accepts must
// carry, after its "$ba$<version>$" if any, the very bytes of one of the
// sealed values (hex of either case, and the version spelled as Better
// Auth's parseInt reads it, are alike) and opens to that value's plaintext.
func FuzzOpen(f *testing.F) {
	ring := fuzzKeyring(f, 7)
	known := map[string]string{}
	for _, s := range sealedForFuzz {
		_, data, _ := strings.Cut(strings.TrimPrefix(s.sealed, envelopePrefix), "$")
		if !strings.HasPrefix(s.sealed, envelopePrefix) {
			data = s.sealed
		}
		known[data] = s.plaintext
		f.Add(s.sealed)
		f.Add(strings.ToUpper(s.sealed))
		f.Add(strings.Replace(s.sealed, "$ba$7$", "$ba$ +07x$", 1))
	}
	for _, s := range []string{"", "$ba$", "$ba$0$", "$ba$ -0$00", "$ba$9007199254740993$00", hex.EncodeToString(make([]byte, 40))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ring.Open(in)
		if err != nil {
			if got != nil {
				t.Fatalf("Open(%q) failed (%v) but returned %q", in, err, got)
			}
			return
		}
		data := in
		if rest, ok := strings.CutPrefix(in, envelopePrefix); ok {
			_, data, _ = strings.Cut(rest, "$")
		}
		want, ok := known[strings.ToLower(data)]
		if !ok {
			t.Fatalf("Open(%q) = %q, but no such value was ever sealed", in, got)
		}
		if string(got) != want {
			t.Fatalf("Open(%q) = %q, want %q", in, got, want)
		}
	})
}

// FuzzSealOpen: Open(Seal(x)) == x for every keyring shape, and the sealed
// value with any one bit of its ciphertext flipped never opens.
func FuzzSealOpen(f *testing.F) {
	versioned := fuzzKeyring(f, 7)
	purpose, err := versioned.ForPurpose("oauth-state-cookie")
	if err != nil {
		f.Fatal(err)
	}
	rings := []struct {
		name string
		k    Keyring
	}{
		{"single", SingleSecret(fuzzLegacy)},
		{"versioned", versioned},
		{"versioned, current 0", fuzzKeyring(f, 0)},
		{"purpose", purpose},
	}
	f.Add([]byte(`{"crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","kty":"OKP"}`), uint16(0), byte(1))
	f.Add([]byte(""), uint16(23), byte(0x80))
	f.Add([]byte("\xef\xbb\xbfa BOM and \xff invalid UTF-8"), uint16(40), byte(4))
	f.Fuzz(func(t *testing.T, plaintext []byte, at uint16, bit byte) {
		if bit == 0 {
			bit = 1
		}
		for _, r := range rings {
			sealed, err := r.k.Seal(plaintext)
			if err != nil {
				t.Fatalf("%s: Seal: %v", r.name, err)
			}
			got, err := r.k.Open(sealed)
			if err != nil || !bytes.Equal(got, plaintext) {
				t.Fatalf("%s: Open(Seal(%q)) = %q, %v", r.name, plaintext, got, err)
			}
			prefix := ""
			if i := strings.LastIndexByte(sealed, '$'); i >= 0 {
				prefix = sealed[:i+1]
			}
			raw, err := hex.DecodeString(sealed[len(prefix):])
			if err != nil {
				t.Fatalf("%s: Seal wrote %q, not hex", r.name, sealed)
			}
			raw[int(at)%len(raw)] ^= bit
			tampered := prefix + hex.EncodeToString(raw)
			if got, err := r.k.Open(tampered); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("%s: %q tampered (byte %d ^ %#x) opened: %q, %v", r.name, tampered, int(at)%len(raw), bit, got, err)
			}
		}
		// Sealed under version 7, it never opens with a keyring that lacks
		// it, nor with the legacy secret alone.
		sealed, _ := versioned.Seal(plaintext)
		other, err := NewKeyring(fuzzLegacy, map[int]string{0: fuzzZero}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := other.Open(sealed); !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("a keyring without version 7 opened %q: %v", sealed, err)
		}
		if _, err := SingleSecret(fuzzLegacy).Open(strings.TrimPrefix(sealed, "$ba$7$")); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("the legacy secret opened version 7's value: %v", err)
		}
	})
}
