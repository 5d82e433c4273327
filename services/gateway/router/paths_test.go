package router_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/forwarded"
)

// raw sends one request with exactly this method and request target (no
// client library cleans it) and returns the answer.
func raw(t *testing.T, gwURL, method, target string, header map[string]string) (*http.Response, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(gwURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := method + " " + target + " HTTP/1.1\r\nHost: " + strings.TrimPrefix(gwURL, "http://") + "\r\nConnection: close\r\n"
	for k, v := range header {
		req += k + ": " + v + "\r\n"
	}
	if _, err := io.WriteString(conn, req+"\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestOddPathsRouteAsBefore: the gateway routes the decoded path as sent,
// with no cleaning and no slash redirects, and forwards it unchanged, so
// the upstream routes a path's ../ and // as it would any client's. A path
// that does not start with an API prefix exactly is the UI's, whatever it
// would become once cleaned: //api/tasks is not the tasks API, and
// /api/tasks/../auth/… goes to tasks (which knows no such route), never to
// auth with the session cookie. Only RFC 9110's methods and PATCH reach an
// upstream. (These answers are the gin router's, pinned before the gateway
// left gin for plain net/http.)
func TestOddPathsRouteAsBefore(t *testing.T) {
	t.Parallel()
	auth, tasks := newUpstream(t, nil), newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL})
	const index = "<!doctype html>"
	cases := []struct {
		method, target string
		want           string // "auth", "tasks" or "ui"
		status         int
		body           string // contained in the answer
		upstreamPath   string // what the upstream got as its path
	}{
		{"GET", "//api/tasks", "ui", 200, index, ""},
		{"POST", "//api/tasks", "ui", 405, "method not allowed", ""},
		{"GET", "//api/auth/get-session", "ui", 200, index, ""},
		{"GET", "/api//tasks", "ui", 200, index, ""},
		{"GET", "/api/tasks/../auth/get-session", "tasks", 200, `{"ok":true}`, "/api/tasks/../auth/get-session"},
		{"GET", "/api/tasks/%2e%2e/auth/get-session", "tasks", 200, `{"ok":true}`, "/api/tasks/../auth/get-session"},
		{"GET", "/api/auth/../tasks", "auth", 200, `{"ok":true}`, "/api/auth/../tasks"},
		{"GET", "/api/tasks/", "tasks", 200, `{"ok":true}`, "/api/tasks/"},
		{"GET", "/api/tasks//7", "tasks", 200, `{"ok":true}`, "/api/tasks//7"},
		{"GET", "/api/%74asks", "tasks", 200, `{"ok":true}`, "/api/tasks"},
		{"GET", "/api%2Ftasks", "tasks", 200, `{"ok":true}`, "/api/tasks"},
		{"GET", "/api/tasksX", "ui", 200, index, ""},
		{"GET", "/api/tasks.json", "ui", 404, "", ""},
		{"GET", "/API/tasks", "ui", 200, index, ""},
		{"GET", "/api/auth", "ui", 200, index, ""},
		{"GET", "/api/auth/", "auth", 200, `{"ok":true}`, "/api/auth/"},
		{"GET", "/.well-known", "ui", 404, "", ""},
		{"GET", "/.well-known/jwks.json", "auth", 200, `{"ok":true}`, "/.well-known/jwks.json"},
		{"GET", "http://other.example/api/tasks", "tasks", 200, `{"ok":true}`, "/api/tasks"},
		{"HEAD", "/api/tasks", "tasks", 200, "", "/api/tasks"},
		{"OPTIONS", "/api/tasks", "tasks", 200, `{"ok":true}`, "/api/tasks"},
		{"TRACE", "/api/auth/ok", "auth", 200, `{"ok":true}`, "/api/auth/ok"},
		{"PROPFIND", "/api/tasks", "ui", 405, "method not allowed", ""},
		{"PROPFIND", "/api/auth/ok", "ui", 405, "method not allowed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			beforeAuth, beforeTasks := len(auth.requests()), len(tasks.requests())
			resp, body := raw(t, gw.URL, tc.method, tc.target, nil)
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("= %d %q, want %d containing %q", resp.StatusCode, body, tc.status, tc.body)
			}
			gotAuth, gotTasks := len(auth.requests())-beforeAuth, len(tasks.requests())-beforeTasks
			want := map[string][2]int{"auth": {1, 0}, "tasks": {0, 1}, "ui": {0, 0}}[tc.want]
			if gotAuth != want[0] || gotTasks != want[1] {
				t.Fatalf("reached auth %d and tasks %d times, want %v", gotAuth, gotTasks, want)
			}
			if tc.want == "ui" {
				if csp := resp.Header.Get("Content-Security-Policy"); csp == "" {
					t.Error("a UI answer without the UI's Content-Security-Policy")
				}
				return
			}
			up := auth
			if tc.want == "tasks" {
				up = tasks
			}
			if last := up.requests()[len(up.requests())-1]; last.Method != tc.method || last.Path != tc.upstreamPath {
				t.Errorf("upstream got %s %s, want %s %s", last.Method, last.Path, tc.method, tc.upstreamPath)
			}
		})
	}
}

