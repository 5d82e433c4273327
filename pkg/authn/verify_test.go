package authn

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifyRejectsAttacksWithTheRightReason(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	stranger := newEdKey(t, "k1") // same kid, key not in the JWKS
	encKey := newEdKey(t, "enc1")
	encJWK := encKey.jwk()
	encJWK["use"] = "enc"
	hmacSecret := []byte("0123456789abcdef0123456789abcdef")
	octJWK := map[string]any{"kty": "oct", "kid": "hmac", "alg": "HS256", "k": base64.RawURLEncoding.EncodeToString(hmacSecret)}
	srv := newJWKSServer(t, k1.jwk(), encJWK, octJWK)
	rdb, prefix := sharedRedis(t)
	v := newVerifier(t, srv, rdb, prefix, nil)
	withRS256 := newVerifier(t, srv, rdb, prefix, func(c *Config) { c.Algorithms = []string{"EdDSA", "RS256"} })

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(m jwt.SigningMethod, key any, header map[string]any) string {
		t.Helper()
		tok := jwt.NewWithClaims(m, claims(nil))
		tok.Header = map[string]any{"alg": m.Alg(), "kid": "k1"}
		for k, v := range header {
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := k1.sign(t, claims(nil), nil)
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","iss":"`+testIssuer+`","aud":"`+testIssuer+`","exp":9999999999}`)) + "." + parts[2]
	huge := parts[0] + "." + strings.Repeat("A", 1<<20) + "." + parts[2]

	tests := []struct {
		name     string
		verifier *Verifier
		token    string
		want     error // nil: accepted
	}{
		{name: "a valid token is accepted", token: valid},
		{name: "a token expired within the leeway is accepted", token: k1.sign(t, claims(map[string]any{"exp": time.Now().Add(-10 * time.Second).Unix()}), nil)},
		{name: "an audience list containing ours is accepted", token: k1.sign(t, claims(map[string]any{"aud": []string{"other", testIssuer}}), nil)},
		{name: "no token is missing", token: "", want: ErrMissingToken},
		{name: "garbage is malformed", token: "garbage", want: ErrMalformed},
		{name: "three garbage segments are malformed", token: "a.b.c", want: ErrMalformed},
		{name: "alg none is not allowed", token: signWith(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil), want: ErrAlgorithm},
		{name: "HS256 keyed with the public key bytes is not allowed", token: signWith(jwt.SigningMethodHS256, []byte(k1.pub), nil), want: ErrAlgorithm},
		{name: "HS256 keyed with the JWKS JSON is not allowed", token: signWith(jwt.SigningMethodHS256, srv.document(), nil), want: ErrAlgorithm},
		{name: "HS256 keyed with a published oct key is not allowed", token: signWith(jwt.SigningMethodHS256, hmacSecret, map[string]any{"kid": "hmac"}), want: ErrAlgorithm},
		{name: "RS256 with a key outside the JWKS is not allowed", token: signWith(jwt.SigningMethodRS256, rsaKey, nil), want: ErrAlgorithm},
		{name: "ES256 is not allowed by default", token: signWith(jwt.SigningMethodES256, ecKey, nil), want: ErrAlgorithm},
		{name: "RS256 under an EdDSA key's kid is a key mismatch when RS256 is allowed", verifier: withRS256, token: signWith(jwt.SigningMethodRS256, rsaKey, nil), want: ErrKeyMismatch},
		{name: "EdDSA by an unknown key under a known kid has a bad signature", token: stranger.sign(t, claims(nil), nil), want: ErrBadSignature},
		{name: "a tampered payload with the old signature has a bad signature", token: tampered, want: ErrBadSignature},
		{name: "a token expired beyond the leeway is expired", token: k1.sign(t, claims(map[string]any{"exp": time.Now().Add(-2 * time.Minute).Unix()}), nil), want: ErrExpired},
		{name: "a token whose nbf is in the future is not yet valid", token: k1.sign(t, claims(map[string]any{"nbf": time.Now().Add(5 * time.Minute).Unix()}), nil), want: ErrNotYetValid},
		{name: "a wrong issuer is rejected", token: k1.sign(t, claims(map[string]any{"iss": "http://evil.example"}), nil), want: ErrBadIssuer},
		{name: "a wrong audience is rejected", token: k1.sign(t, claims(map[string]any{"aud": "http://tasks.example"}), nil), want: ErrBadAudience},
		{name: "a token without sub is missing a claim", token: k1.sign(t, claims(map[string]any{"sub": nil}), nil), want: ErrMissingClaim},
		{name: "a token without exp is missing a claim", token: k1.sign(t, claims(map[string]any{"exp": nil}), nil), want: ErrMissingClaim},
		{name: "a token whose exp is not a number has invalid claims", token: k1.sign(t, claims(map[string]any{"exp": "tomorrow"}), nil), want: ErrInvalidClaims},
		{name: "a token without kid is rejected", token: k1.sign(t, claims(nil), map[string]any{"kid": nil}), want: ErrMissingKID},
		{name: "a token whose kid is not a string is malformed", token: k1.sign(t, claims(nil), map[string]any{"kid": 7}), want: ErrMalformed},
		{name: "an unknown kid is rejected", token: newEdKey(t, "k-unknown").sign(t, claims(nil), nil), want: ErrUnknownKID},
		{name: "a key published with use enc is never used", token: encKey.sign(t, claims(nil), nil), want: ErrUnknownKID},
		{name: "a jwk header is rejected even with a valid signature", token: k1.sign(t, claims(nil), map[string]any{"jwk": k1.jwk()}), want: ErrForbiddenHeader},
		{name: "a token signed by the key in its own jwk header is rejected", token: stranger.sign(t, claims(nil), map[string]any{"jwk": stranger.jwk()}), want: ErrForbiddenHeader},
		{name: "a jku header is rejected", token: k1.sign(t, claims(nil), map[string]any{"jku": "https://evil.example/jwks"}), want: ErrForbiddenHeader},
		{name: "an x5u header is rejected", token: k1.sign(t, claims(nil), map[string]any{"x5u": "https://evil.example/cert.pem"}), want: ErrForbiddenHeader},
		{name: "an x5c header is rejected", token: k1.sign(t, claims(nil), map[string]any{"x5c": []string{"MIIB"}}), want: ErrForbiddenHeader},
		{name: "an unknown crit header is rejected", token: k1.sign(t, claims(nil), map[string]any{"crit": []string{"exp-ext"}, "exp-ext": true}), want: ErrUnsupportedCrit},
		{name: "a 1 MB token is too large", token: huge, want: ErrTokenTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			verifier := v
			if tc.verifier != nil {
				verifier = tc.verifier
			}
			p, err := verifier.Verify(context.Background(), tc.token)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if p.UserID != "user_1" {
					t.Fatalf("UserID = %q, want user_1", p.UserID)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want reason %s", err, ReasonOf(tc.want))
			}
			if got, want := ReasonOf(err), ReasonOf(tc.want); got != want {
				t.Fatalf("ReasonOf = %s, want %s", got, want)
			}
			if p.UserID != "" || p.Claims != nil {
				t.Fatalf("a rejected token yielded a principal: %+v", p)
			}
		})
	}
}

func TestVerifyFillsThePrincipalFromTheClaims(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	p, err := v.Verify(context.Background(), k1.sign(t, claims(nil), nil))
	if err != nil {
		t.Fatal(err)
	}
	if p.UserID != "user_1" || p.Email != "ada@example.com" || p.Name != "Ada Lovelace" || !p.EmailVerified {
		t.Fatalf("principal = %+v", p)
	}
	if p.Claims["createdAt"] != "2025-01-01T00:00:00.000Z" || p.Claims["iss"] != testIssuer {
		t.Fatalf("claims = %v", p.Claims)
	}
	ctx := WithPrincipal(context.Background(), p)
	if got, ok := PrincipalFrom(ctx); !ok || got.UserID != "user_1" {
		t.Fatalf("PrincipalFrom = %+v, %v", got, ok)
	}
	if _, ok := PrincipalFrom(context.Background()); ok {
		t.Fatal("PrincipalFrom found a principal in an empty context")
	}
}

func TestRejectionsDoNotLeakTheTokenIntoErrors(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	for _, token := range []string{
		k1.sign(t, claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), nil),
		newEdKey(t, "k1").sign(t, claims(nil), nil),
		k1.sign(t, claims(map[string]any{"iss": "http://evil.example"}), nil),
	} {
		_, err := v.Verify(context.Background(), token)
		sig := token[strings.LastIndexByte(token, '.')+1:]
		if err == nil || strings.Contains(err.Error(), sig) || strings.Contains(err.Error(), token[:20]) {
			t.Fatalf("error %q carries the token", err)
		}
	}
}

