package router_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/forwarded"
)

// from is a client whose connections leave from a given loopback address
// (Linux routes all of 127.0.0.0/8 to lo), so one test has many peers.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, url string, header map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

// TestForwardedFor: the gateway appends its peer to X-Forwarded-For only
// when the peer is a trusted proxy (an ingress); anyone else's chain is
// replaced by the peer, so a client never passes on a forged chain as if
// a trusted proxy had written it. X-Forwarded-Proto is believed on the
// same terms. The token exchange carries the same chain as the request
// that caused it, so auth counts it for that client, not for the gateway.
func TestForwardedFor(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	auth := tokenServer(t, &calls, 15*time.Minute)
	tasks := newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL, trusted: forwarded.MustParse("127.0.0.4")})
	forged := map[string]string{"X-Forwarded-For": "198.51.100.7, 10.0.0.1", "X-Forwarded-Proto": "https"}

	get(t, from("127.0.0.5"), gw.URL+"/api/auth/ok", forged)
	get(t, from("127.0.0.4"), gw.URL+"/api/auth/ok", forged)
	got := auth.requests()
	if len(got) != 2 {
		t.Fatalf("auth saw %d requests", len(got))
	}
	checks := []struct{ name, got, want string }{
		{"untrusted peer: X-Forwarded-For", got[0].Header.Get("X-Forwarded-For"), "127.0.0.5"},
		{"untrusted peer: X-Forwarded-Proto", got[0].Header.Get("X-Forwarded-Proto"), "http"},
		{"trusted peer: X-Forwarded-For", got[1].Header.Get("X-Forwarded-For"), "198.51.100.7, 10.0.0.1, 127.0.0.4"},
		{"trusted peer: X-Forwarded-Proto", got[1].Header.Get("X-Forwarded-Proto"), "https"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	get(t, from("127.0.0.5"), gw.URL+"/api/tasks", map[string]string{"Cookie": sessionCookie, "X-Forwarded-For": "203.0.113.50"})
	var exchange *seen
	for _, r := range auth.requests() {
		if r.Path == "/api/auth/token" {
			exchange = &r
		}
	}
	if exchange == nil {
		t.Fatal("no token exchange")
	}
	if xff := exchange.Header.Get("X-Forwarded-For"); xff != "127.0.0.5" {
		t.Errorf("token exchange X-Forwarded-For = %q, want the browser's address 127.0.0.5", xff)
	}
}

// TestStrictTransportSecurity: the gateway answers browsers on https with
// HSTS: TLS of its own, or X-Forwarded-Proto: https from a trusted proxy
// (TLS ends at the ingress). A client's own X-Forwarded-Proto does not
// count, and an upstream's header is not passed on beside the gateway's.
func TestStrictTransportSecurity(t *testing.T) {
	t.Parallel()
	auth := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=60")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	tasks := newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL, trusted: forwarded.MustParse("127.0.0.4")})
	https := map[string]string{"X-Forwarded-Proto": "https"}
	for _, tc := range []struct {
		name, peer, path string
		header           map[string]string
		want             string
	}{
		{"trusted proxy says https, UI", "127.0.0.4", "/", https, "max-age=31536000"},
		{"trusted proxy says https, auth", "127.0.0.4", "/api/auth/ok", https, "max-age=31536000"},
		{"trusted proxy says https, tasks", "127.0.0.4", "/api/tasks", https, "max-age=31536000"},
		{"client says https", "127.0.0.5", "/api/auth/ok", https, ""},
		{"plain http", "127.0.0.4", "/api/auth/ok", nil, ""},
	} {
		resp := get(t, from(tc.peer), gw.URL+tc.path, tc.header)
		if got := strings.Join(resp.Header.Values("Strict-Transport-Security"), " | "); got != tc.want {
			t.Errorf("%s: Strict-Transport-Security %q, want %q", tc.name, got, tc.want)
		}
	}
}
