package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
)

// TestSignInLimitPerAccount: guesses at one account spread over many
// addresses (each under its per-address limit) are stopped after
// RATE_LIMIT_ACCOUNT_MAX failures; the right password from yet another
// address is refused too while the lock lasts, so the guesser learns
// nothing. The owner, from an address they signed in from before, is
// never locked out by the stranger, and the lock ends one window after
// the stranger's last failure.
func TestSignInLimitPerAccount(t *testing.T) {
	t.Parallel()
	// Long enough that four password checks fit in it under -race on a busy machine.
	const window = 15 * time.Second
	for _, store := range []string{"memory", "redis"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			env := map[string]string{"RATE_LIMIT": "on", "TRUSTED_PROXIES": "127.0.0.0/8,::1",
				"RATE_LIMIT_ACCOUNT_MAX": "3", "RATE_LIMIT_ACCOUNT_WINDOW": window.String()}
			if store == "redis" {
				b := make([]byte, 6)
				_, _ = rand.Read(b)
				testdb.Redis(t)
				env["REDIS_URL"] = testdb.RedisURL()
				env["RATE_LIMIT_KEY_PREFIX"] = "test:" + hex.EncodeToString(b) + ":"
			}
			ts := startAuth(t, env)
			from := func(addr string) map[string]string { return map[string]string{"X-Forwarded-For": addr} }
			const home = "198.51.100.1"
			ts.do(req{method: "POST", path: "/api/auth/sign-up/email", headers: from(home),
				body: `{"name":"Owner","email":"owner@example.com","password":"the-right-password"}`})
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), from(home)); r.status != 200 {
				t.Fatalf("owner's sign-in from home: %d %s", r.status, r.body)
			}

			var lastFailure time.Time
			for i := 1; i <= 6; i++ {
				stranger := fmt.Sprintf("203.0.113.%d", i) // a new address each time: the per-address limit never bites
				r := ts.post("/api/auth/sign-in/email", signInBody("OWNER@example.com", "guess-"+strconv.Itoa(i)), from(stranger))
				want := 401
				if i > 3 {
					want = 429
				}
				if r.status != want {
					t.Fatalf("guess %d from %s: %d %s, want %d", i, stranger, r.status, r.body, want)
				}
				if r.status == 401 {
					lastFailure = time.Now()
				}
				if r.status == 429 {
					if s, err := strconv.Atoi(r.header.Get("X-Retry-After")); err != nil || s < 1 || s > int(window/time.Second) {
						t.Errorf("X-Retry-After %q", r.header.Get("X-Retry-After"))
					}
				}
			}
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), from("203.0.113.99")); r.status != 429 {
				t.Errorf("the right password from an unknown address while locked: %d, want 429", r.status)
			}
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "typo"), from(home)); r.status != 401 {
				t.Errorf("the owner's typo from home while a stranger holds the lock: %d, want 401", r.status)
			}
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), from(home)); r.status != 200 {
				t.Errorf("the owner from home while a stranger holds the lock: %d %s, want 200", r.status, r.body)
			}
			if r := ts.post("/api/auth/sign-in/email", signInBody("other@example.com", "guess"), from("203.0.113.50")); r.status != 401 {
				t.Errorf("another account: %d, want 401 (the lock is per account)", r.status)
			}
			time.Sleep(time.Until(lastFailure.Add(window + 100*time.Millisecond)))
			if r := ts.post("/api/auth/sign-in/email", signInBody("owner@example.com", "the-right-password"), from("192.0.2.77")); r.status != 200 {
				t.Errorf("a new address one window after the stranger's last failure: %d %s, want 200", r.status, r.body)
			}
		})
	}
}
