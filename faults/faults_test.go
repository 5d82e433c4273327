package faults

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// steadySystem starts the system, signs a user up and puts it under load.
func steadySystem(t *testing.T, o options) (*system, *client, *load) {
	t.Helper()
	s := startSystem(t, o)
	c := newClient(t)
	c.signUp(s.auth, "load@example.com", "load-password-123")
	tok, err := c.token(s.auth)
	if err != nil {
		t.Fatal(err)
	}
	l := startLoad(s.tasks, tok, 4)
	t.Cleanup(l.stop)
	waitFor(t, 10*time.Second, "the first successful requests", func() bool { return l.successesSinceMark() >= 20 })
	return s, c, l
}

func TestPostgresRestartUnderLoad(t *testing.T) {
	s, _, l := steadySystem(t, options{})
	time.Sleep(time.Second)

	l.mark("outage")
	s.pg.stop()
	time.Sleep(2 * time.Second)
	outage := l.window("outage")

	l.mark("recovery")
	restarted := time.Now()
	s.pg.start()
	waitFor(t, 20*time.Second, "tasks to answer 201 again without a restart", func() bool { return l.successesSinceMark() >= 20 })
	recovered := time.Since(restarted)
	time.Sleep(time.Second)
	l.stop()
	l.report(t)
	t.Logf("recovered %v after PostgreSQL started again", recovered.Round(time.Millisecond))

	if outage.byStatus[503] == 0 {
		t.Errorf("no 503 during the outage: %v", outage.byStatus)
	}
	for status, n := range outage.byStatus {
		if status != 503 && status/100 != 2 { // 2xx: requests finished just before the stop
			t.Errorf("%d answers %d during the outage, want only 503", n, status)
		}
	}
	if outage.errors > 0 {
		t.Errorf("%d requests failed without an answer during the outage", outage.errors)
	}
	if slow := l.slowest[503]; slow > 2*time.Second {
		t.Errorf("the slowest 503 took %v: an outage must fail fast", slow)
	}
	if n := l.count(500); n > 0 {
		t.Errorf("%d answers 500", n)
	}
	// Every write the service acknowledged is in the database.
	ids := append([]int64(nil), l.acked...)
	if len(ids) == 0 {
		t.Fatal("no write was acknowledged")
	}
	if n := s.pg.count("tasks", "SELECT count(*) FROM tasks WHERE id = ANY($1)", ids); n != len(ids) {
		t.Errorf("%d of %d acknowledged writes are in the database", n, len(ids))
	} else {
		t.Logf("all %d acknowledged writes are in the database", n)
	}
	for _, svc := range []*service{s.auth, s.tasks} {
		r := newClient(t).do("GET", svc.base+"/readyz", "", nil)
		if r.status != 200 {
			t.Errorf("%s /readyz after recovery = %d %s", svc.name, r.status, r.body)
		}
	}
}

func TestRedisStoppedTasksKeepsVerifying(t *testing.T) {
	s, _, l := steadySystem(t, options{redis: true})
	time.Sleep(500 * time.Millisecond)
	l.mark("redis down")
	s.redis.stop()
	time.Sleep(3 * time.Second)
	during := l.successesSinceMark()
	l.stop()
	l.report(t)
	if during < 20 {
		t.Errorf("only %d successful requests in 3 s without Redis", during)
	}
	if bad := l.nonSuccess(); len(bad) > 0 {
		t.Errorf("requests failed while Redis was down: %v", bad)
	}
	r := newClient(t).do("GET", s.tasks.base+"/readyz", "", nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"redis":"degraded"`) {
		t.Errorf("tasks /readyz without Redis = %d %s, want 200 with redis degraded", r.status, r.body)
	}
}

func TestAuthStoppedTasksKeepsServingValidTokens(t *testing.T) {
	s, _, l := steadySystem(t, options{})
	if err := healthcheck(s.auth); err != nil {
		t.Errorf("auth healthcheck while serving: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	l.mark("auth down")
	s.auth.stop()
	if err := healthcheck(s.auth); err == nil {
		t.Error("auth healthcheck passed with auth stopped")
	}
	if err := healthcheck(s.tasks); err != nil {
		t.Errorf("tasks healthcheck with auth stopped: %v", err)
	}
	time.Sleep(3 * time.Second)
	during := l.successesSinceMark()
	l.stop()
	l.report(t)
	if during < 20 {
		t.Errorf("only %d successful requests in 3 s without auth", during)
	}
	if bad := l.nonSuccess(); len(bad) > 0 {
		t.Errorf("requests failed while auth was down: %v", bad)
	}
}

func TestKeyRotationUnderLoadNo401(t *testing.T) {
	const publishDelay = 3 * time.Second
	s, c, l := steadySystem(t, options{
		// Short delays keep the test bounded; production keeps the same
		// order: the new key is published for a while before it signs, and
		// resource servers refresh within that while.
		authEnv:  map[string]string{"JWKS_PUBLISH_DELAY": "3s", "KEY_CACHE_TTL": "1s"},
		tasksEnv: map[string]string{"JWKS_REFRESH_INTERVAL": "2s"},
	})
	// Clients keep fetching fresh tokens, as a browser app does.
	stopTokens := make(chan struct{})
	tokensDone := make(chan struct{})
	go func() {
		defer close(tokensDone)
		for {
			select {
			case <-stopTokens:
				return
			case <-time.After(100 * time.Millisecond):
			}
			if tok, err := c.token(s.auth); err == nil {
				l.setToken(tok)
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	l.mark("rotation")
	rotate := exec.Command(bins.auth, "keys", "rotate")
	rotate.Env = s.auth.cmd.Env
	out, err := rotate.CombinedOutput()
	if err != nil {
		t.Fatalf("auth keys rotate: %v\n%s", err, out)
	}
	t.Logf("auth keys rotate:\n%s", out)
	time.Sleep(publishDelay + 3*time.Second)
	close(stopTokens)
	<-tokensDone
	l.stop()
	l.report(t)
	if n := l.count(401); n > 0 {
		t.Errorf("%d valid tokens refused with 401 during the rotation", n)
	}
	if bad := l.nonSuccess(); len(bad) > 0 {
		t.Errorf("requests failed during the rotation: %v", bad)
	}
	if len(l.kids) < 2 {
		t.Errorf("successful requests carried tokens from %d signing key(s), want the old and the new: %v", len(l.kids), l.kids)
	}
}

// healthcheck runs `<service> healthcheck`, as a container runtime does.
func healthcheck(svc *service) error {
	bin := bins.auth
	if svc.name == "tasks" {
		bin = bins.tasks
	}
	cmd := exec.Command(bin, "healthcheck")
	cmd.Env = svc.cmd.Env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
