package router_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/gateway/exchange"
	"github.com/latchid/latch/services/gateway/router"
	"github.com/latchid/latch/services/gateway/web"
)

// sessionCookie is a session cookie as auth sets it (the token "abc",
// signed); forgedCookie has the right shape and a signature auth refuses.
var (
	sessionValue  = signedcookie.EncodeValue(signedcookie.Sign("abc", "router-test-secret-0123456789abcdef"))
	sessionCookie = "better-auth.session_token=" + sessionValue
	forgedCookie  = "better-auth.session_token=" + signedcookie.EncodeValue(signedcookie.Sign("abc", "another-secret-0123456789abcdefgh"))
)

// seen is what an upstream received.
type seen struct {
	Method, Path, Query string
	Header              http.Header
}

// upstream is a real HTTP server that records requests and answers with
// answer (or 200 {"ok":true}).
type upstream struct {
	*httptest.Server
	mu     sync.Mutex
	got    []seen
	answer http.HandlerFunc
}

func newUpstream(t *testing.T, answer http.HandlerFunc) *upstream {
	u := &upstream{answer: answer}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.got = append(u.got, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone()})
		u.mu.Unlock()
		if u.answer != nil {
			u.answer(w, r)
			return
		}
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id")) // as Latch services echo it
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.got...)
}

// fakeJWT is shaped like auth's tokens; the gateway reads only exp.
func fakeJWT(sub string, exp time.Time) string {
	enc := base64.RawURLEncoding
	payload, _ := json.Marshal(map[string]any{"sub": sub, "exp": exp.Unix()})
	return enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString(payload) + "." + enc.EncodeToString([]byte("sig"))
}

