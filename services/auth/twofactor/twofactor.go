// Package twofactor holds the rules of Better Auth's two-factor plugin
// (1.7.25) that involve no HTTP and no SQL: HOTP and TOTP codes (RFC 4226,
// RFC 6238), the otpauth:// URI, the secret, backup and e-mail codes, and the
// attempt limits and account lockout. Formats are Better Auth's, so a user
// enrolled under either server signs in under the other.
package twofactor

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Defaults of Better Auth's plugin.
const (
	Digits = 6
	Period = 30 * time.Second
	// Skew is how many time steps either side of now a code may come from.
	Skew = 1
	// SecretLength is the length of the TOTP secret string.
	SecretLength = 32
	// OTPTTL is how long a mailed code stays good (otpOptions.period, 3 min).
	OTPTTL = 3 * time.Minute
	// ChallengeTTL is the two_factor cookie's and challenge's lifetime.
	ChallengeTTL = 10 * time.Minute
	// TrustDeviceTTL is the trust_device cookie's lifetime.
	TrustDeviceTTL = 30 * 24 * time.Hour
	// AttemptsPerChallenge is how many wrong codes one sign-in attempt (or
	// one mailed code) may see; the next try is refused even with the right code.
	AttemptsPerChallenge = 5
	// MaxFailures in a row across attempts lock the account for LockDuration.
	MaxFailures  = 10
	LockDuration = 15 * time.Minute
	// BackupCodeCount codes of BackupCodeLength characters, shown as xxxxx-xxxxx.
	BackupCodeCount  = 10
	BackupCodeLength = 10
)

// base32NoPad is RFC 4648 base32 without padding, as the otpauth URI carries it.
var base32NoPad = base32.StdEncoding.WithPadding(base32.NoPadding)

