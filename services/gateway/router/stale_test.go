package router_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/services/gateway/exchange"
	"github.com/latchid/latch/services/gateway/router"
	"github.com/latchid/latch/services/gateway/web"
)

// rotatingTokens hands out "old" until Evict, then "new"; refuse makes the
// next exchange fail as auth does for an ended session.
type rotatingTokens struct {
	mu      sync.Mutex
	current string
	evicts  int
	refuse  bool
}

func (r *rotatingTokens) Token(context.Context, exchange.Session) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refuse && r.current == "new" {
		return "", exchange.ErrUnauthenticated
	}
	return r.current, nil
}

func (r *rotatingTokens) Evict(context.Context, exchange.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evicts++
	r.current = "new"
}

// The race this closes: a tasks replica hears a member event from the feed
// a moment before the gateway, and refuses the gateway's cached token with
// the old role (401 "Token revoked"). The gateway exchanges a fresh token
// and sends the request again, body included, so the browser gets the
// answer for the session as it is now (here 403: demoted), not a 401 that
// reads as "signed out". A session that really ended gets no new token and
// keeps the 401; a client's own Authorization is never retried.
func TestAStaleExchangedTokenIsExchangedAgainOnce(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got []string // "<auth> <method> <body>"
	tasks := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+r.Method+" "+string(b))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "Bearer new" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"detail":"Token revoked"}`)
			return
		}
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"detail":"Only an admin may change another member's task"}`)
	})
	auth := newUpstream(t, nil)
	gateway := func(tokens router.Tokens) *httptest.Server {
		log := slog.New(slog.DiscardHandler)
		transport := router.NewTransport(5 * time.Second)
		h := router.New(router.Config{
			Auth:    router.NewBalancer("auth", origins(t, auth.URL), transport, log, nil),
			Tasks:   router.NewBalancer("tasks", origins(t, tasks.URL), transport, log, nil),
			Cookies: exchange.NewCookies(false),
		}, tokens, web.Handler(web.Settings{}), log)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	reset := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := got
		got = nil
		return out
	}

	tokens := &rotatingTokens{current: "old"}
	gw := gateway(tokens)
	resp, body := do(t, "PATCH", gw.URL+"/api/tasks/7", map[string]string{"Cookie": sessionCookie, "Origin": gw.URL, "Content-Type": "application/json"}, `{"title":"x"}`)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "admin") {
		t.Errorf("stale token: %d %s, want the fresh token's 403", resp.StatusCode, body)
	}
	if seen := reset(); len(seen) != 2 || seen[0] != `Bearer old PATCH {"title":"x"}` || seen[1] != `Bearer new PATCH {"title":"x"}` {
		t.Errorf("tasks saw %q, want the same PATCH with the old then the new token", seen)
	}
	if tokens.evicts != 1 {
		t.Errorf("evicted %d times, want 1", tokens.evicts)
	}

	// A session that ended: no fresh token, the 401 stands, one request.
	ended := &rotatingTokens{current: "old", refuse: true}
	gw = gateway(ended)
	resp, body = do(t, "DELETE", gw.URL+"/api/tasks/7", map[string]string{"Cookie": sessionCookie, "Origin": gw.URL}, "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Token revoked") {
		t.Errorf("ended session: %d %s, want the 401", resp.StatusCode, body)
	}
	if seen := reset(); len(seen) != 1 {
		t.Errorf("ended session: tasks saw %q, want one request", seen)
	}

	// A client's own token: passed through, never exchanged or retried.
	own := &rotatingTokens{current: "old"}
	gw = gateway(own)
	resp, _ = do(t, "GET", gw.URL+"/api/tasks", map[string]string{"Authorization": "Bearer mine"}, "")
	if seen := reset(); resp.StatusCode != http.StatusUnauthorized || len(seen) != 1 || own.evicts != 0 {
		t.Errorf("own token: %d, tasks saw %q, evicts %d; want one 401, no retry", resp.StatusCode, seen, own.evicts)
	}

	// Still refused with the fresh token: one retry only.
	always := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	})
	tasks = always
	gw = gateway(&rotatingTokens{current: "old"})
	resp, _ = do(t, "GET", gw.URL+"/api/tasks", map[string]string{"Cookie": sessionCookie}, "")
	if seen := reset(); resp.StatusCode != http.StatusUnauthorized || len(seen) != 2 {
		t.Errorf("refused twice: %d, tasks saw %q; want the second 401 after exactly one retry", resp.StatusCode, seen)
	}

	// A body over the replay limit is streamed once, not kept.
	tasks = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = append(got, r.Header.Get("Authorization")+" "+strings.Repeat("x", min(int(n), 1)))
		mu.Unlock()
		w.WriteHeader(http.StatusUnauthorized)
	})
	gw = gateway(&rotatingTokens{current: "old"})
	resp, _ = do(t, "POST", gw.URL+"/api/tasks", map[string]string{"Cookie": sessionCookie, "Origin": gw.URL}, strings.Repeat("a", 70<<10))
	if seen := reset(); resp.StatusCode != http.StatusUnauthorized || len(seen) != 1 {
		t.Errorf("large body: %d, tasks saw %q; want one request", resp.StatusCode, seen)
	}
}
