package signing_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/sealedbox"
	"github.com/latchid/latch/services/auth/signing"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

const secret = "a-test-secret-that-is-long-enough-0123456789"

// clock is a settable time source shared by the issuers of one test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func newStore(t *testing.T) *sqlstore.KeyStore {
	t.Helper()
	return sqlstore.NewKeyStore(sqlstoretest.Open(t, sqldb.Postgres), time.UTC)
}

func config() signing.Config {
	return signing.Config{
		Issuer: "https://auth.example.com", Audience: "https://auth.example.com",
		TokenTTL: 15 * time.Minute, GracePeriod: time.Hour,
		PublishDelay: 5 * time.Minute, CacheTTL: 30 * time.Second,
	}
}

func newIssuer(t *testing.T, store signing.KeyStore, c *clock, s string) *signing.Issuer {
	t.Helper()
	iss, err := signing.NewIssuer(store, sealedbox.SingleSecret(s), config(), c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

var ann = identity.User{
	ID: "FmlVR60IGNYSbRmsJfyJlCwwBHU1oLN7", Name: "Ann", Email: "ann@example.com",
	CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC), UpdatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC),
}

// verify checks token against the published JWKS as a resource server
// would, and returns its kid and claims.
func verify(t *testing.T, jwksDoc []byte, token string) (string, map[string]any) {
	t.Helper()
	set, err := jwk.Parse(jwksDoc)
	if err != nil {
		t.Fatalf("parse JWKS: %v", err)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatal(err)
	}
	kid := msg.Signatures()[0].ProtectedHeaders().KeyID()
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(set, jws.WithRequireKid(true)))
	if err != nil {
		t.Fatalf("token does not verify against the JWKS: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return kid, claims
}

func kids(t *testing.T, doc []byte) []string {
	t.Helper()
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(doc, &set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k["kid"].(string))
	}
	return out
}

func TestFirstSignatureCreatesOneKeyAndAVerifiableToken(t *testing.T) {
	t.Parallel()
	c := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	iss := newIssuer(t, newStore(t), c, secret)
	ctx := context.Background()

	token, err := iss.Sign(ctx, ann, "session-1")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := iss.JWKS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kid, claims := verify(t, doc, token)
	if got := kids(t, doc); len(got) != 1 || got[0] != kid {
		t.Fatalf("JWKS kids = %v, want exactly the signing key %s", got, kid)
	}
	header, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if string(header) != `{"alg":"EdDSA","kid":"`+kid+`"}` {
		t.Errorf("header = %s, want Better Auth's {alg, kid} and no typ", header)
	}
	iat := c.Now().Unix()
	want := map[string]any{
		"iat": float64(iat), "exp": float64(iat + 900), "sub": ann.ID, "id": ann.ID,
		"iss": "https://auth.example.com", "aud": "https://auth.example.com",
		"name": "Ann", "email": "ann@example.com", "emailVerified": false, "image": nil,
		"createdAt": "2026-01-02T03:04:05.678Z", "updatedAt": "2026-01-02T03:04:05.678Z",
		"sid": "session-1",
	}
	// jti is random: present, 128 bits, and different on the next token.
	jti, _ := claims["jti"].(string)
	if raw, err := base64.RawURLEncoding.DecodeString(jti); err != nil || len(raw) != 16 {
		t.Errorf("jti = %v, want 16 random bytes in base64url", claims["jti"])
	}
	want["jti"] = jti
	if again, _ := iss.Sign(ctx, ann, "session-1"); again != "" {
		if _, c2 := verify(t, doc, again); c2["jti"] == jti {
			t.Error("two tokens share a jti")
		}
	}
	if _, err := iss.Sign(ctx, ann, ""); err == nil {
		t.Error("Sign without a session id succeeded; every user token must carry sid")
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if len(claims) != len(want) {
		t.Errorf("claims = %v, want exactly %v", claims, want)
	}
	var published struct{ Keys []map[string]any }
	_ = json.Unmarshal(doc, &published)
	k := published.Keys[0]
	if k["alg"] != "EdDSA" || k["crv"] != "Ed25519" || k["kty"] != "OKP" || k["x"] == nil || k["d"] != nil {
		t.Errorf("published key = %v, want alg, crv, kty, x, kid and no private member", k)
	}
}

func TestReplicasRacingOnAnEmptyTableCreateOneKey(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	c := &clock{now: time.Now()}
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := newIssuer(t, store, c, secret).JWKS(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	keys, err := store.Keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Errorf("%d keys after 6 replicas started at once, want 1", len(keys))
	}
}

func TestPrivateKeysAreSealedAtRestAsBetterAuthStoresThem(t *testing.T) {
	t.Parallel()
	store := newStore(t)
	c := &clock{now: time.Now()}
	if _, err := newIssuer(t, store, c, secret).JWKS(context.Background()); err != nil {
		t.Fatal(err)
	}
	keys, _ := store.Keys(context.Background())
	stored := keys[0].PrivateKey
	var sealed string
	if err := json.Unmarshal([]byte(stored), &sealed); err != nil {
		t.Fatalf("private_key %q is not a JSON string", stored)
	}
	plain, err := sealedbox.SingleSecret(secret).Open(sealed)
	if err != nil {
		t.Fatalf("open sealed key: %v", err)
	}
	priv, err := jwk.ParseKey(plain)
	if err != nil {
		t.Fatal(err)
	}
	var raw ed25519.PrivateKey
	if err := priv.Raw(&raw); err != nil {
		t.Fatalf("sealed key is not an Ed25519 private JWK: %v", err)
	}
	if strings.Contains(stored, `"d"`) {
		t.Errorf("private key stored in the clear: %s", stored)
	}

	// Another secret cannot use the key, and says so instead of signing.
	_, err = newIssuer(t, store, c, "another-secret-that-is-long-enough-000000").Sign(context.Background(), ann, "session-1")
	if err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Errorf("Sign with the wrong secret = %v, want a decryption error", err)
	}
}

