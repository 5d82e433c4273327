// Command gomade writes values sealed by this package, for gen.mjs to open
// with Better Auth's own symmetricDecrypt. Run from services/auth:
//
//	go run ./sealedbox/testdata/gomade > sealedbox/testdata/go_made.json
//	node sealedbox/testdata/gen.mjs
package main

import (
	"encoding/json"
	"log"
	"os"

	"github.com/latchid/latch/services/auth/sealedbox"
)

// key is how gen.mjs rebuilds the keyring on the Better Auth side.
type key struct {
	Secret   string    `json:"secret,omitempty"`   // single secret
	Versions []version `json:"versions,omitempty"` // Better Auth's `secrets` option: current first
	Legacy   string    `json:"legacy,omitempty"`
	Purpose  string    `json:"purpose,omitempty"`
}

type version struct {
	Version int    `json:"version"`
	Value   string `json:"value"`
}

type vector struct {
	Name      string `json:"name"`
	Key       key    `json:"key"`
	Plaintext string `json:"plaintext"`
	Sealed    string `json:"sealed"`
}

func main() {
	const (
		secret = "latch-test-secret-0123456789abcdef0123456789"
		v1     = "version-one-secret-aaaaaaaaaaaaaaaaaaaaaaaa"
		v2     = "version-two-secret-bbbbbbbbbbbbbbbbbbbbbbbb"
	)
	single := sealedbox.SingleSecret(secret)
	versioned, err := sealedbox.NewKeyring(secret, map[int]string{1: v1, 2: v2}, 2)
	if err != nil {
		log.Fatal(err)
	}
	state, err := versioned.ForPurpose("oauth-state-cookie")
	if err != nil {
		log.Fatal(err)
	}
	versionedKey := key{Versions: []version{{2, v2}, {1, v1}}, Legacy: secret}
	stateKey := versionedKey
	stateKey.Purpose = "oauth-state-cookie"
	jwk := `{"crv":"Ed25519","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","kty":"OKP"}`
	cases := []struct {
		name string
		ring sealedbox.Keyring
		key  key
		text string
	}{
		{"a single-secret seal of a private JWK", single, key{Secret: secret}, jwk},
		{"a single-secret seal of an empty string", single, key{Secret: secret}, ""},
		{"a single-secret seal of non-ASCII text", single, key{Secret: secret}, "日本語 😀 ß"},
		{"a versioned seal of a private JWK", versioned, versionedKey, jwk},
		{"a versioned purpose-key seal of OAuth state", state, stateKey, `{"codeVerifier":"abc","callbackURL":"/"}`},
	}
	var out []vector
	for _, c := range cases {
		sealed, err := c.ring.Seal([]byte(c.text))
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, vector{c.name, c.key, c.text, sealed})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		log.Fatal(err)
	}
}
