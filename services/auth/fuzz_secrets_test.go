package main

import (
	"maps"
	"math"
	"strconv"
	"strings"
	"testing"
)

// betterAuthSecrets is Better Auth 1.7's reading of BETTER_AUTH_SECRETS
// (parseSecretsEnv, then validateSecretsArray, in
// better-auth/dist/context/secret-utils.mjs), written out as the reference
// the fuzz target compares with: entries split on ',' and trimmed; the
// version is parseInt of what precedes the first ':'; the secret is what
// follows it, trimmed, and must not be empty; a version may appear once.
// Versions are JavaScript numbers, hence float64.
func betterAuthSecrets(raw string) (map[float64]string, float64, bool) {
	out := map[float64]string{}
	var current float64
	for i, entry := range strings.Split(raw, ",") {
		entry = jsTrim(entry)
		colon := strings.IndexByte(entry, ':')
		if colon < 0 {
			return nil, 0, false
		}
		version, ok := jsParseInt(entry[:colon])
		if !ok || version < 0 {
			return nil, 0, false
		}
		if version == 0 {
			version = 0 // -0 and 0 are one Map key
		}
		value := jsTrim(entry[colon+1:])
		if value == "" {
			return nil, 0, false
		}
		if _, dup := out[version]; dup {
			return nil, 0, false
		}
		out[version] = value
		if i == 0 {
			current = version
		}
	}
	return out, current, true
}

// jsParseInt is parseInt(s, 10) for a result that must be an integer:
// leading white space skipped, an optional sign, the longest run of
// decimal digits (nothing after it matters); no digits or an infinite value
// is not an integer.
func jsParseInt(s string) (float64, bool) {
	s = strings.TrimLeftFunc(s, ecmaSpace)
	negative := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		negative = s[0] == '-'
		s = s[1:]
	}
	n := 0
	for n < len(s) && '0' <= s[n] && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	v, _ := strconv.ParseFloat(s[:n], 64)
	if math.IsInf(v, 0) {
		return 0, false
	}
	if negative {
		v = -v
	}
	return v, true
}

// jsTrim is String.prototype.trim.
func jsTrim(s string) string { return strings.TrimFunc(s, ecmaSpace) }

// ecmaSpace is ECMAScript's WhiteSpace and LineTerminator.
func ecmaSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00A0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}

// FuzzVersionedSecrets: whatever BETTER_AUTH_SECRETS list Latch accepts,
// Better Auth reads as the same secrets under the same versions, with the
// same one current; otherwise the two servers would sign cookies and seal
// keys with different secrets while both believe they share them. (Latch
// may refuse what Better Auth would take, e.g. "1x:secret": a clear error
// at start-up, never a silent divergence.)
func FuzzVersionedSecrets(f *testing.F) {
	long := strings.Repeat("s", 32)
	for _, s := range []string{
		"1:" + long, "2:" + long + "x, 1:" + long, "1:" + long + ",1:" + long, "two:" + long, "1:", ":x", "",
		"1:a:b", " 3 : spaced secret ", "-0:zero", "+4:plus", "1x:lenient", "0x10:hex", "1e3:exp", "99999999999999999999:big",
		"1:\u00a0nbsp-padded\u00a0", "1:secret\u0085", "\ufeff1:bom", "1:a,,2:b", "1:a,2:b,",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, current, err := parseVersionedSecrets(raw)
		if err != nil {
			return
		}
		want, wantCurrent, ok := betterAuthSecrets(raw)
		if !ok {
			t.Fatalf("Latch accepts BETTER_AUTH_SECRETS=%q as %v (current %d); Better Auth refuses it", raw, got, current)
		}
		if float64(current) != wantCurrent || len(got) != len(want) {
			t.Fatalf("BETTER_AUTH_SECRETS=%q: Latch reads %v (current %d), Better Auth %v (current %v)", raw, got, current, want, wantCurrent)
		}
		for v, secret := range got {
			if want[float64(v)] != secret {
				t.Fatalf("BETTER_AUTH_SECRETS=%q: Latch's version %d is %q, Better Auth's %q", raw, v, secret, want[float64(v)])
			}
		}
	})
}

// Found by FuzzVersionedSecrets: Latch kept the white space after the ':'
// ("2: s3cret" made the secret " s3cret") and trimmed U+0085, which
// JavaScript's trim keeps, so Latch and Better Auth sharing one
// BETTER_AUTH_SECRETS signed and sealed with different secrets, each
// refusing the other's cookies and keys without a word at start-up.
func TestVersionedSecretsAreTrimmedAsBetterAuthTrimsThem(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw     string
		want    map[int]string
		current int
	}{
		{"2: new-secret , 1:\told-secret\u00a0", map[int]string{2: "new-secret", 1: "old-secret"}, 2},
		{"\ufeff3:\u3000secret\u2028", map[int]string{3: "secret"}, 3},
		{"1:secret\u0085", map[int]string{1: "secret\u0085"}, 1},
	} {
		got, current, err := parseVersionedSecrets(tc.raw)
		if err != nil || current != tc.current || !maps.Equal(got, tc.want) {
			t.Errorf("parseVersionedSecrets(%q) = %v, %d, %v; want %v, %d", tc.raw, got, current, err, tc.want, tc.current)
		}
	}
	for _, raw := range []string{"1: ", "1:\u00a0", "\u00851:secret"} {
		if got, _, err := parseVersionedSecrets(raw); err == nil {
			t.Errorf("parseVersionedSecrets(%q) = %v, want an error as Better Auth throws", raw, got)
		}
	}
}
