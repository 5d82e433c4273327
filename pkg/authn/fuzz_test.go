package authn

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// fuzzKey is an Ed25519 key derived from a fixed seed, so the tokens it
// signs (Ed25519 signatures are deterministic) are the same on every run and
// can live in the committed corpus. kid is what the JWKS publishes it under.
func fuzzKey(seed, kid string) edKey {
	s := sha256.Sum256([]byte(seed))
	priv := ed25519.NewKeyFromSeed(s[:])
	return edKey{kid: kid, pub: priv.Public().(ed25519.PublicKey), priv: priv}
}

// fuzzExp is 2100-01-01: corpus tokens stay unexpired for the life of this code.
const fuzzExp = 4102444800

func fuzzClaims(changes map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iat": 1767225600, "name": "Ada Lovelace", "email": "ada@example.com", "emailVerified": true,
		"id": "user_1", "sub": "user_1", "exp": fuzzExp, "iss": testIssuer, "aud": testIssuer,
	}
	for k, v := range changes {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// fuzzVerifiers are two verifiers of one published JWKS (fuzz-k1, and
// fuzz-k2 published without alg), one remembering accepted tokens as
// production does and one checking every token afresh; no Redis.
type fuzzVerifiers struct {
	published map[string]ed25519.PublicKey
	fresh     *Verifier
	cached    *Verifier
}

func newFuzzVerifiers(f *testing.F) (fuzzVerifiers, edKey, edKey) {
	k1, k2 := fuzzKey("latch fuzz key 1", "fuzz-k1"), fuzzKey("latch fuzz key 2", "fuzz-k2")
	jwk2 := k2.jwk()
	delete(jwk2, "alg")
	srv := newJWKSServer(f, k1.jwk(), jwk2)
	fv := fuzzVerifiers{
		published: map[string]ed25519.PublicKey{k1.kid: k1.pub, k2.kid: k2.pub},
		fresh:     newVerifier(f, srv, nil, "", func(c *Config) { c.AcceptedCacheSize = -1 }),
		cached:    newVerifier(f, srv, nil, "", nil),
	}
	if !fv.fresh.Ready() || !fv.cached.Ready() {
		f.Fatal("the verifiers did not load the JWKS")
	}
	return fv, k1, k2
}

// verify runs token through both verifiers, which must agree, and returns
// the principal; a rejection must be an *Error with a reason. Go's fuzzer
// does not notice an input that hangs, so a verification that takes more
// than a few seconds fails here, with every goroutine's stack.
func (fv fuzzVerifiers) verify(t *testing.T, token string) (Principal, bool) {
	t.Helper()
	var p, pc Principal
	var err, errc error
	done := make(chan struct{})
	go func() {
		defer close(done)
		p, err = fv.fresh.Verify(context.Background(), token)
		pc, errc = fv.cached.Verify(context.Background(), token)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		stacks := make([]byte, 1<<20)
		t.Fatalf("Verify(%q) has not returned after 5s:\n%s", token, stacks[:runtime.Stack(stacks, true)])
	}
	if (err == nil) != (errc == nil) {
		t.Fatalf("the verifiers disagree on %q: %v / %v", token, err, errc)
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Reason == "" || ReasonOf(errc) == "" {
			t.Fatalf("Verify(%q) failed with %v, not an *Error with a reason", token, err)
		}
		if e.Reason == ReasonUnavailable {
			t.Fatalf("Verify(%q): keys unavailable although the JWKS is loaded", token)
		}
		return Principal{}, false
	}
	if !reflect.DeepEqual(p, pc) {
		t.Fatalf("the verifiers accepted %q as different principals: %+v / %+v", token, p, pc)
	}
	return p, true
}

// checkSigned fails t unless token is a compact JWS whose signature verifies
// with Ed25519 under the published key its kid names, and p carries exactly
// its claims. It returns the header and claims.
func (fv fuzzVerifiers) checkSigned(t *testing.T, token string, p Principal) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("accepted %q, which has %d segments", token, len(parts))
	}
	dec := base64.RawURLEncoding.Strict()
	rawHeader, err1 := dec.DecodeString(parts[0])
	rawClaims, err2 := dec.DecodeString(parts[1])
	sig, err3 := dec.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatalf("accepted %q, which is not canonical base64url: %v", token, err)
	}
	if err := json.Unmarshal(rawHeader, &header); err != nil {
		t.Fatalf("accepted %q, whose header %q is not a JSON object: %v", token, rawHeader, err)
	}
	kid, _ := header["kid"].(string)
	key, published := fv.published[kid]
	if header["alg"] != "EdDSA" || !published {
		t.Fatalf("accepted %q with header %q: alg must be EdDSA and kid a published key", token, rawHeader)
	}
	if !ed25519.Verify(key, []byte(parts[0]+"."+parts[1]), sig) {
		t.Fatalf("accepted %q, whose signature does not verify under the published key %q", token, kid)
	}
	if err := json.Unmarshal(rawClaims, &claims); err != nil {
		t.Fatalf("accepted %q, whose claims %q are not a JSON object: %v", token, rawClaims, err)
	}
	if !reflect.DeepEqual(p.Claims, claims) {
		t.Fatalf("accepted %q as claims %v, but it carries %v", token, p.Claims, claims)
	}
	if sub, _ := claims["sub"].(string); p.UserID != sub || sub == "" {
		t.Fatalf("accepted %q for user %q, its sub is %v", token, p.UserID, claims["sub"])
	}
	return header, claims
}

