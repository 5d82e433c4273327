package authn

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

func TestParseJWKSKeepsOnlyPublicSignatureKeys(t *testing.T) {
	t.Parallel()
	good := newEdKey(t, "good").jwk()
	with := func(changes map[string]any) map[string]any {
		k := newEdKey(t, "x").jwk()
		for name, val := range changes {
			if val == nil {
				delete(k, name)
			} else {
				k[name] = val
			}
		}
		return k
	}
	tests := []struct {
		name string
		key  map[string]any
		kept bool
	}{
		{name: "an Ed25519 key like the auth service's is kept", key: with(map[string]any{"kid": "ok"}), kept: true},
		{name: "a key with use sig is kept", key: with(map[string]any{"kid": "sig", "use": "sig"}), kept: true},
		{name: "a key without alg is kept (its type limits it to EdDSA)", key: with(map[string]any{"kid": "noalg", "alg": nil}), kept: true},
		{name: "a key with key_ops verify is kept", key: with(map[string]any{"kid": "ops", "key_ops": []string{"verify"}}), kept: true},
		{name: "a key marked use enc is dropped", key: with(map[string]any{"kid": "enc", "use": "enc"})},
		{name: "a key whose key_ops lack verify is dropped", key: with(map[string]any{"kid": "wrap", "key_ops": []string{"encrypt"}})},
		{name: "a key without kid is dropped", key: with(map[string]any{"kid": nil})},
		{name: "a second key under the same kid is dropped", key: with(map[string]any{"kid": "good"})},
		{name: "a symmetric key is dropped", key: map[string]any{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"}},
		{name: "a key with a broken x is dropped", key: with(map[string]any{"kid": "broken", "x": "!!"})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			doc, _ := json.Marshal(map[string]any{"keys": []any{good, tc.key}})
			raw, keys, _, err := parseJWKS(doc)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(keys) == 2; got != tc.kept {
				t.Fatalf("kept = %v, want %v (%s)", got, tc.kept, raw)
			}
		})
	}
	t.Run("a set of only unusable keys is an error", func(t *testing.T) {
		t.Parallel()
		doc, _ := json.Marshal(map[string]any{"keys": []any{with(map[string]any{"use": "enc"})}})
		if _, _, _, err := parseJWKS(doc); !errors.Is(err, errNoUsableKeys) {
			t.Fatalf("err = %v, want %v", err, errNoUsableKeys)
		}
	})
	t.Run("private members never reach the shared copy", func(t *testing.T) {
		t.Parallel()
		doc := []byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"p","x":"` + good["x"].(string) + `","d":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI","x5u":"https://evil.example"}]}`)
		raw, _, _, err := parseJWKS(doc)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), `"d"`) || strings.Contains(string(raw), "x5u") {
			t.Fatalf("canonical set kept private or certificate members: %s", raw)
		}
	})
}

func TestRedisStorageIsAJWKSetStorage(t *testing.T) {
	t.Parallel()
	rdb, prefix := sharedRedis(t)
	ctx := context.Background()
	s := &redisStorage{client: rdb, key: prefix + "jwks", ttl: time.Minute}
	jwk := func(k edKey, private bool) jwkset.JWK {
		t.Helper()
		var key any = k.pub
		if private {
			key = k.priv
		}
		j, err := jwkset.NewJWKFromKey(key, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: k.kid}})
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	k1, k2, k3 := newEdKey(t, "k1"), newEdKey(t, "k2"), newEdKey(t, "k3")

	if keys, err := s.KeyReadAll(ctx); err != nil || len(keys) != 0 {
		t.Fatalf("empty storage: %v, %v", keys, err)
	}
	for _, j := range []jwkset.JWK{jwk(k1, false), jwk(k2, false), jwk(k1, false)} {
		if err := s.KeyWrite(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	if keys, _ := s.KeyReadAll(ctx); len(keys) != 2 {
		t.Fatalf("after writing k1, k2, k1: %d keys, want 2", len(keys))
	}
	got, err := s.KeyRead(ctx, "k2")
	if err != nil || got.Marshal().X != k2.jwk()["x"] {
		t.Fatalf("KeyRead k2 = %v, %v", got.Marshal(), err)
	}
	if ok, err := s.KeyDelete(ctx, "k2"); !ok || err != nil {
		t.Fatalf("KeyDelete k2 = %v, %v", ok, err)
	}
	if ok, err := s.KeyDelete(ctx, "k2"); ok || err != nil {
		t.Fatalf("KeyDelete k2 again = %v, %v", ok, err)
	}
	if _, err := s.KeyRead(ctx, "k2"); !errors.Is(err, jwkset.ErrKeyNotFound) {
		t.Fatalf("KeyRead deleted key: %v", err)
	}
	if err := s.KeyReplaceAll(ctx, []jwkset.JWK{jwk(k3, true)}); err != nil {
		t.Fatal(err)
	}
	doc, err := s.JSONPrivate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), `"d"`) || !strings.Contains(string(doc), `"k3"`) || strings.Contains(string(doc), `"k1"`) {
		t.Fatalf("stored set = %s, want k3 alone and public", doc)
	}

	// keyfunc can use it directly.
	kf, err := keyfunc.New(keyfunc.Options{Storage: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := jwt.Parse(k3.sign(t, claims(nil), nil), kf.Keyfunc, jwt.WithValidMethods([]string{"EdDSA"})); err != nil {
		t.Fatalf("keyfunc over the Redis storage: %v", err)
	}
}