func TestRotationPublishesFirstThenSignsAndKeepsTheOldKeyForTheGracePeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	store := newStore(t)
	c := &clock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	replica := newIssuer(t, store, c, secret)
	admin := newIssuer(t, store, c, secret)

	oldToken, _ := replica.Sign(ctx, ann, "session-1")
	oldDoc, _ := replica.JWKS(ctx)
	oldKid, _ := verify(t, oldDoc, oldToken)

	c.Add(time.Minute)
	fresh, err := admin.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		advance     time.Duration
		wantSigner  string
		wantKids    []string
		oldVerifies bool
	}{
		{"right after rotating the old key still signs", 0, oldKid, []string{fresh.ID, oldKid}, true},
		{"after the publish delay the new key signs", 5 * time.Minute, fresh.ID, []string{fresh.ID, oldKid}, true},
		{"within the grace period the old key stays published", 50 * time.Minute, fresh.ID, []string{fresh.ID, oldKid}, true},
		{"after the grace period the old key is gone", 15 * time.Minute, fresh.ID, []string{fresh.ID}, false},
	}
	for _, s := range steps {
		c.Add(s.advance)
		replica.Invalidate() // what CacheTTL does in time; the test needs no sleeping
		token, err := replica.Sign(ctx, ann, "session-1")
		if err != nil {
			t.Fatal(err)
		}
		doc, _ := replica.JWKS(ctx)
		if kid, _ := verify(t, doc, token); kid != s.wantSigner {
			t.Errorf("%s: signed by %s, want %s", s.name, kid, s.wantSigner)
		}
		if got := kids(t, doc); strings.Join(got, ",") != strings.Join(s.wantKids, ",") {
			t.Errorf("%s: JWKS kids = %v, want %v", s.name, got, s.wantKids)
		}
		set, _ := jwk.Parse(doc)
		_, err = jws.Verify([]byte(oldToken), jws.WithKeySet(set))
		if (err == nil) != s.oldVerifies {
			t.Errorf("%s: old token verifies = %v, want %v", s.name, err == nil, s.oldVerifies)
		}
	}
	list, err := admin.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].State != signing.KeySigning || list[1].State != signing.KeyExpired {
		t.Errorf("keys list = %+v, want the new key signing and the old one expired", list)
	}
}

func TestGracePeriodShorterThanTokensIsRefused(t *testing.T) {
	t.Parallel()
	cfg := config()
	cfg.GracePeriod = time.Minute
	_, err := signing.NewIssuer(nil, sealedbox.SingleSecret(secret), cfg, nil)
	if err == nil {
		t.Fatal("NewIssuer accepted a grace period shorter than the token lifetime")
	}
}
