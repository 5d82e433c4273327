package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A request in flight when SIGTERM arrives is answered; new connections
// are refused from then on; the process exits 0.
func TestSIGTERMDrainsInFlightRequests(t *testing.T) {
	s := startSystem(t, options{})
	c := newClient(t)
	c.signUp(s.auth, "drain@example.com", "drain-password-123")
	tok, err := c.token(s.auth)
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(s.tasks.base, "http://")
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"title":"written across a shutdown"}`
	half := len(body) / 2
	// Headers and half the body: the request is in flight.
	fmt.Fprintf(conn, "POST /api/tasks HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, tok, len(body), body[:half])
	time.Sleep(200 * time.Millisecond)

	if err := s.tasks.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "tasks to stop accepting connections", func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	select {
	case <-s.tasks.done:
		t.Fatal("tasks exited with a request in flight")
	default:
	}

	if _, err := conn.Write([]byte(body[half:])); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("the in-flight request = %d, want 201", resp.StatusCode)
	}
	select {
	case <-s.tasks.done:
	case <-time.After(10 * time.Second):
		t.Fatal("tasks did not exit 10 s after its last request")
	}
	if s.tasks.err != nil {
		t.Errorf("tasks exited with %v after SIGTERM, want 0", s.tasks.err)
	}
	if n := s.pg.count("tasks", "SELECT count(*) FROM tasks WHERE title = 'written across a shutdown'"); n != 1 {
		t.Errorf("the in-flight write left %d rows, want 1", n)
	}
	if !strings.Contains(s.tasks.logs.String(), `"shutting down"`) {
		t.Errorf("no shutdown line in the log:\n%s", tail(s.tasks.logs.String(), 10))
	}
}

// `auth migrate` and `tasks migrate` from several replicas at once, on a
// fresh database: all succeed and each migration is applied once.
func TestConcurrentMigrations(t *testing.T) {
	pg := startPostgres(t)
	const replicas = 4
	for _, svc := range []struct {
		bin, db, table string
	}{
		{bins.auth, "auth", "latch_auth_migrations"},
		{bins.tasks, "tasks", "latch_tasks_migrations"},
	} {
		dsn := pg.createDB(svc.db)
		var wg sync.WaitGroup
		outs := make([]string, replicas)
		errs := make([]error, replicas)
		for i := range replicas {
			wg.Go(func() {
				cmd := exec.Command(svc.bin, "migrate")
				cmd.Env = []string{"DATABASE_URL=" + dsn, "LATCH_DATA_DIR=" + t.TempDir()}
				out, err := cmd.CombinedOutput()
				outs[i], errs[i] = string(out), err
			})
		}
		wg.Wait()
		applied := 0
		for i := range replicas {
			if errs[i] != nil {
				t.Errorf("%s migrate replica %d: %v\n%s", svc.db, i, errs[i], outs[i])
			}
			applied += strings.Count(outs[i], "applied ")
		}
		recorded := pg.count(svc.db, "SELECT count(*) FROM "+svc.table+" WHERE version_id > 0")
		t.Logf("%s: %d concurrent migrate processes applied %d migration(s) between them; %d recorded", svc.db, replicas, applied, recorded)
		if applied == 0 || applied != recorded {
			t.Errorf("%s: %d migrations applied by the replicas, %d recorded: each must be applied exactly once", svc.db, applied, recorded)
		}
	}
}

// A user's whole path (sign-up, sign-in, token, tasks, sign-out) leaves one
// JSON line per request, tied together by the request id, and nothing a
// reader of the logs could use to act as the user or the service.
func TestLogsCarryRequestIDsAndNoSecrets(t *testing.T) {
	s := startSystem(t, options{})
	c := newClient(t)
	const email, password = "logs@example.com", "logs-password-Secret-9"
	const rid = "req-from-the-gateway-0001"
	origin := map[string]string{"Origin": s.auth.base, "X-Request-Id": rid}

	c.signUp(s.auth, email, password)
	r := c.do("POST", s.auth.base+"/api/auth/sign-in/email", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), origin)
	if r.status != 200 {
		t.Fatalf("sign-in: %d %s", r.status, r.body)
	}
	if got := r.header.Get("X-Request-Id"); got != rid {
		t.Errorf("auth answered X-Request-Id %q, want the incoming %q", got, rid)
	}
	var cookies []string
	for _, sc := range r.header.Values("Set-Cookie") {
		cookies = append(cookies, strings.SplitN(sc, ";", 2)[0])
	}
	c.cookie = cookies[0]
	tok, err := c.token(s.auth)
	if err != nil {
		t.Fatal(err)
	}
	bearer := map[string]string{"Authorization": "Bearer " + tok, "X-Request-Id": rid}
	if r := c.do("POST", s.tasks.base+"/api/tasks", `{"title":"logged"}`, bearer); r.status != 201 || r.header.Get("X-Request-Id") != rid {
		t.Fatalf("create: %d, X-Request-Id %q", r.status, r.header.Get("X-Request-Id"))
	}
	c.do("GET", s.tasks.base+"/api/tasks", "", bearer)
	c.do("GET", s.tasks.base+"/api/tasks", "", map[string]string{"Authorization": "Bearer " + tok + "x"}) // a rejected token is not logged either
	c.do("POST", s.auth.base+"/api/auth/sign-in/email", fmt.Sprintf(`{"email":%q,"password":"wrong-%s"}`, email, password), origin)
	c.do("POST", s.auth.base+"/api/auth/sign-out", `{}`, map[string]string{"Origin": s.auth.base, "Cookie": c.cookie})
	s.auth.stop()
	s.tasks.stop()

	secrets := map[string]string{"password": password, "JWT": tok, "JWT signature": tok[strings.LastIndex(tok, ".")+1:],
		"signing secret": authSecret, "database password": dbPassword}
	for i, ck := range cookies {
		_, value, _ := strings.Cut(ck, "=")
		secrets[fmt.Sprintf("cookie %d value", i)] = value
		if raw, _, ok := strings.Cut(value, "."); ok { // the session token inside a signed cookie
			secrets[fmt.Sprintf("cookie %d token", i)] = raw
		}
	}
	for _, svc := range []*service{s.auth, s.tasks} {
		logs := svc.logs.String()
		for what, secret := range secrets {
			if secret != "" && strings.Contains(logs, secret) {
				t.Errorf("the %s log contains the %s", svc.name, what)
			}
		}
		lines, withRID, withUser := 0, 0, 0
		for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s log line is not JSON: %q", svc.name, line)
				continue
			}
			if rec["msg"] != "request" {
				continue
			}
			lines++
			for _, k := range []string{"request_id", "route", "status", "latency_ms", "method", "service"} {
				if _, ok := rec[k]; !ok {
					t.Errorf("%s request line lacks %s: %s", svc.name, k, line)
				}
			}
			if rec["request_id"] == rid {
				withRID++
			}
			if u, _ := rec["user_id"].(string); u != "" {
				withUser++
			}
		}
		t.Logf("%s: %d request lines, %d with the propagated request id, %d naming the user", svc.name, lines, withRID, withUser)
		if withRID == 0 || withUser == 0 {
			t.Errorf("%s: no request line carried the incoming request id (%d) or a user id (%d)", svc.name, withRID, withUser)
		}
	}
}
