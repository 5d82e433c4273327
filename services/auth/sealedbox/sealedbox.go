// Package sealedbox is Better Auth's symmetricEncrypt and symmetricDecrypt,
// so values Better Auth encrypted at rest (the jwks private keys, OAuth
// tokens, the OAuth state cookie) open in Latch and the other way round.
//
// A sealed value is the lowercase hex of nonce‖ciphertext‖tag from
// XChaCha20-Poly1305 with a random 24-byte nonce, no associated data, and
// the key SHA-256(UTF-8 secret) (better-auth/dist/crypto/index.mjs, with
// @noble/ciphers' managedNonce). When versioned secrets are configured
// (Better Auth's `secrets` option or BETTER_AUTH_SECRETS) the hex is wrapped
// in an envelope "$ba$<version>$<hex>" naming the secret that sealed it.
package sealedbox

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/chacha20poly1305"
)

var (
	// ErrMalformed reports a sealed value that is not hex, or too short to
	// hold a nonce and a tag.
	ErrMalformed = errors.New("sealedbox: malformed sealed value")
	// ErrDecrypt reports a sealed value that fails authentication: sealed
	// under another secret, or altered.
	ErrDecrypt = errors.New("sealedbox: decryption failed")
	// ErrUnknownVersion reports an envelope naming a secret version the
	// keyring does not hold (it may have been retired).
	ErrUnknownVersion = errors.New("sealedbox: secret version not in keyring")
	// ErrNoLegacySecret reports a bare (unversioned) value given to a
	// versioned keyring that has no legacy secret to open it with.
	ErrNoLegacySecret = errors.New("sealedbox: bare value and no legacy secret")
	// ErrInvalidKeyring reports a keyring Better Auth would refuse to start
	// with, or the zero Keyring.
	ErrInvalidKeyring = errors.New("sealedbox: invalid keyring")
)

// defaultSecret is Better Auth's built-in fallback secret. Better Auth never
// uses it as the legacy secret of a versioned configuration.
const defaultSecret = "better-auth-secret-12345678901234567890"

// maxVersion is JavaScript's Number.MAX_SAFE_INTEGER: Better Auth parses
// versions into JavaScript numbers, which are exact only up to here.
const maxVersion = 1<<53 - 1

const envelopePrefix = "$ba$"

// Keyring holds the secrets values are sealed and opened with. It mirrors
// Better Auth's ctx.secretConfig: either a single secret, or versioned
// secrets with a current version and an optional legacy secret for bare
// values sealed before versioning was turned on.
type Keyring struct {
	single  string         // single-secret mode, when keys is nil
	keys    map[int]string // versioned mode; never modified after construction
	current int
	legacy  string
}

// SingleSecret returns the keyring of a deployment with one secret
// (BETTER_AUTH_SECRET): it seals bare hex and opens only bare hex.
func SingleSecret(secret string) Keyring {
	return Keyring{single: secret}
}

// NewKeyring mirrors how Better Auth builds its secret configuration from
// the single secret (options.secret / BETTER_AUTH_SECRET) and the versioned
// secrets (options.secrets / BETTER_AUTH_SECRETS).
//
// With no versioned secrets it is SingleSecret(secret). Otherwise values are
// sealed under versioned[currentVersion] in a "$ba$<version>$" envelope,
// envelopes open with the secret of their version, and bare hex opens with
// secret as the legacy secret, unless secret is empty or Better Auth's
// built-in default, which Better Auth never uses as a legacy secret.
// Versions must be non-negative and at most 2^53-1, secrets non-empty, and
// currentVersion one of the versions.
func NewKeyring(secret string, versioned map[int]string, currentVersion int) (Keyring, error) {
	if len(versioned) == 0 {
		if secret == "" {
			return Keyring{}, fmt.Errorf("%w: no secret", ErrInvalidKeyring)
		}
		return SingleSecret(secret), nil
	}
	keys := make(map[int]string, len(versioned))
	for v, s := range versioned {
		if v < 0 || v > maxVersion {
			return Keyring{}, fmt.Errorf("%w: version %d is not a non-negative integer below 2^53", ErrInvalidKeyring, v)
		}
		if s == "" {
			return Keyring{}, fmt.Errorf("%w: empty secret for version %d", ErrInvalidKeyring, v)
		}
		keys[v] = s
	}
	if _, ok := keys[currentVersion]; !ok {
		return Keyring{}, fmt.Errorf("%w: current version %d has no secret", ErrInvalidKeyring, currentVersion)
	}
	k := Keyring{keys: keys, current: currentVersion}
	if secret != defaultSecret {
		k.legacy = secret
	}
	return k, nil
}

// Versioned reports whether the keyring seals into "$ba$" envelopes.
func (k Keyring) Versioned() bool { return k.keys != nil }

// Seal encrypts plaintext under the current secret: bare lowercase hex for a
// single-secret keyring, "$ba$<version>$<hex>" for a versioned one, exactly
// as Better Auth's symmetricEncrypt writes them. (Better Auth seals strings;
// their UTF-8 bytes are the plaintext.)
func (k Keyring) Seal(plaintext []byte) (string, error) {
	if k.keys == nil {
		if k.single == "" {
			return "", ErrInvalidKeyring
		}
		return seal(k.single, plaintext)
	}
	sealed, err := seal(k.keys[k.current], plaintext)
	if err != nil {
		return "", err
	}
	return envelopePrefix + strconv.Itoa(k.current) + "$" + sealed, nil
}