// tokenServer speaks auth's GET /api/auth/token: a JWT for sessionCookie,
// 401 otherwise; it counts the calls.
func tokenServer(t *testing.T, calls *atomic.Int64, lifetime time.Duration) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/auth/token" {
			calls.Add(1)
			time.Sleep(20 * time.Millisecond) // long enough for concurrent requests to pile up
			if c, err := r.Cookie("better-auth.session_token"); err != nil || c.Value != sessionValue {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = io.WriteString(w, `{"code":"UNAUTHORIZED","message":"Unauthorized"}`)
				return
			}
			_ = json.NewEncoder(w).Encode(map[string]string{"token": fakeJWT("user-1", time.Now().Add(lifetime))})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"success":true}`)
	})
}

type gatewayOpts struct {
	auth, tasks string
	timeout     time.Duration
	frontend    []string
	tokens      *exchange.Exchanger
	retried     func(upstream string)
	trusted     forwarded.Proxies
}

// origins parses a comma-separated list of upstream replicas.
func origins(t *testing.T, list string) []*url.URL {
	t.Helper()
	var out []*url.URL
	for _, o := range strings.Split(list, ",") {
		u, err := url.Parse(o)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

func newGateway(t *testing.T, o gatewayOpts) *httptest.Server {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 5 * time.Second
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	transport := router.NewTransport(o.timeout)
	if o.tokens == nil {
		o.tokens = newExchanger(t, o.auth, nil)
	}
	h := router.New(router.Config{
		Auth:            router.NewBalancer("auth", origins(t, o.auth), transport, log, nil),
		Tasks:           router.NewBalancer("tasks", origins(t, o.tasks), transport, log, o.retried),
		FrontendOrigins: o.frontend,
		Cookies:         exchange.NewCookies(false),
		TrustedProxies:  o.trusted,
	}, o.tokens, web.Handler(web.Settings{}), log)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func newExchanger(t *testing.T, authURL string, redisURL *string) *exchange.Exchanger {
	t.Helper()
	cfg := exchange.Config{
		TokenURL: authURL + "/api/auth/token", Client: &http.Client{Timeout: 5 * time.Second, Transport: router.ForwardClient(http.DefaultTransport)},
		CacheSize: 100, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if redisURL != nil {
		cfg.Redis = testdb.Redis(t)
	}
	x, err := exchange.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func session(t *testing.T, cookieHeader string) exchange.Session {
	t.Helper()
	s, ok := exchange.NewCookies(false).Session(cookieHeader)
	if !ok {
		t.Fatalf("no session cookie in %q", cookieHeader)
	}
	return s
}

func do(t *testing.T, method, url string, header map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestRouting(t *testing.T) {
	t.Parallel()
	auth, tasks := newUpstream(t, nil), newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL})
	cases := []struct {
		method, path string
		want         string // "auth", "tasks" or "ui"
		status       int
		body         string
	}{
		{"GET", "/api/auth/get-session", "auth", 200, `{"ok":true}`},
		{"POST", "/api/auth/sign-in/email", "auth", 200, `{"ok":true}`},
		{"GET", "/.well-known/openid-configuration", "auth", 200, `{"ok":true}`},
		{"GET", "/api/tasks?completed=pending&sort=priority", "tasks", 200, `{"ok":true}`},
		{"PATCH", "/api/tasks/7/complete", "tasks", 200, `{"ok":true}`},
		{"DELETE", "/api/tasks/7", "tasks", 200, `{"ok":true}`},
		{"GET", "/", "ui", 200, "<!doctype html>"},
		{"GET", "/app.js", "ui", 200, "import"},
		{"GET", "/app-config.json", "ui", 200, `{"socialProviders":[]}`},
		{"GET", "/missing.png", "ui", 404, ""},
		{"POST", "/", "ui", 405, ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			beforeAuth, beforeTasks := len(auth.requests()), len(tasks.requests())
			resp, body := do(t, tc.method, gw.URL+tc.path, nil, "")
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.body) {
				t.Fatalf("%s %s = %d %q, want %d containing %q", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.body)
			}
			gotAuth, gotTasks := len(auth.requests())-beforeAuth, len(tasks.requests())-beforeTasks
			want := map[string][2]int{"auth": {1, 0}, "tasks": {0, 1}, "ui": {0, 0}}[tc.want]
			if gotAuth != want[0] || gotTasks != want[1] {
				t.Fatalf("reached auth %d and tasks %d times, want %v", gotAuth, gotTasks, want)
			}
			if tc.want == "ui" {
				return
			}
			up := auth
			if tc.want == "tasks" {
				up = tasks
			}
			last := up.requests()[len(up.requests())-1]
			u, _ := url.Parse(tc.path)
			if last.Method != tc.method || last.Path != u.Path || last.Query != u.RawQuery {
				t.Fatalf("upstream got %s %s?%s, want %s %s", last.Method, last.Path, last.Query, tc.method, tc.path)
			}
		})
	}
}

func TestHeaderHygiene(t *testing.T) {
	t.Parallel()
	auth := newUpstream(t, nil)
	tasks := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Upstream-Hop")
		w.Header().Set("X-Upstream-Hop", "secret")
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.Header().Set("X-Total-Count", "3")
		_, _ = io.WriteString(w, "[]")
	})
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL})
	gwHost := strings.TrimPrefix(gw.URL, "http://")

	resp, _ := do(t, "GET", gw.URL+"/api/tasks", map[string]string{
		"Authorization":       "Bearer client-token",
		"Cookie":              sessionCookie,
		"Connection":          "X-Client-Hop",
		"X-Client-Hop":        "1",
		"Keep-Alive":          "timeout=5",
		"Proxy-Authorization": "Basic eDp5",
		"X-Forwarded-For":     "203.0.113.9",
		"X-Forwarded-Host":    "evil.example",
		"X-Request-Id":        "req-from-client",
	}, "")
	got := tasks.requests()[0].Header
	checks := []struct{ name, got, want string }{
		{"listed hop-by-hop header", got.Get("X-Client-Hop"), ""},
		{"Keep-Alive", got.Get("Keep-Alive"), ""},
		{"Proxy-Authorization", got.Get("Proxy-Authorization"), ""},
		{"Cookie to tasks", got.Get("Cookie"), ""},
		{"X-Forwarded-For (client's forged value dropped)", got.Get("X-Forwarded-For"), "127.0.0.1"},
		{"X-Forwarded-Host", got.Get("X-Forwarded-Host"), gwHost},
		{"X-Forwarded-Proto", got.Get("X-Forwarded-Proto"), "http"},
		{"X-Request-Id upstream", got.Get("X-Request-Id"), "req-from-client"},
		{"Authorization untouched", got.Get("Authorization"), "Bearer client-token"},
		{"response hop-by-hop header", resp.Header.Get("X-Upstream-Hop"), ""},
		{"response X-Total-Count", resp.Header.Get("X-Total-Count"), "3"},
		{"response X-Request-Id once", strings.Join(resp.Header.Values("X-Request-Id"), ","), "req-from-client"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}

	// Without an id the gateway makes one, sends it upstream and returns it.
	resp, _ = do(t, "GET", gw.URL+"/api/auth/ok", nil, "")
	id := resp.Header.Get("X-Request-Id")
	if id == "" || auth.requests()[0].Header.Get("X-Request-Id") != id {
		t.Errorf("generated request id %q, upstream saw %q", id, auth.requests()[0].Header.Get("X-Request-Id"))
	}
	if got := auth.requests()[0].Header.Get("Cookie"); got != "" {
		t.Errorf("auth got a cookie it was not sent: %q", got)
	}
}

// TestStreaming: the gateway passes a response on as it comes, so a client
// reads the first chunk while the upstream is still writing.
func TestStreaming(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	tasks := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "second\n")
	})
	gw := newGateway(t, gatewayOpts{auth: tasks.URL, tasks: tasks.URL})
	resp, err := http.Get(gw.URL + "/api/tasks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 6)
	done := make(chan error, 1)
	go func() { _, err := io.ReadFull(resp.Body, buf); done <- err }()
	select {
	case err := <-done:
		if err != nil || string(buf) != "first\n" {
			t.Fatalf("first chunk = %q, %v", buf, err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("first chunk did not arrive before the upstream finished: the body is buffered")
	}
	close(release)
	rest, _ := io.ReadAll(resp.Body)
	if string(rest) != "second\n" {
		t.Fatalf("rest = %q", rest)
	}
}

func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	slow := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	cases := []struct {
		name, auth, tasks, path string
		header                  map[string]string
		status                  int
		body                    string
	}{
		{"tasks down", slow.URL, down, "/api/tasks", nil, 502, `{"detail":"The tasks service is unavailable"}`},
		{"auth down", down, slow.URL, "/api/auth/get-session", nil, 502, `{"code":"BAD_GATEWAY","message":"The auth service is unavailable"}`},
		{"tasks too slow", down, slow.URL, "/api/tasks", nil, 504, `{"detail":"The tasks service did not answer in time"}`},
		{"auth too slow", slow.URL, down, "/api/auth/get-session", nil, 504, `{"code":"GATEWAY_TIMEOUT","message":"The auth service did not answer in time"}`},
		{"token exchange with auth down", down, slow.URL, "/api/tasks", map[string]string{"Cookie": sessionCookie}, 502, `{"detail":"The auth service is unavailable"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gw := newGateway(t, gatewayOpts{auth: tc.auth, tasks: tc.tasks, timeout: 300 * time.Millisecond})
			start := time.Now()
			resp, body := do(t, "GET", gw.URL+tc.path, tc.header, "")
			if resp.StatusCode != tc.status || strings.TrimSpace(body) != tc.body {
				t.Fatalf("= %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v: the upstream timeout was not applied", d)
			}
		})
	}
}

