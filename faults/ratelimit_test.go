package faults

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRedisStoppedAuthRateLimitFailsOpen: two auth replicas share their
// rate-limit counters in Redis. With Redis stopped, limiting fails open
// (wrong passwords answer 401, the right one 200, never 429 or 5xx), the
// log says so once rather than per request, and the failures are counted;
// once Redis is back, limiting resumes on every replica within about a
// second (its next probe), without restarting auth.
func TestRedisStoppedAuthRateLimitFailsOpen(t *testing.T) {
	const (
		prefix   = "faults:ratelimit:"
		email    = "owner@example.com"
		password = "the-right-password"
		guesses  = 8
	)
	pg := startPostgres(t)
	rds := startRedis(t)
	db := pg.createDB("auth")
	// Two replicas: with counters in Redis they share one budget; with
	// in-process counters each would allow its own 3 guesses.
	auths := make([]*service, 2)
	for i := range auths {
		port := freePort(t)
		auths[i] = startServiceOn(t, fmt.Sprintf("auth-%d", i+1), bins.auth, port, map[string]string{
			"DATABASE_URL": db, "BETTER_AUTH_SECRET": authSecret,
			"BETTER_AUTH_URL": fmt.Sprintf("http://127.0.0.1:%d", port),
			"RATE_LIMIT":      "on", "REDIS_URL": rds.url(), "RATE_LIMIT_KEY_PREFIX": prefix,
		})
	}
	newClient(t).signUp(auths[0], email, password) // sign-up has its own bucket

	c := newClient(t)
	signIn := func(i int, pw string) result {
		a := auths[i%len(auths)]
		return c.do("POST", a.base+"/api/auth/sign-in/email",
			fmt.Sprintf(`{"email":%q,"password":%q}`, email, pw), map[string]string{"Origin": a.base})
	}
	// hammer sends n wrong passwords round-robin over the replicas and
	// counts the answers.
	type tally struct {
		byStatus      map[int]int
		errors        int
		slowest       time.Duration
		first429      int // index of the first 429, -1 if none
		retryAfterBad int // 429s without a plausible X-Retry-After
		limitedBy     map[int]bool
	}
	hammer := func(n int) tally {
		tl := tally{byStatus: map[int]int{}, first429: -1, limitedBy: map[int]bool{}}
		for i := range n {
			r := signIn(i, fmt.Sprintf("guess-%d", i))
			if r.err != nil {
				tl.errors++
				continue
			}
			tl.byStatus[r.status]++
			tl.slowest = max(tl.slowest, r.latency)
			if r.status == http.StatusTooManyRequests {
				tl.limitedBy[i%len(auths)] = true
				if tl.first429 < 0 {
					tl.first429 = i
				}
				if s, err := strconv.Atoi(r.header.Get("X-Retry-After")); err != nil || s < 1 || s > 10 {
					tl.retryAfterBad++
				}
			}
		}
		return tl
	}

	// Phase 1: Redis up. The credentials rule is 3 per 10 s per address and
	// path; the eight guesses take well under a second.
	up := hammer(guesses)
	t.Logf("redis up:        %v, slowest %v", up.byStatus, up.slowest.Round(time.Millisecond))
	if up.byStatus[401] != 3 || up.byStatus[429] != guesses-3 || up.errors > 0 {
		t.Errorf("redis up: %v (%d transport errors), want 3×401 then %d×429 across both replicas", up.byStatus, up.errors, guesses-3)
	}
	if len(up.limitedBy) != len(auths) {
		t.Errorf("429s came from replicas %v, want both: the budget is shared", up.limitedBy)
	}
	if up.retryAfterBad > 0 {
		t.Errorf("%d 429s without X-Retry-After in 1..10", up.retryAfterBad)
	}
	if keys := rds.keys(t, prefix+"*"); len(keys) == 0 {
		t.Errorf("no counters under %s in Redis", prefix)
	} else {
		t.Logf("counters in Redis: %v", keys)
	}

	// Phase 2: Redis stopped. Every guess reaches the password check.
	rds.stop()
	down := hammer(guesses)
	right := signIn(0, password)
	// get-session goes through the limiter but hashes nothing: its time is
	// the cost of failing open. The client's retries made it about 0.1 s
	// each before auth turned them off.
	const sessions = 100
	start := time.Now()
	for i := range sessions {
		if r := c.do("GET", auths[i%len(auths)].base+"/api/auth/get-session", "", nil); r.err != nil || r.status != 200 {
			t.Fatalf("get-session with Redis stopped: %v %d %s", r.err, r.status, r.body)
		}
	}
	sessionsTook := time.Since(start)
	t.Logf("redis stopped:   %v, slowest %v; right password %d; %d get-session in %v", down.byStatus, down.slowest.Round(time.Millisecond), right.status, sessions, sessionsTook.Round(time.Millisecond))
	if sessionsTook > 2*time.Second {
		t.Errorf("%d get-session with Redis stopped took %v: failing open must cost next to nothing", sessions, sessionsTook)
	}
	if down.byStatus[401] != guesses || down.errors > 0 {
		t.Errorf("redis stopped: %v (%d transport errors), want %d×401: the limiter fails open", down.byStatus, down.errors, guesses)
	}
	if right.err != nil || right.status != 200 {
		t.Errorf("right password with Redis stopped: %d %v %s, want 200", right.status, right.err, right.body)
	}
	// A sign-in is mostly its password hash, which a busy machine slows;
	// this only catches the seconds a hung client would add. The limiter's
	// own share is what get-session measures above.
	if down.slowest > 3*time.Second {
		t.Errorf("slowest sign-in with Redis stopped took %v", down.slowest)
	}
	counted := 0.0
	for _, a := range auths {
		// One line per outage, not one per request: an attack during an
		// outage would otherwise double the log.
		if n := strings.Count(a.logs.String(), "rate limit store failed"); n != 1 {
			t.Errorf("%s: %d log lines about the failing rate limit store, want 1:\n%s", a.name, n, tail(a.logs.String(), 20))
		}
		counted += metric(t, a, "auth_rate_limit_store_errors_total")
	}
	t.Logf("auth_rate_limit_store_errors_total over both replicas: %v", counted)
	if counted != guesses+1+sessions {
		t.Errorf("auth_rate_limit_store_errors_total = %v over both replicas, want %d (every request let through)", counted, guesses+1+sessions)
	}

	// Phase 3: Redis back on the same address, empty. The replicas reconnect
	// by themselves; the fresh budget is 3 guesses again, then 429s.
	restarted := time.Now()
	rds.restart(t)
	var back tally
	waitFor(t, 10*time.Second, "a 429 after Redis started again", func() bool {
		back = hammer(guesses)
		return back.byStatus[429] > 0
	})
	t.Logf("redis restarted: %v, first 429 at guess %d, %v after the restart", back.byStatus, back.first429+1, time.Since(restarted).Round(time.Millisecond))
	for status, n := range back.byStatus {
		if status != 401 && status != 429 {
			t.Errorf("after the restart: %d answers %d, want only 401 and 429", n, status)
		}
	}
	if back.errors > 0 || back.retryAfterBad > 0 {
		t.Errorf("after the restart: %d transport errors, %d 429s without a plausible X-Retry-After", back.errors, back.retryAfterBad)
	}
	// Each replica asks Redis again at its next probe (ratelimit.Breaker,
	// one a second), so the shared budget, spent now, stops the right
	// password on both within about a second.
	for i, a := range auths {
		waitFor(t, 3*time.Second, a.name+" answering 429 to the right password (the limit is per address)", func() bool {
			return signIn(i, password).status == http.StatusTooManyRequests
		})
	}
	if keys := rds.keys(t, prefix+"*"); len(keys) == 0 {
		t.Errorf("no counters under %s in the restarted Redis", prefix)
	}
	for _, a := range auths {
		if n := strings.Count(a.logs.String(), "limiting resumed"); n != 1 {
			t.Errorf("%s: %d log lines saying limiting resumed, want 1", a.name, n)
		}
		// go-redis's own lines (a failed dial, per dial) arrive as records of
		// the service's JSON log, at most one of a kind per 30 s: the outage
		// here is shorter than that, so one.
		var redisLines int
		for _, line := range strings.Split(strings.TrimSpace(a.logs.String()), "\n") {
			var rec struct{ Msg string }
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s: a log line that is not a JSON record: %q", a.name, line)
				continue
			}
			if rec.Msg == "redis client" {
				redisLines++
			}
		}
		if redisLines != 1 {
			t.Errorf("%s: %d records from the Redis client's own logger, want 1 (the first failed dial)", a.name, redisLines)
		}
	}
}

