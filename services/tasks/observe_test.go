package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/observe/observetest"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsMoveWithTraffic(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	token := is.token("metrics-user")
	created := ts.create(token, `{"title":"count me"}`)
	id := fmt.Sprint(created["id"])

	before := observetest.Scrape(t, ts.base)
	for range 3 {
		if r := ts.call(token, "GET", "/api/tasks/"+id, ""); r.status != 200 {
			t.Fatalf("get: %d %s", r.status, r.body)
		}
	}
	if r := ts.call("not.a.jwt", "GET", "/api/tasks", ""); r.status != 401 {
		t.Fatalf("bad token: %d", r.status)
	}
	ts.call(token, "GET", "/no/such/path/"+id+"x", "")
	after := observetest.Scrape(t, ts.base)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"http_requests_total", []string{"service", "tasks", "route", "/api/tasks/:id", "method", "GET", "status", "200"}, 3},
		{"http_request_duration_seconds", []string{"route", "/api/tasks/:id", "method", "GET"}, 3},
		{"http_requests_total", []string{"route", "/api/tasks", "status", "401"}, 1},
		{"http_requests_total", []string{"route", "unmatched", "status", "404"}, 1},
		// the unmatched path is not authenticated: three accepted, one rejected
		{"authn_tokens_total", []string{"result", "accepted"}, 3},
		{"authn_tokens_total", []string{"result", "rejected", "reason", "malformed"}, 1},
		{"authn_verify_duration_seconds", nil, 4},
	} {
		got := after.Value(c.name, c.labels...) - before.Value(c.name, c.labels...)
		if got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, route := range after.LabelValues("http_requests_total", "route") {
		if strings.Contains(route, id) {
			t.Errorf("a raw path became a route label: %q", route)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "go_sql_open_connections", "authn_jwks_refresh_total"} {
		if !after.Has(name) {
			t.Errorf("%s is not exported", name)
		}
	}
	if after.Value("go_sql_max_open_connections", "db_name", "tasks") <= 0 {
		t.Error("the pool's max open connections is not exported for db_name=tasks")
	}
	// The reads go straight to pgx: its pool, not database/sql, sees them.
	if got := after.Value("pgxpool_acquires_total", "db_name", "tasks") - before.Value("pgxpool_acquires_total", "db_name", "tasks"); got < 3 {
		t.Errorf("pgxpool_acquires_total moved by %v for three reads", got)
	}
	if after.Value("pgxpool_max_conns", "db_name", "tasks") <= 0 {
		t.Error("the pgx pool's size is not exported for db_name=tasks")
	}
	if after.Value("authn_jwks_refresh_total", "source", "http", "result", "ok") < 1 {
		t.Error("the first JWKS fetch was not counted")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	if code, body := get(t, ts.base+"/healthz"); code != 200 || !strings.Contains(body, `"ok"`) {
		t.Errorf("/healthz = %d %s", code, body)
	}
	code, body := get(t, ts.base+"/readyz")
	if code != 200 {
		t.Errorf("/readyz = %d %s, want 200", code, body)
	}
	for _, check := range []string{`"database":"ok"`, `"jwks":"ok"`, `"redis":"ok"`} {
		if !strings.Contains(body, check) {
			t.Errorf("/readyz body %s lacks %s", body, check)
		}
	}

	// No JWKS reachable: alive, but not ready for traffic it would refuse.
	dead := newIssuer(t)
	dead.jwks.Close()
	cold := startTasks(t, dead, nil)
	if code, _ := get(t, cold.base+"/healthz"); code != 200 {
		t.Errorf("/healthz without JWKS = %d, want 200", code)
	}
	code, body = get(t, cold.base+"/readyz")
	if code != 503 || !strings.Contains(body, `"jwks":"failing"`) {
		t.Errorf("/readyz without JWKS = %d %s, want 503 naming jwks", code, body)
	}
	if strings.Contains(body, "127.0.0.1") || strings.Contains(body, "dial") {
		t.Errorf("/readyz leaks error details: %s", body)
	}

	// Redis gone: verification goes on from the process's copy, so the
	// replica stays ready and says it is degraded.
	noRedis := startTasks(t, is, map[string]string{"REDIS_URL": "redis://127.0.0.1:1/0"})
	code, body = get(t, noRedis.base+"/readyz")
	if code != 200 || !strings.Contains(body, `"redis":"degraded"`) {
		t.Errorf("/readyz with Redis down = %d %s, want 200 with redis degraded", code, body)
	}
}