func TestTokenExchange(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	auth := tokenServer(t, &calls, 15*time.Minute)
	tasks := newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL})

	// 100 concurrent requests of one session: one call to auth.
	var wg sync.WaitGroup
	statuses := make(chan int, 100)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := do(t, "GET", gw.URL+"/api/tasks", map[string]string{"Cookie": sessionCookie + "; other=1"}, "")
			statuses <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Fatalf("a concurrent request got %d", s)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("auth /token called %d times for 100 concurrent requests of one session, want 1", n)
	}
	for _, r := range tasks.requests() {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ey") {
			t.Fatalf("tasks got Authorization %q", r.Header.Get("Authorization"))
		}
	}
	// The auth call carried the session cookie alone, and a request id.
	tokenReq := auth.requests()[0]
	if tokenReq.Header.Get("Cookie") != sessionCookie || tokenReq.Header.Get("X-Request-Id") == "" {
		t.Errorf("token request headers: %v", tokenReq.Header)
	}

	// A Bearer request passes untouched and costs auth nothing.
	do(t, "GET", gw.URL+"/api/tasks", map[string]string{"Cookie": sessionCookie, "Authorization": "Bearer mine"}, "")
	if last := tasks.requests()[len(tasks.requests())-1]; last.Header.Get("Authorization") != "Bearer mine" {
		t.Errorf("Bearer request reached tasks with %q", last.Header.Get("Authorization"))
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("a Bearer request called auth (%d calls)", n)
	}

	// Sign-out through the gateway evicts: the next request asks auth again.
	resp, _ := do(t, "POST", gw.URL+"/api/auth/sign-out", map[string]string{"Cookie": sessionCookie, "Origin": gw.URL}, "")
	if resp.StatusCode != 200 {
		t.Fatalf("sign-out = %d", resp.StatusCode)
	}
	do(t, "GET", gw.URL+"/api/tasks", map[string]string{"Cookie": sessionCookie}, "")
	if n := calls.Load(); n != 2 {
		t.Errorf("after sign-out auth was called %d times in all, want 2 (the cache was not evicted)", n)
	}

	// A session auth does not know: 401 in the tasks API's shape, tasks never reached.
	before := len(tasks.requests())
	resp, body := do(t, "GET", gw.URL+"/api/tasks", map[string]string{"Cookie": forgedCookie}, "")
	if resp.StatusCode != 401 || strings.TrimSpace(body) != `{"detail":"Not authenticated"}` || resp.Header.Get("WWW-Authenticate") != "Bearer" {
		t.Errorf("unknown session = %d %s (WWW-Authenticate %q)", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
	}
	if len(tasks.requests()) != before {
		t.Error("a request with an unknown session reached tasks")
	}
}

