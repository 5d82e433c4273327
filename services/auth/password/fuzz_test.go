package password

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// FuzzVerify: Verify never panics; a hash Better Auth would throw on (no
// ':', empty salt or key) is ErrMalformedHash; any other hash verifies only
// with a key of 128 lowercase hex digits, and, since nobody can invert
// scrypt, only as one of the hashes Better Auth made in golden.json, with a
// password whose NFKC form is that hash's password's. Each call that gets
// past the format check costs one scrypt (about 0.1 s), so this target is
// slow by design.
func FuzzVerify(f *testing.F) {
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		f.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(raw, &g); err != nil {
		f.Fatal(err)
	}
	type made struct{ salt, key, password string }
	var known []made
	for _, h := range g.BAHashes {
		salt, key, _ := strings.Cut(h.Hash, ":")
		known = append(known, made{salt, key, norm.NFKC.String(h.Password)})
	}
	first := g.BAHashes[0]
	salt, key, _ := strings.Cut(first.Hash, ":")
	// Two seeds reach scrypt (slow under -race); the rest is the format.
	f.Add(first.Hash+":ignored", first.Password)
	f.Add(salt+":"+strings.ToUpper(key), first.Password)
	for _, h := range []string{"", ":", salt, ":" + key, salt + ":", salt + "::" + key} {
		f.Add(h, first.Password)
	}
	f.Fuzz(func(t *testing.T, hash, password string) {
		ok, err := Verify(hash, password)
		s, rest, found := strings.Cut(hash, ":")
		k, _, _ := strings.Cut(rest, ":")
		if !found || s == "" || k == "" {
			if ok || !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q) of a malformed hash = %v, %v; want ErrMalformedHash", hash, ok, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Verify(%q, %q): %v", hash, password, err)
		}
		if !ok {
			return
		}
		if len(k) != hashKeyHexN || strings.Trim(k, "0123456789abcdef") != "" {
			t.Fatalf("Verify(%q, %q) accepted a key that is not 128 lowercase hex digits", hash, password)
		}
		for _, m := range known {
			if m.salt == s && m.key == k && m.password == norm.NFKC.String(password) {
				return
			}
		}
		t.Fatalf("Verify(%q, %q) accepted a hash nobody made for that password", hash, password)
	})
}
