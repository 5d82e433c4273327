package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/observe/observetest"
	"github.com/latchid/latch/pkg/testdb"
)

func TestAuthMetricsMoveWithTraffic(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	before := observetest.Scrape(t, ts.base)

	cookie := ts.signUp("metrics@example.com", "password123").sessionCookie(t)
	dup := ts.do(req{method: "POST", path: "/api/auth/sign-up/email", body: `{"name":"x","email":"metrics@example.com","password":"password123"}`})
	wrong := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"metrics@example.com","password":"wrong-password"}`})
	right := ts.do(req{method: "POST", path: "/api/auth/sign-in/email", body: `{"email":"metrics@example.com","password":"password123"}`})
	tok := ts.do(req{method: "GET", path: "/api/auth/token", headers: map[string]string{"Cookie": cookie}})
	out := ts.do(req{method: "POST", path: "/api/auth/sign-out", body: `{}`, headers: map[string]string{"Cookie": cookie}})
	if dup.status/100 != 4 || wrong.status != 401 || right.status != 200 || tok.status != 200 || out.status != 200 {
		t.Fatalf("statuses: duplicate %d, wrong password %d, sign-in %d, token %d, sign-out %d", dup.status, wrong.status, right.status, tok.status, out.status)
	}
	// `auth keys rotate`, as an operator runs it: another process's Issuer over the same database.
	env := map[string]string{"DATABASE_URL": ts.dsn, "BETTER_AUTH_SECRET": testSecret, "BETTER_AUTH_URL": ts.base, "LATCH_DATA_DIR": t.TempDir()}
	var stdout, stderr strings.Builder
	if err := run(context.Background(), []string{"keys", "rotate"}, func(k string) string { return env[k] }, &stdout, &stderr); err != nil {
		t.Fatalf("keys rotate: %v\n%s", err, stderr.String())
	}
	after := observetest.Scrape(t, ts.base)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"auth_sign_ups_total", []string{"service", "auth", "outcome", "success"}, 1},
		{"auth_sign_ups_total", []string{"outcome", "rejected"}, 1},
		{"auth_sign_ins_total", []string{"outcome", "invalid_credentials"}, 1},
		{"auth_sign_ins_total", []string{"outcome", "success"}, 1},
		{"auth_sessions_created_total", nil, 2},
		{"auth_session_revocations_total", []string{"kind", "sign_out"}, 1},
		{"auth_tokens_issued_total", []string{"result", "ok"}, 1},
		{"http_requests_total", []string{"route", "/api/auth/sign-in/email", "method", "POST", "status", "401"}, 1},
		{"http_request_duration_seconds", []string{"route", "/api/auth/token", "method", "GET"}, 1},
	} {
		if got := after.Value(c.name, c.labels...) - before.Value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// The serving process sees the other process's rotation in the key gauge.
	if got := after.Value("auth_signing_keys", "state", "pending"); got != 1 {
		t.Errorf("auth_signing_keys{state=pending} = %v after a rotation, want 1", got)
	}
	if age := after.Value("auth_signing_key_newest_age_seconds"); age > 5 {
		t.Errorf("newest key age %v s right after a rotation", age)
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "go_sql_in_use_connections", "auth_signing_keys_created_total", "auth_expired_rows_deleted_total"} {
		if !after.Has(name) {
			t.Errorf("%s is not exported", name)
		}
	}
}

func TestReadinessFollowsTheDatabase(t *testing.T) {
	t.Parallel()
	real := testdb.New(t)
	u, _ := url.Parse(real)
	proxy := newTCPProxy(t, u.Host)
	proxied := *u
	proxied.Host = proxy.addr
	ts := startAuth(t, map[string]string{"DATABASE_URL": proxied.String(), "ADMIN_DATABASE_URL": real})

	probe := func(path string) (int, string) {
		r := ts.do(req{method: "GET", path: path})
		return r.status, string(r.body)
	}
	if code, body := probe("/readyz"); code != 200 || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("/readyz before the outage = %d %s", code, body)
	}
	proxy.cut()
	start := time.Now()
	code, body := probe("/readyz")
	if code != 503 || !strings.Contains(body, `"database":"failing"`) {
		t.Errorf("/readyz during the outage = %d %s, want 503 naming the database", code, body)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("/readyz took %v during the outage; a probe must answer within its timeout", took)
	}
	if code, _ := probe("/healthz"); code != 200 {
		t.Errorf("/healthz during the outage = %d: the process is alive and must not be restarted", code)
	}
	proxy.restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := probe("/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d %s 10 s after the database came back", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
