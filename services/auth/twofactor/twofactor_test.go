package twofactor

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// RFC 4226 Appendix D.
func TestHOTPMatchesRFC4226(t *testing.T) {
	key := []byte("12345678901234567890")
	want := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for counter, code := range want {
		if got := HOTP(key, uint64(counter), 6); got != code {
			t.Errorf("HOTP(counter %d) = %s, want %s", counter, got, code)
		}
	}
}

// RFC 6238 Appendix B, SHA-1 rows (8 digits).
func TestTOTPMatchesRFC6238(t *testing.T) {
	key := []byte("12345678901234567890")
	p := TOTP{Digits: 8, Period: 30 * time.Second, Skew: 1}
	for _, tc := range []struct {
		unix int64
		code string
	}{
		{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
	} {
		now := time.Unix(tc.unix, 0)
		if got := p.Code(key, now); got != tc.code {
			t.Errorf("TOTP at %d = %s, want %s", tc.unix, got, tc.code)
		}
		step, ok := p.Verify(key, tc.code, now)
		if !ok || step != tc.unix/30 {
			t.Errorf("Verify at %d = %d, %v; want step %d", tc.unix, step, ok, tc.unix/30)
		}
	}
}

func TestVerifyAcceptsOneStepOfSkewAndNoMore(t *testing.T) {
	key := []byte("a secret of thirty-two characters")
	p := DefaultTOTP()
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{-60 * time.Second, false}, {-30 * time.Second, true}, {0, true}, {30 * time.Second, true}, {60 * time.Second, false},
	} {
		code := p.Code(key, now.Add(tc.offset))
		step, ok := p.Verify(key, code, now)
		if ok != tc.ok {
			t.Errorf("code from %v: ok = %v, want %v", tc.offset, ok, tc.ok)
		}
		if ok && step != p.Step(now.Add(tc.offset)) {
			t.Errorf("code from %v matched step %d, want %d", tc.offset, step, p.Step(now.Add(tc.offset)))
		}
	}
	if _, ok := p.Verify(key, "", now); ok {
		t.Error("empty code accepted")
	}
	if _, ok := p.Verify(key, p.Code(key, now)+"0", now); ok {
		t.Error("code with an extra digit accepted")
	}
}

// Better Auth #9944: the HMAC key is the secret string's bytes, not its
// base32 decoding, and the URI carries the base32 of those bytes.
func TestSecretKeyIsTheStringsBytes(t *testing.T) {
	s := Secret("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
	key, err := s.Key()
	if err != nil || string(key) != string(s) {
		t.Fatalf("Key() = %q, %v; want the string's bytes", key, err)
	}
	b32, err := Secret("base32:nbswy3dp").Key()
	if err != nil || string(b32) != "hello" {
		t.Fatalf("base32 secret Key() = %q, %v; want hello", b32, err)
	}
	if got := NewSecret(); len(got) != 32 || !regexp.MustCompile(`^[A-Za-z0-9_-]{32}$`).MatchString(string(got)) {
		t.Errorf("NewSecret() = %q", got)
	}
}

// The URI as @better-auth/utils writes it (label by encodeURIComponent,
// query by URLSearchParams).
func TestURIMatchesBetterAuth(t *testing.T) {
	got := URI([]byte("hello"), "My App*", "a+b@example.com", DefaultTOTP())
	want := "otpauth://totp/My%20App*:a%2Bb%40example.com?secret=NBSWY3DP&issuer=My+App*&digits=6&period=30"
	if got != want {
		t.Errorf("URI =\n %s\nwant\n %s", got, want)
	}
}

func TestBackupCodes(t *testing.T) {
	codes := NewBackupCodes()
	if len(codes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	shape := regexp.MustCompile(`^[A-Za-z0-9]{5}-[A-Za-z0-9]{5}$`)
	for _, c := range codes {
		if !shape.MatchString(c) {
			t.Errorf("code %q has not the xxxxx-xxxxx shape", c)
		}
	}
	left, ok := UseBackupCode(codes, codes[3])
	if !ok || len(left) != 9 || strings.Contains(strings.Join(left, ","), codes[3]) {
		t.Fatalf("UseBackupCode = %v, %v", left, ok)
	}
	if _, ok := UseBackupCode(left, codes[3]); ok {
		t.Error("a spent code was accepted twice")
	}
	if _, ok := UseBackupCode(left, strings.ToUpper(left[0])); ok && left[0] != strings.ToUpper(left[0]) {
		t.Error("comparison is not exact")
	}
}

func TestLimits(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	until := now.Add(time.Minute)
	past := now.Add(-time.Second)
	if !Locked(&until, now) || Locked(&past, now) || Locked(nil, now) {
		t.Error("Locked is wrong")
	}
	if AttemptsSpent(4) || !AttemptsSpent(5) {
		t.Error("a challenge allows five wrong codes, no more")
	}
	if c := NewChallengeID(); !regexp.MustCompile(`^2fa-[A-Za-z0-9_-]{20}$`).MatchString(c) {
		t.Errorf("challenge id %q", c)
	}
	if c := NewTrustID(); !regexp.MustCompile(`^trust-device-[A-Za-z0-9_-]{32}$`).MatchString(c) {
		t.Errorf("trust id %q", c)
	}
	if c := NewOTP(); !regexp.MustCompile(`^[0-9]{6}$`).MatchString(c) {
		t.Errorf("otp %q", c)
	}
}