// FuzzVerifyToken mutates tokens the published keys really signed (and
// forgeries of the classic kinds): the verifier never accepts a token whose
// signature does not verify with Ed25519 under a published key, and what it
// accepts carries exactly the claims that were signed.
func FuzzVerifyToken(f *testing.F) {
	fv, k1, k2 := newFuzzVerifiers(f)
	stranger := fuzzKey("not published", "fuzz-k1")
	valid := k1.sign(f, fuzzClaims(nil), nil)
	parts := strings.Split(valid, ".")
	for _, tok := range []string{
		valid,
		k2.sign(f, fuzzClaims(map[string]any{"aud": []string{"other", testIssuer}}), nil),
		k1.sign(f, fuzzClaims(map[string]any{"sub": "client:reporting", "client_id": "reporting", "scope": "tasks:read"}), nil),
		k1.sign(f, fuzzClaims(map[string]any{"nbf": 1767225600, "emailVerified": false}), map[string]any{"typ": "JWT"}),
		stranger.sign(f, fuzzClaims(nil), nil),
		k1.sign(f, fuzzClaims(nil), map[string]any{"jwk": k1.jwk()}),
		k1.sign(f, fuzzClaims(nil), map[string]any{"crit": []string{"b64"}, "b64": false}),
		parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","iss":"`+testIssuer+`","aud":"`+testIssuer+`","exp":4102444800}`)) + "." + parts[2],
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"fuzz-k1"}`)) + "." + parts[1] + ".",
		base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"fuzz-k1"}`)) + "." + parts[1] + "." + parts[2],
		parts[0] + "." + parts[1] + "." + parts[2] + "=",
		parts[0] + "." + parts[1] + "." + base64.StdEncoding.EncodeToString(make([]byte, 64)),
		valid + ".",
		"", "a.b.c", "..",
	} {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		if p, ok := fv.verify(t, token); ok {
			fv.checkSigned(t, token, p)
		}
	})
}