// HOTP is RFC 4226's code for key and counter with the given number of
// digits (1 to 8, as Better Auth allows).
func HOTP(key []byte, counter uint64, digits int) string {
	if digits < 1 || digits > 8 {
		panic(fmt.Sprintf("twofactor: %d digits, want 1 to 8", digits))
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	offset := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[offset:offset+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	s := strconv.FormatUint(uint64(bin%mod), 10)
	return strings.Repeat("0", digits-len(s)) + s
}

// TOTP is RFC 6238's time-based code with SHA-1.
type TOTP struct {
	Digits int
	Period time.Duration
	Skew   int
}

// DefaultTOTP is Better Auth's: 6 digits, 30 s, one step either side.
func DefaultTOTP() TOTP { return TOTP{Digits: Digits, Period: Period, Skew: Skew} }

// Step is the RFC 6238 time step of t (floor of Unix milliseconds / period).
func (p TOTP) Step(t time.Time) int64 {
	return t.UnixMilli() / p.Period.Milliseconds()
}

// Code is the code for the step of t.
func (p TOTP) Code(key []byte, t time.Time) string {
	return HOTP(key, uint64(p.Step(t)), p.Digits)
}

// Verify reports whether code is the code of a step within Skew of now, and
// which step it matched (the latest, when several do). Every candidate is
// computed and compared in constant time, as Better Auth does.
func (p TOTP) Verify(key []byte, code string, now time.Time) (step int64, ok bool) {
	current := p.Step(now)
	for i := -p.Skew; i <= p.Skew; i++ {
		s := current + int64(i)
		if s < 0 {
			continue
		}
		want := HOTP(key, uint64(s), p.Digits)
		if subtle.ConstantTimeCompare([]byte(code), []byte(want)) == 1 {
			step, ok = s, true
		}
	}
	return step, ok
}

// Secret is a TOTP secret as Better Auth stores it (sealed) in two_factor.secret.
type Secret string

// NewSecret draws a 32-character secret like Better Auth's generateRandomString.
func NewSecret() Secret { return Secret(randomString(SecretLength, alphaNumDashUnderscore)) }

// base32Prefix marks a secret stored as base32 (Better Auth's decryptTOTPSecret).
const base32Prefix = "base32:"

// Key is the HMAC key: the secret string's UTF-8 bytes (Better Auth #9944:
// not its base32 decoding), or the decoded bytes of a "base32:" secret.
func (s Secret) Key() ([]byte, error) {
	if rest, ok := strings.CutPrefix(string(s), base32Prefix); ok {
		b, err := base32NoPad.DecodeString(strings.TrimRight(strings.ToUpper(rest), "="))
		if err != nil {
			return nil, fmt.Errorf("twofactor: base32 secret: %w", err)
		}
		return b, nil
	}
	return []byte(s), nil
}

// URI is the otpauth:// URI an authenticator app scans, byte for byte as
// Better Auth's createOTP(...).url(issuer, account) writes it.
func URI(key []byte, issuer, account string, p TOTP) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	b.WriteString(encodeURIComponent(issuer))
	b.WriteByte(':')
	b.WriteString(encodeURIComponent(account))
	b.WriteString("?secret=")
	b.WriteString(formEncode(base32NoPad.EncodeToString(key)))
	b.WriteString("&issuer=")
	b.WriteString(formEncode(issuer))
	b.WriteString("&digits=")
	b.WriteString(strconv.Itoa(p.Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(int(p.Period / time.Second)))
	return b.String()
}

// NewBackupCodes draws Better Auth's ten codes of ten characters from
// [a-zA-Z0-9], written xxxxx-xxxxx.
func NewBackupCodes() []string {
	codes := make([]string, BackupCodeCount)
	for i := range codes {
		c := randomString(BackupCodeLength, alphaNum)
		codes[i] = c[:5] + "-" + c[5:]
	}
	return codes
}

// UseBackupCode reports whether code is one of codes and returns the codes
// left once it is spent. Like Better Auth, the comparison is exact.
func UseBackupCode(codes []string, code string) (left []string, ok bool) {
	left = make([]string, 0, len(codes))
	for _, c := range codes {
		if subtle.ConstantTimeCompare([]byte(c), []byte(code)) == 1 {
			ok = true
			continue
		}
		left = append(left, c)
	}
	return left, ok
}

// NewOTP draws a mailed code: Digits decimal digits.
func NewOTP() string { return randomString(Digits, digits) }

// SameOTP compares a stored mailed code with the one typed, in constant time.
func SameOTP(stored, typed string) bool {
	return subtle.ConstantTimeCompare([]byte(stored), []byte(typed)) == 1
}

// NewChallengeID names a sign-in's pending second factor: "2fa-" and 20
// random characters, the two_factor cookie's value.
func NewChallengeID() string { return "2fa-" + randomString(20, alphaNumDashUnderscore) }

// NewTrustID names a trusted device: "trust-device-" and 32 random characters.
func NewTrustID() string { return "trust-device-" + randomString(32, alphaNumDashUnderscore) }

// Lockout is the per-account limit on failed verifications in a row.
type Lockout struct {
	MaxFailures int
	Duration    time.Duration
}

// DefaultLockout is Better Auth's: 10 failures, 15 minutes.
func DefaultLockout() Lockout { return Lockout{MaxFailures: MaxFailures, Duration: LockDuration} }

// Locked reports whether an account locked until lockedUntil is still locked at now.
func Locked(lockedUntil *time.Time, now time.Time) bool {
	return lockedUntil != nil && lockedUntil.After(now)
}

// AttemptsSpent reports whether a challenge that has seen failed wrong
// codes may not be tried again.
func AttemptsSpent(failed int) bool { return failed >= AttemptsPerChallenge }

const (
	alphaNum               = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	alphaNumDashUnderscore = alphaNum + "-_"
	digits                 = "0123456789"
)

// randomString draws n characters uniformly from alphabet, rejecting the
// bytes that would bias the draw, as Better Auth's generator does.
func randomString(n int, alphabet string) string {
	maxValid := 256 / len(alphabet) * len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n*2)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails on supported platforms
		for _, b := range buf {
			if int(b) < maxValid {
				out = append(out, alphabet[int(b)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// encodeURIComponent is JavaScript's: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) is percent-encoded.
func encodeURIComponent(s string) string {
	return percentEncode(s, "-_.!~*'()", false)
}

// formEncode is URLSearchParams' serialization: A-Z a-z 0-9 * - . _ kept,
// space as '+', the rest percent-encoded.
func formEncode(s string) string {
	return percentEncode(s, "*-._", true)
}

func percentEncode(s, keep string, spaceAsPlus bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', strings.IndexByte(keep, c) >= 0:
			b.WriteByte(c)
		case c == ' ' && spaceAsPlus:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
