// Command gomade writes hashes made by this package, for gen.mjs to check
// with Better Auth's own verifyPassword. Run from services/auth:
//
//	go run ./password/testdata/gomade > password/testdata/go_made.json
//	node password/testdata/gen.mjs
package main

import (
	"encoding/json"
	"log"
	"os"

	"github.com/latchid/latch/services/auth/password"
)

func main() {
	passwords := []string{
		"correct horse battery staple",
		"ﬁnancial-Ｐａｓｓ１", // needs NFKC: ligature and full-width forms
		"p🔑ssw0rd-😀",
		"\u00c5ngstr\u00f6m and A\u030angstro\u0308m", // composed and decomposed forms
	}
	type vector struct {
		Password string `json:"password"`
		Hash     string `json:"hash"`
	}
	var out []vector
	for _, pw := range passwords {
		h, err := password.Hash(pw)
		if err != nil {
			log.Fatal(err)
		}
		out = append(out, vector{pw, h})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		log.Fatal(err)
	}
}
