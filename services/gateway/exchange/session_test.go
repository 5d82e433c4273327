package exchange_test

import (
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/services/gateway/exchange"
)

// The rules of Cookies.Session where they live; cookietrust_test.go in the
// gateway's main package runs the same attacks against the real auth.
func TestASessionIsKeyedOnTheCookieAuthReadsInItsCanonicalSpelling(t *testing.T) {
	t.Parallel()
	signed := signedcookie.Sign("tok", testSecret)
	wire := signedcookie.EncodeValue(signed) // tok.<sig ending %3D>
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := strings.IndexByte(alphabet, signed[len(signed)-2])
	lowBits := signedcookie.EncodeValue(signed[:len(signed)-2] + string(alphabet[last|3]) + "=")

	plain, secure := exchange.NewCookies(false), exchange.NewCookies(true)
	want, ok := plain.Session("better-auth.session_token=" + wire)
	if !ok {
		t.Fatal("no session in the cookie auth sets")
	}
	same := map[string]string{
		"percent-encoded character":            "better-auth.session_token=%74ok." + wire[len("tok."):],
		"signature low bits":                   "better-auth.session_token=" + lowBits,
		"quoted, spaced, other cookies around": ` a=1;  better-auth.session_token = "` + wire + `" ; b=2`,
		"a later duplicate is not read":        "better-auth.session_token=" + wire + "; better-auth.session_token=other." + wire[len("tok."):],
	}
	for what, header := range same {
		got, ok := plain.Session(header)
		if !ok || got.Key() != want.Key() {
			t.Errorf("%s: %q keyed %q (%v), want the original's key", what, header, got.Key(), ok)
		}
	}
	for what, header := range map[string]string{
		"the plain name on https": "better-auth.session_token=" + wire,
		"not a signed value":      "__Secure-better-auth.session_token=abc.signature",
		"a short signature":       "__Secure-better-auth.session_token=tok.c2ln",
	} {
		if got, ok := secure.Session(header); ok {
			t.Errorf("%s: %q gave a session (key %s); auth would not read it", what, header, got.Key())
		}
	}
	if s, ok := secure.Session("better-auth.session_token=attacker.value; __Secure-better-auth.session_token=" + wire); !ok || s.Key() != want.Key() {
		t.Errorf("on https the __Secure- cookie must be the session whatever the plain one says: %v", ok)
	}
}