// TestTokenLifetime: a cached token is used until Margin before exp, then
// fetched again.
func TestTokenLifetime(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	auth := tokenServer(t, &calls, exchange.Margin+time.Second) // cacheable for one second
	now := time.Now()
	var clock atomic.Int64
	clock.Store(now.UnixNano())
	x, err := exchange.New(exchange.Config{
		TokenURL: auth.URL + "/api/auth/token", Client: http.DefaultClient, CacheSize: 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:    func() time.Time { return time.Unix(0, clock.Load()) },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if _, err := x.Token(ctx, session(t, sessionCookie)); err != nil {
			t.Fatal(err)
		}
		if calls.Load() != 1 {
			t.Fatalf("call %d within the lifetime asked auth again", i)
		}
	}
	clock.Store(now.Add(2 * time.Second).UnixNano())
	if _, err := x.Token(ctx, session(t, sessionCookie)); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 {
		t.Fatalf("after the token's cache lifetime auth was called %d times, want 2", calls.Load())
	}
}

// TestSharedCache: two gateway replicas on one Redis ask auth once.
func TestSharedCache(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	auth := tokenServer(t, &calls, 15*time.Minute)
	tasks := newUpstream(t, nil)
	redisURL := testdb.RedisURL()
	cookie := fmt.Sprintf("%s; run=%d", sessionCookie, time.Now().UnixNano())
	a := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL, tokens: newExchanger(t, auth.URL, &redisURL)})
	b := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL, tokens: newExchanger(t, auth.URL, &redisURL)})
	// Start clean: another run of this test may have left the key.
	a0 := newExchanger(t, auth.URL, &redisURL)
	a0.Evict(context.Background(), session(t, sessionCookie))
	for _, gw := range []string{a.URL, b.URL, a.URL, b.URL} {
		if resp, _ := do(t, "GET", gw+"/api/tasks", map[string]string{"Cookie": cookie}, ""); resp.StatusCode != 200 {
			t.Fatalf("= %d", resp.StatusCode)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("two replicas sharing Redis called auth %d times, want 1", n)
	}
	// Sign-out on one replica evicts from Redis: the other asks auth again
	// once its own short-lived copy is gone.
	do(t, "POST", a.URL+"/api/auth/sign-out", map[string]string{"Cookie": cookie, "Origin": a.URL}, "")
	time.Sleep(exchange.LocalTTL + 100*time.Millisecond)
	do(t, "GET", b.URL+"/api/tasks", map[string]string{"Cookie": cookie}, "")
	if n := calls.Load(); n != 2 {
		t.Fatalf("after sign-out on replica a, replica b still used the cached token (auth calls %d, want 2)", n)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	auth := tokenServer(t, &calls, 15*time.Minute)
	tasks := newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL, frontend: []string{"http://localhost:5173"}})
	refused := `{"detail":"Cross-site request refused: the Origin is not this site"}`
	cases := []struct {
		name, method string
		header       map[string]string
		status       int
	}{
		{"same origin", "POST", map[string]string{"Origin": gw.URL}, 200},
		{"FRONTEND_URL origin", "PATCH", map[string]string{"Origin": "http://localhost:5173"}, 200},
		{"same-origin Referer without Origin", "DELETE", map[string]string{"Referer": gw.URL + "/tasks"}, 200},
		{"another site", "POST", map[string]string{"Origin": "http://evil.example"}, 403},
		{"another site's Referer", "POST", map[string]string{"Referer": "http://evil.example/page"}, 403},
		{"no Origin or Referer", "DELETE", nil, 403},
		{"null Origin", "PATCH", map[string]string{"Origin": "null"}, 403},
		{"same host, other scheme", "POST", map[string]string{"Origin": strings.Replace(gw.URL, "http:", "https:", 1)}, 403},
		{"GET needs no Origin", "GET", nil, 200},
		{"Bearer request is not cookie-authenticated", "POST", map[string]string{"Origin": "http://evil.example", "Authorization": "Bearer x"}, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"Cookie": sessionCookie}
			for k, v := range tc.header {
				h[k] = v
			}
			before := len(tasks.requests())
			resp, body := do(t, tc.method, gw.URL+"/api/tasks", h, "{}")
			if resp.StatusCode != tc.status {
				t.Fatalf("= %d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == 403 {
				if strings.TrimSpace(body) != refused {
					t.Errorf("body = %s", body)
				}
				if len(tasks.requests()) != before {
					t.Error("a refused request reached tasks")
				}
			}
		})
	}
}
