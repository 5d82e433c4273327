package authn

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestARememberedTokenStillExpiresOnTime(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.Leeway = 0 })
	exp := time.Now().Add(1500 * time.Millisecond).Unix()
	token := k1.sign(t, claims(map[string]any{"exp": exp}), nil)
	mustVerify(t, v, token)
	mustVerify(t, v, token) // now from the cache
	time.Sleep(time.Until(time.Unix(exp, 0)) + 100*time.Millisecond)
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, ErrExpired) {
		t.Fatalf("a remembered token past its exp: %v, want ErrExpired", err)
	}
}

func TestTheAcceptedCacheIsBoundedAndKeepsNoToken(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.AcceptedCacheSize = 50 })
	for i := range 200 {
		mustVerify(t, v, k1.sign(t, claims(map[string]any{"sub": "user-" + string(rune('a'+i%26)) + time.Now().String()}), nil))
	}
	v.accepted.mu.Lock()
	n := len(v.accepted.entries)
	v.accepted.mu.Unlock()
	if n > 50 {
		t.Errorf("%d entries, want at most 50", n)
	}
}

func TestANegativeCacheSizeDisablesTheCache(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.AcceptedCacheSize = -1 })
	if v.accepted != nil {
		t.Fatal("cache present with AcceptedCacheSize -1")
	}
	mustVerify(t, v, k1.sign(t, claims(nil), nil))
}
