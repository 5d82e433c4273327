package faults

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Two tasks replicas on one database and Redis behind the gateway
// (TASKS_URL lists both), under steady load through the gateway; one
// replica gets SIGTERM. With SHUTDOWN_DELAY the replica serves on, answering
// Connection: close, so the gateway stops choosing it before it closes its
// listener and idle connections; requests that still meet a refused
// connection go to the other replica. Zero failed requests at the gateway.
// (With SHUTDOWN_DELAY=0 this test failed two runs in three when written:
// one POST answered 502, written to a keep-alive connection Shutdown closed.)
func TestTasksReplicaSIGTERMBehindGateway(t *testing.T) {
	const delay = "1s"
	s := startSystem(t, options{redis: true, tasksEnv: map[string]string{
		"SHUTDOWN_DELAY": delay, "GRPC_PORT": strconv.Itoa(freePort(t)),
	}})
	survivor := startService(t, "tasks-2", bins.tasks, map[string]string{
		"DATABASE_URL": s.pg.url("tasks"), "BETTER_AUTH_URL": s.auth.base, "REDIS_URL": s.redis.url(),
		"SHUTDOWN_DELAY": delay, "GRPC_PORT": strconv.Itoa(freePort(t)),
	})
	victim := s.tasks
	gw := startService(t, "gateway", bins.gateway, map[string]string{
		"AUTH_URL": s.auth.base, "TASKS_URL": victim.base + "," + survivor.base,
	})
	c := newClient(t)
	c.signUp(s.auth, "replicas@example.com", "replicas-password-123")
	tok, err := c.token(s.auth)
	if err != nil {
		t.Fatal(err)
	}
	l := startLoad(gw, tok, 4) // Bearer requests: the gateway passes them through
	t.Cleanup(l.stop)
	waitFor(t, 10*time.Second, "the first successful requests through the gateway", func() bool { return l.successesSinceMark() >= 40 })
	time.Sleep(500 * time.Millisecond)
	victimBefore, survivorBefore := served(t, victim), served(t, survivor)
	if victimBefore == 0 || survivorBefore == 0 {
		t.Fatalf("before the signal the replicas served %d and %d requests: the gateway did not spread the load", victimBefore, survivorBefore)
	}

	l.mark("sigterm")
	signalled := time.Now()
	if err := victim.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 800*time.Millisecond, "the stopping replica's /readyz to answer 503 serving: failing", func() bool {
		r := newClient(t).do("GET", victim.base+"/readyz", "", nil)
		return r.status == http.StatusServiceUnavailable && strings.Contains(string(r.body), `"serving":"failing"`)
	})
	select {
	case <-victim.done:
	case <-time.After(15 * time.Second):
		t.Fatal("the replica did not exit within 15 s of SIGTERM")
	}
	exited := time.Since(signalled)
	l.mark("after exit")
	survivorAtExit := served(t, survivor)
	time.Sleep(2 * time.Second)
	l.stop()
	l.report(t)
	survivorAfter := served(t, survivor)
	retries := metricSum(t, gw, "gateway_upstream_retries_total")
	unreachable := metricSum(t, gw, `gateway_upstream_errors_total{reason="unreachable"`)
	t.Logf("replica requests before the signal: victim %d, survivor %d; survivor after: %d at the victim's exit (%v after SIGTERM), %d at the end; gateway retries %d, unreachable first tries %d",
		victimBefore, survivorBefore, survivorAtExit, exited.Round(time.Millisecond), survivorAfter, retries, unreachable)

	if failed := l.nonSuccess(); len(failed) > 0 {
		t.Errorf("failed requests at the gateway: %v", failed)
	}
	if victim.err != nil {
		t.Errorf("the replica exited with %v after SIGTERM, want 0", victim.err)
	}
	if after := l.window("after exit"); successes(after) == 0 || survivorAfter <= survivorAtExit {
		t.Errorf("after the victim exited: %d successes at the gateway, survivor served %d more", successes(after), survivorAfter-survivorAtExit)
	}
	ids := append([]int64(nil), l.acked...)
	if n := s.pg.count("tasks", "SELECT count(*) FROM tasks WHERE id = ANY($1)", ids); n != len(ids) {
		t.Errorf("%d of %d acknowledged writes are in the database", n, len(ids))
	}
}

func successes(w window) int {
	n := 0
	for status, c := range w.byStatus {
		if status/100 == 2 {
			n += c
		}
	}
	return n
}

// served is how many /api/tasks requests a tasks replica answered, from
// its own /metrics.
func served(t *testing.T, s *service) int {
	t.Helper()
	return metricSum(t, s, `http_requests_total{method=`, `route="/api/tasks`)
}

// metricSum adds up the samples on s's /metrics whose line starts with
// prefix and contains every one of also.
func metricSum(t *testing.T, s *service, prefix string, also ...string) int {
	t.Helper()
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		t.Fatalf("%s /metrics: %v", s.name, err)
	}
	defer resp.Body.Close()
	sum := 0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
next:
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		for _, a := range also {
			if !strings.Contains(line, a) {
				continue next
			}
		}
		f, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += int(f)
		}
	}
	return sum
}
