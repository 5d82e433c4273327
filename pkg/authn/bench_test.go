package authn

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkVerify and BenchmarkEd25519Verify run over the same token: the
// first is the full check with a warm key cache (and the accepted-token cache
// off, so every call really verifies), the second the bare signature check
// it cannot avoid. The target is a ratio of at most 1.5.
func BenchmarkVerify(b *testing.B) {
	k1 := newEdKey(b, "k1")
	v := newVerifier(b, newJWKSServer(b, k1.jwk()), nil, "", func(c *Config) { c.AcceptedCacheSize = -1 })
	token := k1.sign(b, claims(nil), nil)
	ctx := context.Background()
	mustVerify(b, v, token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	k1 := newEdKey(b, "k1")
	token := k1.sign(b, claims(nil), nil)
	dot := strings.LastIndexByte(token, '.')
	message := []byte(token[:dot])
	sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if !ed25519.Verify(k1.pub, message, sig) {
			b.Fatal("bad signature")
		}
	}
}

// BenchmarkVerifyRemembered is a client repeating a token it was already
// accepted with: the accepted-token cache answers.
func BenchmarkVerifyRemembered(b *testing.B) {
	k1 := newEdKey(b, "k1")
	v := newVerifier(b, newJWKSServer(b, k1.jwk()), nil, "", nil)
	token := k1.sign(b, claims(nil), nil)
	ctx := context.Background()
	mustVerify(b, v, token)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyParallel(b *testing.B) {
	k1 := newEdKey(b, "k1")
	v := newVerifier(b, newJWKSServer(b, k1.jwk()), nil, "", func(c *Config) { c.AcceptedCacheSize = -1 })
	token := k1.sign(b, claims(nil), nil)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}