func TestHooksReportVerificationsAndRefreshes(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	type refresh struct {
		source string
		failed bool
	}
	var mu sync.Mutex
	var reasons []string
	var refreshes []refresh
	v := newVerifier(t, srv, nil, "", func(c *Config) {
		c.Hooks = Hooks{
			OnVerify: func(reason string, d time.Duration) {
				mu.Lock()
				defer mu.Unlock()
				reasons = append(reasons, reason)
			},
			OnRefresh: func(source string, err error) {
				mu.Lock()
				defer mu.Unlock()
				refreshes = append(refreshes, refresh{source, err != nil})
			},
		}
	})
	_, _ = v.Verify(context.Background(), k1.sign(t, claims(nil), nil))
	_, _ = v.Verify(context.Background(), "garbage")
	srv.failing.Store(true)
	_, _ = v.Verify(context.Background(), newEdKey(t, "k2").sign(t, claims(nil), nil))
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"ok", "malformed", "unknown_kid"}; strings.Join(reasons, ",") != strings.Join(want, ",") {
		t.Fatalf("OnVerify reasons = %v, want %v", reasons, want)
	}
	if want := []refresh{{"http", false}, {"http", true}}; len(refreshes) != 2 || refreshes[0] != want[0] || refreshes[1] != want[1] {
		t.Fatalf("OnRefresh calls = %v, want %v", refreshes, want)
	}
}

