package password

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// golden is testdata/golden.json, written by testdata/gen.mjs with Better
// Auth's own hashPassword and verifyPassword.
type golden struct {
	BAHashes []struct {
		Password      string `json:"password"`
		NFKC          string `json:"nfkc"`
		Hash          string `json:"hash"`
		Verifies      any    `json:"verifies"`
		Wrong         string `json:"wrong"`
		WrongVerifies any    `json:"wrong_verifies"`
	} `json:"ba_hashes"`
	CrossForm []struct {
		Hash     string `json:"hash"`
		Password string `json:"password"`
		Verifies any    `json:"verifies"`
	} `json:"cross_form"`
	OddHashes []struct {
		Name     string `json:"name"`
		Hash     string `json:"hash"`
		Password string `json:"password"`
		Verifies any    `json:"verifies"`
	} `json:"odd_hashes"`
	Lengths []struct {
		S      string `json:"s"`
		Length int    `json:"length"`
	} `json:"lengths"`
	GoMade []struct {
		Password        string `json:"password"`
		Hash            string `json:"hash"`
		BAVerifies      any    `json:"ba_verifies"`
		BAVerifiesWrong any    `json:"ba_verifies_wrong"`
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
	if len(g.BAHashes) == 0 || len(g.OddHashes) == 0 || len(g.Lengths) == 0 || len(g.GoMade) == 0 {
		t.Fatal("golden.json is missing vectors; regenerate it with testdata/gen.mjs")
	}
	return g
}

// baVerdict turns a recorded Better Auth outcome (true, false, or "throws: …")
// into what Verify must return.
func baVerdict(t *testing.T, v any) (ok bool, malformed bool) {
	t.Helper()
	switch v := v.(type) {
	case bool:
		return v, false
	case string:
		if strings.HasPrefix(v, "throws:") {
			return false, true
		}
	}
	t.Fatalf("unexpected recorded verdict %#v", v)
	return false, false
}

func checkVerify(t *testing.T, hash, password string, recorded any) {
	t.Helper()
	want, wantMalformed := baVerdict(t, recorded)
	got, err := Verify(hash, password)
	if wantMalformed {
		if !errors.Is(err, ErrMalformedHash) {
			t.Fatalf("Verify = %v, %v; Better Auth throws, want ErrMalformedHash", got, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Verify: unexpected error %v", err)
	}
	if got != want {
		t.Fatalf("Verify = %v, Better Auth says %v", got, want)
	}
}

// Verify recomputes scrypt from the salt Better Auth chose and compares the
// result with the key Better Auth stored, so a hash that verifies proves the
// derivation is the same byte for byte.
func TestVerifyAgreesWithBetterAuthOnItsOwnHashes(t *testing.T) {
	t.Parallel()
	for _, h := range loadGolden(t).BAHashes {
		t.Run("Better Auth's hash of "+h.Password+" verifies", func(t *testing.T) {
			t.Parallel()
			checkVerify(t, h.Hash, h.Password, h.Verifies)
		})
		if h.Wrong == "" {
			continue
		}
		t.Run("Better Auth's hash of "+h.Password+" rejects "+h.Wrong, func(t *testing.T) {
			t.Parallel()
			checkVerify(t, h.Hash, h.Wrong, h.WrongVerifies)
		})
	}
}

func TestScryptReproducesBetterAuthsKeyFromItsSalt(t *testing.T) {
	t.Parallel()
	h := loadGolden(t).BAHashes[0]
	salt, key, _ := strings.Cut(h.Hash, ":")
	derived, err := derive(h.Password, salt)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(derived); got != key {
		t.Fatalf("derived key %s, Better Auth stored %s", got, key)
	}
}

func TestNFKCMatchesJavaScriptNormalize(t *testing.T) {
	t.Parallel()
	for _, h := range loadGolden(t).BAHashes {
		t.Run("normalizing "+h.Password, func(t *testing.T) {
			t.Parallel()
			if got := norm.NFKC.String(h.Password); got != h.NFKC {
				t.Fatalf("NFKC = %q, JavaScript normalize(\"NFKC\") = %q", got, h.NFKC)
			}
		})
	}
}

func TestDifferentSpellingsOfOneNFKCTextVerify(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).CrossForm {
		t.Run(c.Password+" verifies against its other spelling", func(t *testing.T) {
			t.Parallel()
			checkVerify(t, c.Hash, c.Password, c.Verifies)
		})
	}
}

func TestVerifyTreatsOddHashesAsBetterAuthDoes(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).OddHashes {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			checkVerify(t, c.Hash, c.Password, c.Verifies)
		})
	}
}