// Open decrypts a value Seal or Better Auth's symmetricEncrypt made, choosing
// the secret as Better Auth's symmetricDecrypt does: a single-secret keyring
// treats every value as bare hex (so it refuses envelopes, as Better Auth
// does); a versioned keyring opens an envelope with its version's secret and
// bare hex with the legacy secret.
//
// Better Auth returns the plaintext as a string decoded with TextDecoder,
// which would drop a leading byte order mark and replace invalid UTF-8; Open
// returns the bytes as they were sealed.
func (k Keyring) Open(sealed string) ([]byte, error) {
	if k.keys == nil {
		if k.single == "" {
			return nil, ErrInvalidKeyring
		}
		return open(k.single, sealed)
	}
	if version, data, ok := parseEnvelope(sealed); ok {
		secret, found := "", false
		if version <= maxVersion {
			secret, found = k.keys[int(version)]
		}
		if !found {
			return nil, ErrUnknownVersion
		}
		return open(secret, data)
	}
	if k.legacy == "" {
		return nil, ErrNoLegacySecret
	}
	return open(k.legacy, sealed)
}

// ForPurpose returns the keyring Better Auth derives for one purpose
// (derivePurposeKey in better-auth/dist/crypto/purpose.mjs), used to seal
// the OAuth state cookie ("oauth-state-cookie") and the link-account session
// token ("oauth-link-session-token"). Every secret s is replaced by the
// lowercase hex of HKDF-SHA256(ikm=s, salt="better-auth:oauth-encryption:v1",
// info="better-auth:<purpose>:v1", 32 bytes), versions and the current
// version kept.
func (k Keyring) ForPurpose(purpose string) (Keyring, error) {
	derive := func(s string) (string, error) {
		key, err := hkdf.Key(sha256.New, []byte(s), []byte("better-auth:oauth-encryption:v1"), "better-auth:"+purpose+":v1", 32)
		if err != nil {
			return "", fmt.Errorf("sealedbox: derive purpose key: %w", err)
		}
		return hex.EncodeToString(key), nil
	}
	if k.keys == nil {
		if k.single == "" {
			return Keyring{}, ErrInvalidKeyring
		}
		s, err := derive(k.single)
		return Keyring{single: s}, err
	}
	out := Keyring{keys: make(map[int]string, len(k.keys)), current: k.current}
	for v, s := range k.keys {
		d, err := derive(s)
		if err != nil {
			return Keyring{}, err
		}
		out.keys[v] = d
	}
	if k.legacy != "" {
		d, err := derive(k.legacy)
		if err != nil {
			return Keyring{}, err
		}
		out.legacy = d
	}
	return out, nil
}

func seal(secret string, plaintext []byte) (string, error) {
	key := sha256.Sum256([]byte(secret))
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return "", fmt.Errorf("sealedbox: %w", err)
	}
	out := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plaintext)+chacha20poly1305.Overhead)
	if _, err := rand.Read(out); err != nil {
		return "", fmt.Errorf("sealedbox: read nonce: %w", err)
	}
	out = aead.Seal(out, out, plaintext, nil)
	return hex.EncodeToString(out), nil
}

func open(secret, sealedHex string) ([]byte, error) {
	// Like @noble/ciphers' hexToBytes, either case of hex digit is accepted.
	raw, err := hex.DecodeString(sealedHex)
	if err != nil || len(raw) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, ErrMalformed
	}
	key := sha256.Sum256([]byte(secret))
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("sealedbox: %w", err)
	}
	nonce, ciphertext := raw[:chacha20poly1305.NonceSizeX], raw[chacha20poly1305.NonceSizeX:]
	plaintext, err := aead.Open(nil, nonce, ciphertext, nil)
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

// parseEnvelope is Better Auth's parseEnvelope, including its use of
// parseInt(…, 10) for the version: leading JavaScript whitespace and a sign
// are allowed, the longest run of digits is read and anything after it
// ignored ("$ba$ 2x$…" is version 2), "-0" is version 0, and a version that
// is missing, negative or too large for a JavaScript number makes the value
// not an envelope (and so bare hex). The version is a float64 because Better
// Auth's is a JavaScript number.
func parseEnvelope(data string) (version float64, ciphertext string, ok bool) {
	if !strings.HasPrefix(data, envelopePrefix) {
		return 0, "", false
	}
	rest := data[len(envelopePrefix):]
	sep := strings.IndexByte(rest, '$')
	if sep < 0 {
		return 0, "", false
	}
	num := rest[:sep]
	for num != "" {
		r, size := utf8.DecodeRuneInString(num)
		if !isJSSpace(r) {
			break
		}
		num = num[size:]
	}
	negative := false
	if num != "" && (num[0] == '+' || num[0] == '-') {
		negative = num[0] == '-'
		num = num[1:]
	}
	digits := 0
	for digits < len(num) && '0' <= num[digits] && num[digits] <= '9' {
		digits++
	}
	if digits == 0 {
		return 0, "", false
	}
	v, err := strconv.ParseFloat(num[:digits], 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) || math.IsInf(v, 0) {
		return 0, "", false // parseInt gave Infinity: not an integer
	}
	if negative && v != 0 {
		return 0, "", false
	}
	return v, rest[sep+1:], true
}

// isJSSpace reports ECMAScript WhiteSpace and LineTerminator characters, the
// ones parseInt skips.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x00A0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return 0x2000 <= r && r <= 0x200A
}