// FuzzVerifyClaims signs arbitrary headers and claims with the published key
// (as if the issuer itself had signed them) and with a stranger's key under
// the same kid. The stranger's token is never accepted; the published key's
// is accepted only when it keeps every rule the package promises: alg EdDSA,
// no key-carrying or crit header, exp present and not past, nbf reached, iss
// ours, aud containing ours, a non-empty sub, client_id exactly on a
// "client:" sub.
func FuzzVerifyClaims(f *testing.F) {
	fv, k1, _ := newFuzzVerifiers(f)
	stranger := fuzzKey("not published", "fuzz-k1")
	enc := func(v any) []byte { b, _ := json.Marshal(v); return b }
	header := enc(map[string]any{"alg": "EdDSA", "kid": "fuzz-k1"})
	for _, c := range []jwt.MapClaims{
		fuzzClaims(nil),
		fuzzClaims(map[string]any{"aud": []string{"other", testIssuer}}),
		fuzzClaims(map[string]any{"sub": "client:reporting", "client_id": "reporting"}),
		fuzzClaims(map[string]any{"sub": "client:reporting"}),
		fuzzClaims(map[string]any{"client_id": "reporting"}),
		fuzzClaims(map[string]any{"exp": "4102444800"}),
		fuzzClaims(map[string]any{"exp": 1.5}),
		fuzzClaims(map[string]any{"nbf": 4102444800}),
		fuzzClaims(map[string]any{"iss": testIssuer + "/"}),
		fuzzClaims(map[string]any{"aud": []any{testIssuer, 7}}),
		fuzzClaims(map[string]any{"sub": ""}),
	} {
		f.Add(header, enc(c), false)
	}
	f.Add([]byte(`{"alg":"EdDSA","kid":"fuzz-k1","kid":"fuzz-k2"}`), enc(fuzzClaims(nil)), false)
	f.Add([]byte(`{"alg":"EdDSA","kid":"fuzz-k1","x5u":"https://evil.example"}`), enc(fuzzClaims(nil)), false)
	f.Add(header, []byte(`{"sub":"a","sub":"","exp":4102444800,"iss":"`+testIssuer+`","aud":"`+testIssuer+`"}`), false)
	f.Add(header, enc(fuzzClaims(nil)), true)
	f.Fuzz(func(t *testing.T, header, claims []byte, byStranger bool) {
		key := k1
		if byStranger {
			key = stranger
		}
		signingInput := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(claims)
		token := signingInput + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key.priv, []byte(signingInput)))
		p, ok := fv.verify(t, token)
		if !ok {
			return
		}
		if byStranger {
			t.Fatalf("accepted %q, signed by a key the JWKS does not publish", token)
		}
		h, c := fv.checkSigned(t, token, p)
		for _, name := range []string{"jwk", "jku", "x5u", "x5c", "crit"} {
			if _, ok := h[name]; ok {
				t.Fatalf("accepted a token with a %q header: %s", name, header)
			}
		}
		now := float64(time.Now().Unix())
		leeway := (30 * time.Second).Seconds()
		exp, ok := c["exp"].(float64)
		if !ok || exp < now-leeway {
			t.Fatalf("accepted exp %v (now %v): %s", c["exp"], now, claims)
		}
		if nbf, present := c["nbf"]; present {
			if n, ok := nbf.(float64); !ok || n > now+leeway {
				t.Fatalf("accepted nbf %v (now %v): %s", nbf, now, claims)
			}
		}
		if c["iss"] != testIssuer {
			t.Fatalf("accepted iss %v: %s", c["iss"], claims)
		}
		switch aud := c["aud"].(type) {
		case string:
			if aud != testIssuer {
				t.Fatalf("accepted aud %q: %s", aud, claims)
			}
		case []any:
			if !slices.Contains(aud, any(testIssuer)) {
				t.Fatalf("accepted aud %v: %s", aud, claims)
			}
		default:
			t.Fatalf("accepted aud %v: %s", c["aud"], claims)
		}
		sub := c["sub"].(string)
		clientID, hasClientID := c["client_id"]
		if id, isService := strings.CutPrefix(sub, ServiceSubjectPrefix); isService {
			if id == "" || clientID != id || p.ClientID != id {
				t.Fatalf("accepted service sub %q with client_id %v (principal's %q): %s", sub, clientID, p.ClientID, claims)
			}
		} else if hasClientID && clientID != "" {
			t.Fatalf("accepted user sub %q with client_id %v: %s", sub, clientID, claims)
		}
	})
}
