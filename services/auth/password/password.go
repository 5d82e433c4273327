// Package password reads and writes Better Auth's password hashes, so that
// account.password rows written by Better Auth verify in Latch and rows
// written by Latch verify in Better Auth.
//
// The format is Better Auth 1.7's (@better-auth/utils/password, node:crypto
// scrypt): "<salt>:<key>", where salt is 16 random bytes as 32 lowercase hex
// characters, and key is the lowercase hex of scrypt(N=16384, r=16, p=1,
// dkLen=64) over the NFKC-normalized password, salted with the salt's hex
// TEXT (its 32 ASCII bytes, not the 16 bytes it encodes). There is no
// prefix, version or parameter field, so nothing else can be read.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"
)

// Better Auth's scrypt parameters; changing any of them breaks every stored hash.
const (
	scryptN     = 16384
	scryptR     = 16
	scryptP     = 1
	keyLen      = 64
	saltLen     = 16
	hashKeyHexN = 2 * keyLen
)

// ErrMalformedHash reports a stored hash Better Auth itself refuses ("Invalid
// password hash"): no ':' separator, or an empty salt or key.
var ErrMalformedHash = errors.New("password: malformed hash")

// Hash returns a new Better Auth hash of password with a random salt.
func Hash(password string) (string, error) {
	var salt [saltLen]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return "", fmt.Errorf("password: read salt: %w", err)
	}
	saltHex := hex.EncodeToString(salt[:])
	key, err := derive(password, saltHex)
	if err != nil {
		return "", err
	}
	return saltHex + ":" + hex.EncodeToString(key), nil
}

// Verify reports whether password matches hash.
//
// It accepts exactly what Better Auth accepts: the hash is split on ':' and
// only its first two fields count (a third is ignored); the salt may be any
// non-empty text, since it is used as text; and the key matches only when it
// equals the derived key as 128 lowercase hex characters (an uppercase or
// short key is a wrong password, not an error, as in Better Auth). A hash
// Better Auth would throw on yields ErrMalformedHash, before any scrypt work.
// The comparison is constant-time, which Better Auth 1.7 no longer bothers
// with; the answers are the same.
func Verify(hash, password string) (bool, error) {
	salt, rest, found := strings.Cut(hash, ":")
	key, _, _ := strings.Cut(rest, ":")
	if !found || salt == "" || key == "" {
		return false, ErrMalformedHash
	}
	derived, err := derive(password, salt)
	if err != nil {
		return false, err
	}
	want := make([]byte, hashKeyHexN)
	hex.Encode(want, derived)
	return subtle.ConstantTimeCompare(want, []byte(key)) == 1, nil
}

// Length returns the password's length as Better Auth measures it for the
// minimum and maximum length checks: JavaScript's string.length, in UTF-16
// code units, counted before normalization. A character above U+FFFF counts
// 2; an invalid UTF-8 byte counts 1 (it arrives in JavaScript as U+FFFD).
func Length(password string) int {
	n := 0
	for _, r := range password {
		if r > 0xFFFF {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// derive runs Better Auth's scrypt: the password NFKC-normalized, then UTF-8;
// the salt as the bytes of its text.
func derive(password, salt string) ([]byte, error) {
	key, err := scrypt.Key([]byte(norm.NFKC.String(password)), []byte(salt), scryptN, scryptR, scryptP, keyLen)
	if err != nil {
		return nil, fmt.Errorf("password: scrypt: %w", err)
	}
	return key, nil
}