func TestConfigIsValidatedUpFront(t *testing.T) {
	t.Parallel()
	good := Config{JWKSURL: "http://auth:3001/api/auth/jwks", Issuer: testIssuer, Audience: testIssuer}
	tests := []struct {
		name   string
		change func(*Config)
		ok     bool
	}{
		{name: "a minimal config is accepted", change: func(*Config) {}, ok: true},
		{name: "a leeway of 60s is accepted", change: func(c *Config) { c.Leeway = 60 * time.Second }, ok: true},
		{name: "RS256 and ES256 may be allowed", change: func(c *Config) { c.Algorithms = []string{"EdDSA", "RS256", "ES256"} }, ok: true},
		{name: "a leeway above 60s is rejected", change: func(c *Config) { c.Leeway = 61 * time.Second }},
		{name: "a negative leeway is rejected", change: func(c *Config) { c.Leeway = -time.Second }},
		{name: "alg none is rejected", change: func(c *Config) { c.Algorithms = []string{"none"} }},
		{name: "HS256 is rejected", change: func(c *Config) { c.Algorithms = []string{"EdDSA", "HS256"} }},
		{name: "an empty algorithm list is rejected", change: func(c *Config) { c.Algorithms = []string{} }},
		{name: "a missing JWKS URL is rejected", change: func(c *Config) { c.JWKSURL = "" }},
		{name: "a relative JWKS URL is rejected", change: func(c *Config) { c.JWKSURL = "/api/auth/jwks" }},
		{name: "a missing issuer is rejected", change: func(c *Config) { c.Issuer = "" }},
		{name: "a missing audience is rejected", change: func(c *Config) { c.Audience = "" }},
		{name: "a negative refresh interval is rejected", change: func(c *Config) { c.RefreshInterval = -time.Second }},
		{name: "a negative unknown-kid window is rejected", change: func(c *Config) { c.UnknownKIDWindow = -time.Second }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := good
			tc.change(&cfg)
			err := cfg.withDefaults().validate()
			if tc.ok && err != nil {
				t.Fatalf("validate: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatal("validate accepted a bad config")
			}
		})
	}
}