// metric reads an unlabelled counter from a service's /metrics.
func metric(t *testing.T, svc *service, name string) float64 {
	t.Helper()
	r := newClient(t).do("GET", svc.base+"/metrics", "", nil)
	if r.err != nil || r.status != 200 {
		t.Fatalf("%s /metrics: %v %d", svc.name, r.err, r.status)
	}
	for line := range strings.Lines(string(r.body)) {
		if strings.HasPrefix(line, name+"{") || strings.HasPrefix(line, name+" ") {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("%s: %q", svc.name, line)
			}
			return v
		}
	}
	t.Fatalf("%s exports no %s", svc.name, name)
	return 0
}

// keys lists the keys matching pattern, asked with redis-cli as an operator would.
func (r *redisServer) keys(t *testing.T, pattern string) []string {
	t.Helper()
	out, err := exec.Command("redis-cli", "-h", "127.0.0.1", "-p", strconv.Itoa(r.port), "--scan", "--pattern", pattern).Output()
	if err != nil {
		t.Fatalf("redis-cli --scan: %v", err)
	}
	var keys []string
	for sc := bufio.NewScanner(strings.NewReader(string(out))); sc.Scan(); {
		if k := strings.TrimSpace(sc.Text()); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

// restart starts a new, empty redis-server on the stopped one's port, as a
// restarted pod behind the same Service address would be. The cleanup
// startRedis registered stops whichever process is current.
func (r *redisServer) restart(t *testing.T) {
	t.Helper()
	select {
	case <-r.done:
	default:
		t.Fatal("restart: redis-server is still running")
	}
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatalf("restart redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	r.cmd, r.done = cmd, done
	waitFor(t, 10*time.Second, "redis-server to listen again", func() bool {
		c, err := net.DialTimeout("tcp", r.addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}
