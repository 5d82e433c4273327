package main

import (
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"testing"
	"time"
)

// newBrowserFrom is a browser whose connections leave from ip (any
// 127.0.0.0/8 address is loopback on Linux), so one test has many clients.
func newBrowserFrom(t *testing.T, origin, ip string) *browserLike {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &browserLike{t: t, origin: origin, client: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		Transport: &http.Transport{DialContext: d.DialContext}}}
}

// The gateway reaches auth from 127.0.0.1 in these tests: auth trusts it.
const authTrustsTheGateway = "TRUSTED_PROXIES=127.0.0.1"

// TestSignInLimitPerClientBehindTheGateway is the shared-bucket attack:
// three wrong sign-ins from client A used to make client B's correct one
// answer 429, because auth counted every request as the gateway's. Client
// A also forges X-Forwarded-For each time; the gateway replaces it, so A
// is still limited after three.
func TestSignInLimitPerClientBehindTheGateway(t *testing.T) {
	t.Parallel()
	s := startStack(t, "RATE_LIMIT=on", authTrustsTheGateway)
	a, b := newBrowserFrom(t, s.URL, "127.0.0.2"), newBrowserFrom(t, s.URL, "127.0.0.3")
	b.signUp("Bob", "bob@example.com")

	for i := 0; i < 4; i++ {
		status, body, _ := a.do("POST", "/api/auth/sign-in/email", `{"email":"alice@example.com","password":"wrong-password"}`,
			map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i+1)})
		want := http.StatusUnauthorized
		if i == 3 {
			want = http.StatusTooManyRequests // A's own bucket, forged headers or not
		}
		if status != want {
			t.Fatalf("client A's sign-in %d: %d %s, want %d", i+1, status, body, want)
		}
	}
	if status, body, _ := b.do("POST", "/api/auth/sign-in/email", `{"email":"bob@example.com","password":"password123"}`, nil); status != http.StatusOK {
		t.Fatalf("client B's correct sign-in after client A's three wrong ones: %d %s, want 200", status, body)
	}
}

// TestAnonymousTokenFloodThroughTheGateway: 100 anonymous GET
// /api/auth/token through the gateway used to use up the bucket the
// gateway's own token exchanges were counted in, and every cookie user's
// tasks requests answered 502. The exchange is counted per session, so
// users behind the same address as the flood (a NAT) keep working too.
func TestAnonymousTokenFloodThroughTheGateway(t *testing.T) {
	t.Parallel()
	s := startStack(t, "RATE_LIMIT=on", "RATE_LIMIT_MAX=20", authTrustsTheGateway)
	sameAddress, other := newBrowserFrom(t, s.URL, "127.0.0.2"), newBrowserFrom(t, s.URL, "127.0.0.3")
	sameAddress.signUp("Nat", "nat@example.com")
	other.signUp("Olga", "olga@example.com")

	flood := newBrowserFrom(t, s.URL, "127.0.0.2")
	limited := 0
	for i := 0; i < 100; i++ {
		if status, _, _ := flood.do("GET", "/api/auth/token", "", nil); status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("100 anonymous /token calls were never limited")
	}
	for name, u := range map[string]*browserLike{"same address as the flood": sameAddress, "another address": other} {
		if status, body, _ := u.do("GET", "/api/tasks", "", nil); status != http.StatusOK {
			t.Errorf("%s: GET /api/tasks after the flood = %d %s, want 200", name, status, body)
		}
	}
}

// TestIngressChainReachesAuth: behind an ingress the gateway trusts, auth
// (trusting both) counts the address the ingress saw, so two clients of
// one ingress are two buckets.
func TestIngressChainReachesAuth(t *testing.T) {
	t.Parallel()
	const ingress = "127.0.0.4"
	s := startStackWith(t, map[string]string{"TRUSTED_PROXIES": ingress},
		"RATE_LIMIT=on", "TRUSTED_PROXIES=127.0.0.1,"+ingress)
	lb := newBrowserFrom(t, s.URL, ingress)
	wrong := `{"email":"alice@example.com","password":"wrong-password"}`
	for i := 0; i < 3; i++ {
		if status, body, _ := lb.do("POST", "/api/auth/sign-in/email", wrong, map[string]string{"X-Forwarded-For": "forged, 203.0.113.1"}); status != 401 {
			t.Fatalf("client 1 via the ingress, attempt %d: %d %s", i+1, status, body)
		}
	}
	if status, _, _ := lb.do("POST", "/api/auth/sign-in/email", wrong, map[string]string{"X-Forwarded-For": "other-forgery, 203.0.113.1"}); status != 429 {
		t.Errorf("client 1's fourth attempt: %d, want 429", status)
	}
	if status, body, _ := lb.do("POST", "/api/auth/sign-in/email", wrong, map[string]string{"X-Forwarded-For": "203.0.113.2"}); status != 401 {
		t.Errorf("client 2 via the same ingress: %d %s, want 401 (its own bucket)", status, body)
	}
}