// TestOddPathsCarryNoCookieToTheWrongUpstream: a session cookie on a path
// spelled to look like the other API goes where the path's prefix says,
// with that API's rules: tasks gets a JWT and never the cookie; a tasks
// write from another site is refused whatever comes after /api/tasks/.
func TestOddPathsCarryNoCookieToTheWrongUpstream(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	auth := tokenServer(t, &calls, 15*time.Minute)
	tasks := newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL})
	resp, _ := raw(t, gw.URL, "GET", "/api/tasks/../auth/get-session", map[string]string{"Cookie": sessionCookie})
	if resp.StatusCode != 200 {
		t.Fatalf("= %d", resp.StatusCode)
	}
	got := tasks.requests()[0]
	if got.Header.Get("Cookie") != "" || !strings.HasPrefix(got.Header.Get("Authorization"), "Bearer ey") {
		t.Errorf("tasks got Cookie %q and Authorization %q", got.Header.Get("Cookie"), got.Header.Get("Authorization"))
	}
	for _, r := range auth.requests() {
		if r.Path != "/api/auth/token" {
			t.Errorf("auth got %s %s", r.Method, r.Path)
		}
	}
	resp, body := raw(t, gw.URL, "POST", "/api/tasks/../auth/sign-out", map[string]string{"Cookie": sessionCookie, "Origin": "http://evil.example", "Content-Length": "0"})
	if resp.StatusCode != 403 || !strings.Contains(body, "Cross-site request refused") {
		t.Errorf("cross-site POST = %d %q, want 403", resp.StatusCode, body)
	}
}

// TestExpectContinueKeepsTheGatewaysHeaders: a request sent with Expect:
// 100-continue (curl's large uploads) gets the upstream's 100 Continue and
// then a final answer that still carries the gateway's own headers, the
// request id and HSTS, once each. httputil clears the header map after
// passing a 1xx on, which dropped them (under gin as well).
func TestExpectContinueKeepsTheGatewaysHeaders(t *testing.T) {
	t.Parallel()
	auth := newUpstream(t, nil)
	tasks := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body) // reading is what sends the 100 Continue
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	})
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL, trusted: forwarded.MustParse("127.0.0.4")})
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.4")}, Timeout: 5 * time.Second}
	client := &http.Client{Transport: &http.Transport{DialContext: d.DialContext, ExpectContinueTimeout: 5 * time.Second}, Timeout: 10 * time.Second}
	var interim []int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, _ textproto.MIMEHeader) error { interim = append(interim, code); return nil },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gw.URL+"/api/tasks", strings.NewReader(`{"title":"t"}`))
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Request-Id", "upload-1")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != `{"title":"t"}` || len(interim) == 0 || interim[0] != 100 {
		t.Fatalf("= %d %q after 1xx %v, want 100 Continue then 201 with the body", resp.StatusCode, body, interim)
	}
	if got := strings.Join(resp.Header.Values("X-Request-Id"), ","); got != "upload-1" {
		t.Errorf("X-Request-Id %q, want upload-1 once", got)
	}
	if got := strings.Join(resp.Header.Values("Strict-Transport-Security"), ","); got != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security %q, want the gateway's once", got)
	}
}
