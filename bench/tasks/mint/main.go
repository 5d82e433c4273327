// Command mint is the tasks benchmark's stand-in for the auth service: it
// makes an Ed25519 signing key, serves its JWKS at /api/auth/jwks in the
// auth service's exact format and writes one token per user, shaped like
// the auth service's (same header; the claims are signing.Claims itself).
//
//	mint -addr 127.0.0.1:18401 -users 1000 -out tokens.tsv
//
// The tokens file has one line per user: "<sub>\t<token>". Once the file is
// written and the listener is up, mint prints "ready" and serves until
// killed. It lives in bench/ only.
//
// It also serves the auth service's revocation feed at /api/auth/revocations
// (pkg/revocation's format and long poll): -revoked N puts N revoked sessions
// (none of the minted tokens') into it at start, so tasks verifies against a
// deny set of that size; POST /revoke?sid=<session id> adds one (tokens carry
// sid "sess-<sub>"). /empty/revocations is a feed that stays empty.
//
// -org-out FILE also writes, per user, a token of another session
// ("org-<sub>") naming organization "org-bench" with org_role "admin", as
// auth mints it with an active organization; POST /demote?sub=<sub>&org=<org>
// adds the member event auth writes when that user's role there changes.
//
// -org-size N puts every user of the main tokens file in an organization of
// N users, active in the token: claims org "org-001" … (users 1…N in
// org-001, and so on) and org_role "owner" for an organization's first user,
// "admin" for its second, "member" for the rest, as the auth service's
// organization plugin writes them.
package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/latchid/latch/services/auth/signing"
)

// newID is a 32-character alphanumeric id, like the auth service's key ids.
func newID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func main() {
	addr := flag.String("addr", "127.0.0.1:18401", "listen address (host:port)")
	users := flag.Int("users", 1000, "number of users (sub = user-0001 …)")
	out := flag.String("out", "tokens.tsv", "tokens file: <sub>\\t<token> per line")
	ttl := flag.Duration("ttl", time.Hour, "token lifetime")
	revoked := flag.Int("revoked", 0, "revoked sessions in the feed at start")
	orgOut := flag.String("org-out", "", "also write admin tokens naming organization org-bench here")
	orgSize := flag.Int("org-size", 0, "users per organization in the main tokens file (0: tokens name none)")
	flag.Parse()

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	kid := newID()
	b64 := base64.RawURLEncoding
	jwks, err := json.Marshal(map[string]any{"keys": []map[string]any{{
		"alg": "EdDSA", "crv": "Ed25519", "kid": kid, "kty": "OKP", "x": b64.EncodeToString(pub),
	}}})
	if err != nil {
		log.Fatal(err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()

	header := b64.EncodeToString(fmt.Appendf(nil, `{"alg":"EdDSA","kid":%q}`, kid))
	now := time.Now().UTC()
	created := now.Add(-24 * time.Hour).Format(signing.TimeFormat)
	write := func(path, session, org string) {
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		for u := 1; u <= *users; u++ {
			sub := fmt.Sprintf("user-%04d", u)
			c := signing.Claims{
				IssuedAt: now.Unix(), Name: "Bench User " + sub[5:], Email: sub + "@bench.example",
				EmailVerified: true, CreatedAt: created, UpdatedAt: created, ID: sub, Subject: sub,
				Expiry: now.Add(*ttl).Unix(), Issuer: origin, Audience: origin,
				SessionID: session + sub, TokenID: newID(),
			}
			switch {
			case org != "":
				c.Organization, c.OrganizationRole = org, "admin"
			case *orgSize > 0:
				c.Organization = fmt.Sprintf("org-%03d", (u-1) / *orgSize + 1)
				switch (u - 1) % *orgSize {
				case 0:
					c.OrganizationRole = "owner"
				case 1:
					c.OrganizationRole = "admin"
				default:
					c.OrganizationRole = "member"
				}
			}
			payload, err := json.Marshal(c)
			if err != nil {
				log.Fatal(err)
			}
			signingInput := header + "." + b64.EncodeToString(payload)
			sig := ed25519.Sign(priv, []byte(signingInput))
			fmt.Fprintf(f, "%s\t%s.%s\n", sub, signingInput, b64.EncodeToString(sig))
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
	write(*out, "sess-", "")
	if *orgOut != "" {
		write(*orgOut, "org-", "org-bench")
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/auth/jwks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(jwks)
	})
	feed := newFeed(*revoked, *ttl)
	mux.HandleFunc("GET /api/auth/revocations", feed.serve)
	empty := newFeed(0, *ttl) // a feed with no revocations, for comparisons (REVOCATION_FEED_URL)
	mux.HandleFunc("GET /empty/revocations", empty.serve)
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		feed.add(r.URL.Query().Get("sid"))
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("POST /demote", func(w http.ResponseWriter, r *http.Request) {
		feed.addMember(r.URL.Query().Get("sub"), r.URL.Query().Get("org"))
		w.WriteHeader(http.StatusNoContent)
	})
	fmt.Printf("ready %s kid=%s users=%d revoked=%d\n", origin, kid, *users, *revoked)
	log.Fatal(http.Serve(ln, mux))
}
