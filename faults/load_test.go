package faults

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// client talks to the system as a user would.
type client struct {
	t      testing.TB
	http   *http.Client
	cookie string
}

func newClient(t testing.TB) *client {
	return &client{t: t, http: &http.Client{Timeout: 5 * time.Second}}
}

type result struct {
	status  int
	body    []byte
	header  http.Header
	latency time.Duration
	err     error
}

func (c *client) do(method, url, body string, headers map[string]string) result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return result{err: err}
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return result{err: err, latency: time.Since(start)}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, body: b, header: resp.Header, latency: time.Since(start)}
}

// signUp creates a user on auth and keeps its session cookie.
func (c *client) signUp(auth *service, email, password string) {
	c.t.Helper()
	r := c.do("POST", auth.base+"/api/auth/sign-up/email",
		fmt.Sprintf(`{"name":"Load User","email":%q,"password":%q}`, email, password),
		map[string]string{"Origin": auth.base})
	if r.err != nil || r.status != 200 {
		c.t.Fatalf("sign-up: %v %d %s", r.err, r.status, r.body)
	}
	for _, sc := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "better-auth.session_token=") {
			c.cookie = strings.SplitN(sc, ";", 2)[0]
		}
	}
	if c.cookie == "" {
		c.t.Fatal("sign-up set no session cookie")
	}
}

// token asks auth for a JWT with the session cookie.
func (c *client) token(auth *service) (string, error) {
	r := c.do("GET", auth.base+"/api/auth/token", "", map[string]string{"Cookie": c.cookie})
	if r.err != nil {
		return "", r.err
	}
	if r.status != 200 {
		return "", fmt.Errorf("token: %d %s", r.status, r.body)
	}
	var body struct{ Token string }
	if err := json.Unmarshal(r.body, &body); err != nil || body.Token == "" {
		return "", fmt.Errorf("token body %s", r.body)
	}
	return body.Token, nil
}

// kidOf reads the key id from a JWT's header.
func kidOf(jwt string) string {
	head, _, _ := strings.Cut(jwt, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(head)
	var h struct{ Kid string }
	_ = json.Unmarshal(raw, &h)
	return h.Kid
}

// load sends authenticated tasks requests from several workers (a create,
// then a read of what was created) until stopped, and counts the outcomes.
type load struct {
	tasks *service
	token atomic.Pointer[string]
	stopc chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	mu        sync.Mutex
	byStatus  map[int]int
	transport int
	acked     []int64 // ids of tasks the service answered 201 for
	slowest   map[int]time.Duration
	kids      map[string]int
	windows   []window
}

// window counts outcomes between two marks, to tell the outage from the rest.
type window struct {
	name     string
	byStatus map[int]int
	errors   int
}

func startLoad(tasks *service, token string, workers int) *load {
	l := &load{tasks: tasks, stopc: make(chan struct{}), byStatus: map[int]int{}, slowest: map[int]time.Duration{}, kids: map[string]int{}}
	l.setToken(token)
	l.mark("start")
	for w := range workers {
		l.wg.Go(func() { l.work(w) })
	}
	return l
}

func (l *load) setToken(tok string) { l.token.Store(&tok) }

// mark opens a new counting window.
func (l *load) mark(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.windows = append(l.windows, window{name: name, byStatus: map[int]int{}})
}

func (l *load) work(w int) {
	c := &http.Client{Timeout: 5 * time.Second}
	for i := 0; ; i++ {
		select {
		case <-l.stopc:
			return
		default:
		}
		tok := *l.token.Load()
		r := l.send(c, tok, "POST", "/api/tasks", fmt.Sprintf(`{"title":"load %d-%d"}`, w, i))
		if r.status == http.StatusCreated {
			var created struct{ ID int64 }
			if json.Unmarshal(r.body, &created) == nil && created.ID > 0 {
				l.mu.Lock()
				l.acked = append(l.acked, created.ID)
				l.mu.Unlock()
				l.send(c, tok, "GET", fmt.Sprintf("/api/tasks/%d", created.ID), "")
			}
		}
		if r.status != http.StatusCreated {
			time.Sleep(20 * time.Millisecond) // don't spin while the service is down
		}
	}
}

func (l *load) send(c *http.Client, tok, method, path, body string) result {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, l.tasks.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.Do(req)
	r := result{latency: time.Since(start), err: err}
	if err == nil {
		r.body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		r.status = resp.StatusCode
		r.latency = time.Since(start)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := &l.windows[len(l.windows)-1]
	if err != nil {
		l.transport++
		cur.errors++
		return r
	}
	l.byStatus[r.status]++
	cur.byStatus[r.status]++
	if r.latency > l.slowest[r.status] {
		l.slowest[r.status] = r.latency
	}
	if r.status/100 == 2 {
		l.kids[kidOf(tok)]++
	}
	return r
}

// stop ends the load and returns once every worker is done.
func (l *load) stop() {
	l.once.Do(func() { close(l.stopc) })
	l.wg.Wait()
}

// report prints the counts, for the test output.
func (l *load) report(t testing.TB) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Logf("load: by status %v, transport errors %d, acknowledged writes %d, slowest by status %v, successes by signing key %v",
		l.byStatus, l.transport, len(l.acked), l.slowest, l.kids)
	for _, w := range l.windows {
		t.Logf("  window %-10s by status %v, transport errors %d", w.name, w.byStatus, w.errors)
	}
}

func (l *load) window(name string) window {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, w := range l.windows {
		if w.name == name {
			return w
		}
	}
	return window{byStatus: map[int]int{}}
}

func (l *load) count(status int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.byStatus[status]
}

// successesSinceMark counts 2xx in the current window.
func (l *load) successesSinceMark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for s, c := range l.windows[len(l.windows)-1].byStatus {
		if s/100 == 2 {
			n += c
		}
	}
	return n
}

// nonSuccess lists outcomes other than 2xx across every window.
func (l *load) nonSuccess() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]int{}
	for s, c := range l.byStatus {
		if s/100 != 2 {
			out[fmt.Sprint(s)] += c
		}
	}
	if l.transport > 0 {
		out["transport"] = l.transport
	}
	return out
}