func TestHashesMadeHereVerifyInBetterAuth(t *testing.T) {
	t.Parallel()
	for _, g := range loadGolden(t).GoMade {
		t.Run(g.Password, func(t *testing.T) {
			t.Parallel()
			if ok, _ := baVerdict(t, g.BAVerifies); !ok {
				t.Fatalf("Better Auth rejected the Go-made hash %s", g.Hash)
			}
			if ok, _ := baVerdict(t, g.BAVerifiesWrong); ok {
				t.Fatal("Better Auth accepted a wrong password for the Go-made hash")
			}
			checkVerify(t, g.Hash, g.Password, g.BAVerifies)
		})
	}
}

var hashShape = regexp.MustCompile(`^[0-9a-f]{32}:[0-9a-f]{128}$`)

func TestHash(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		password string
	}{
		{"an ASCII password round-trips", "hunter2hunter2"},
		{"an empty password round-trips", ""},
		{"a password needing NFKC round-trips", "ﬁ Ｐａｓｓ"},
		{"an emoji password round-trips", "🔐😀🔐😀"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, err := Hash(c.password)
			if err != nil {
				t.Fatal(err)
			}
			if !hashShape.MatchString(h) {
				t.Fatalf("hash %q is not <32 hex>:<128 hex>", h)
			}
			if ok, err := Verify(h, c.password); err != nil || !ok {
				t.Fatalf("Verify(own hash) = %v, %v", ok, err)
			}
		})
	}
	t.Run("a hash made here rejects a wrong password", func(t *testing.T) {
		t.Parallel()
		h, err := Hash("hunter2hunter2")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := Verify(h, "hunter2hunter3"); err != nil || ok {
			t.Fatalf("Verify(wrong password) = %v, %v", ok, err)
		}
	})
	t.Run("two hashes of one password use different salts", func(t *testing.T) {
		t.Parallel()
		a, errA := Hash("same")
		b, errB := Hash("same")
		if errA != nil || errB != nil {
			t.Fatal(errA, errB)
		}
		if a[:32] == b[:32] || a == b {
			t.Fatalf("salts repeat: %s, %s", a, b)
		}
	})
}

func TestLengthCountsUTF16CodeUnitsLikeJavaScript(t *testing.T) {
	t.Parallel()
	for _, c := range loadGolden(t).Lengths {
		t.Run("length of "+c.S, func(t *testing.T) {
			t.Parallel()
			if got := Length(c.S); got != c.Length {
				t.Fatalf("Length = %d, JavaScript .length = %d", got, c.Length)
			}
		})
	}
	t.Run("an invalid UTF-8 byte counts as one unit, like the U+FFFD it becomes", func(t *testing.T) {
		t.Parallel()
		if got := Length("a\xffb"); got != 3 {
			t.Fatalf("Length = %d, want 3", got)
		}
	})
}

// BenchmarkHash measures one password hash, the cost every sign-up, sign-in
// and password change pays.
func BenchmarkHash(b *testing.B) {
	for b.Loop() {
		if _, err := Hash("correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHashParallel is the sign-in ceiling as the machine sees it: hashes
// on every core at once share its memory bandwidth (32 MiB each), so ns/op
// here × cores can exceed BenchmarkHash's ns/op.
func BenchmarkHashParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := Hash("correct horse battery staple"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
