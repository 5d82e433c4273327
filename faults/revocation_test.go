package faults

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// revocationCluster is two auth replicas over one private PostgreSQL and
// Redis, and a tasks replica following the second one's feed.
type revocationCluster struct {
	pg        *postgres
	redis     *redisServer
	authA     *service // where users revoke
	authB     *service // whose feed tasks follows
	authBPort int
	authBEnv  map[string]string
	tasks     *service
	issuer    string
}

func startRevocationCluster(t *testing.T, tasksEnv map[string]string) *revocationCluster {
	t.Helper()
	c := &revocationCluster{pg: startPostgres(t), redis: startRedis(t)}
	authDB, tasksDB := c.pg.createDB("auth"), c.pg.createDB("tasks")
	portA, portB := freePort(t), freePort(t)
	c.issuer = fmt.Sprintf("http://127.0.0.1:%d", portA) // one issuer for both replicas, as behind one hostname
	env := func() map[string]string {
		return map[string]string{"DATABASE_URL": authDB, "BETTER_AUTH_SECRET": authSecret, "BETTER_AUTH_URL": c.issuer,
			"REDIS_URL": c.redis.url(), "JWT_ISSUER": c.issuer, "JWT_AUDIENCE": c.issuer}
	}
	c.authA = startServiceOn(t, "auth-a", bins.auth, portA, env())
	c.authBEnv, c.authBPort = env(), portB
	c.authB = startServiceOn(t, "auth-b", bins.auth, portB, c.authBEnv)
	te := map[string]string{"DATABASE_URL": tasksDB, "BETTER_AUTH_URL": c.issuer, "GRPC_PORT": strconv.Itoa(freePort(t)),
		"JWKS_URL": c.authB.base + "/api/auth/jwks", "REDIS_URL": c.redis.url()}
	for k, v := range tasksEnv {
		te[k] = v
	}
	c.tasks = startService(t, "tasks", bins.tasks, te)
	waitFor(t, 10*time.Second, "tasks ready (keys and deny set loaded)", func() bool {
		return newClient(t).do("GET", c.tasks.base+"/readyz", "", nil).status == 200
	})
	return c
}

// session signs a user up at auth A and returns their client (cookie) and JWT.
func (c *revocationCluster) session(t *testing.T, email string) (*client, string) {
	t.Helper()
	cl := newClient(t)
	cl.signUp(c.authA, email, "revocation-password-1")
	tok, err := cl.token(c.authA)
	if err != nil {
		t.Fatal(err)
	}
	return cl, tok
}

func (c *revocationCluster) status(t *testing.T, token string) int {
	return newClient(t).do("GET", c.tasks.base+"/api/tasks", "", map[string]string{"Authorization": "Bearer " + token}).status
}

func (c *revocationCluster) signOut(t *testing.T, cl *client) time.Time {
	t.Helper()
	r := cl.do("POST", c.authA.base+"/api/auth/sign-out", "{}", map[string]string{"Cookie": cl.cookie, "Origin": c.authA.base})
	if r.err != nil || r.status != 200 {
		t.Fatalf("sign-out: %v %d %s", r.err, r.status, r.body)
	}
	return time.Now()
}

// refusedWithin waits for tasks to answer 401 for token and returns how long it took.
func (c *revocationCluster) refusedWithin(t *testing.T, what string, since time.Time, token string, bound time.Duration) {
	t.Helper()
	for c.status(t, token) != 401 {
		if time.Since(since) > 3*bound {
			t.Fatalf("%s: tasks still accepts the token %v after the revocation", what, time.Since(since))
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(since)
	t.Logf("%s: refused %v after the revoking response", what, took.Round(time.Millisecond))
	if took > bound {
		t.Errorf("%s: took %v, bound %v", what, took, bound)
	}
}

// Redis only wakes auth replicas early; the feed itself is auth's database.
// A session revoked on auth A while Redis is down still reaches tasks, which
// follows auth B, within the bound (B re-reads its head every 250 ms); with
// Redis back, the nudge path works again.
func TestRedisStoppedWhileASessionIsRevoked(t *testing.T) {
	c := startRevocationCluster(t, nil)
	before, beforeTok := c.session(t, "before@example.com")
	during, duringTok := c.session(t, "during@example.com")
	after, afterTok := c.session(t, "after@example.com")
	for _, tok := range []string{beforeTok, duringTok, afterTok} {
		if s := c.status(t, tok); s != 200 {
			t.Fatalf("a live session's token: %d", s)
		}
	}
	c.refusedWithin(t, "with Redis", c.signOut(t, before), beforeTok, time.Second)

	c.redis.stop()
	c.refusedWithin(t, "Redis stopped", c.signOut(t, during), duringTok, time.Second)

	c.redis = restartRedisOn(t, c.redis.port)
	nudges := metricSum(t, c.authB, "auth_revocation_nudges_total")
	waitFor(t, 15*time.Second, "auth B to hear nudges again after Redis came back", func() bool {
		c.signOut(t, mustSession(t, c, "probe@example.com"))
		time.Sleep(200 * time.Millisecond)
		return metricSum(t, c.authB, "auth_revocation_nudges_total") > nudges
	})
	c.refusedWithin(t, "Redis back", c.signOut(t, after), afterTok, time.Second)
	_, fresh := c.session(t, "fresh@example.com")
	if s := c.status(t, fresh); s != 200 {
		t.Errorf("a new session after all this: %d", s)
	}
}

func mustSession(t *testing.T, c *revocationCluster, prefix string) *client {
	cl, _ := c.session(t, fmt.Sprintf("%d-%s", time.Now().UnixNano(), prefix))
	return cl
}

// startRedisOn is startRedis on a given port; nil when it cannot listen there yet.
func startRedisOn(t *testing.T, port int) *redisServer {
	t.Helper()
	r := &redisServer{port: port, done: make(chan struct{})}
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			return nil // the port is still taken
		default:
		}
		if c, err := net.DialTimeout("tcp", r.addr(), 200*time.Millisecond); err == nil {
			c.Close()
			t.Cleanup(r.stop)
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.stop()
	return nil
}

// jwtClaims decodes a JWT's claims without verifying it.
func jwtClaims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// restartRedisOn starts a Redis on the port the stopped one had, so clients
// reconnect to the address they know.
func restartRedisOn(t *testing.T, port int) *redisServer {
	t.Helper()
	for {
		r := startRedisOn(t, port)
		if r != nil {
			return r
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A message on the nudge channel is not believed: whatever it says, it only
// makes each auth replica read its own database once. A forged "revocation"
// refuses nothing.
func TestAForgedNudgeIsOnlyAFetch(t *testing.T) {
	c := startRevocationCluster(t, nil)
	_, tok := c.session(t, "victim@example.com")
	claims := jwtClaims(t, tok)
	readsBefore := metricSum(t, c.authB, "auth_revocation_head_reads_total")
	nudgesBefore := metricSum(t, c.authB, "auth_revocation_nudges_total")
	for _, forged := range []string{
		fmt.Sprintf(`{"id":999,"kind":"session","subject":%q,"at":"2026-12-06T00:00:00Z","until":"2099-01-01T00:00:00Z"}`, claims["sid"]),
		fmt.Sprintf(`{"events":[{"id":1,"kind":"user_deleted","subject":%q}],"head":1}`, claims["sub"]),
	} {
		publish(t, c.redis, "latch:revocations", forged)
	}
	waitFor(t, 5*time.Second, "auth B to hear both nudges", func() bool {
		return metricSum(t, c.authB, "auth_revocation_nudges_total")-nudgesBefore >= 2
	})
	time.Sleep(500 * time.Millisecond)
	if s := c.status(t, tok); s != 200 {
		t.Fatalf("after forged nudges the victim's token gets %d, want 200", s)
	}
	if reads := metricSum(t, c.authB, "auth_revocation_head_reads_total") - readsBefore; reads < 2 {
		t.Errorf("head reads %d after two nudges: a nudge should cost a read", reads)
	}
	if n := c.pg.count("auth", "SELECT count(*) FROM revocation_event"); n != 0 {
		t.Errorf("revocation events after forged nudges: %d, want 0", n)
	}
}

// Past the bound without an answer from the feed, tasks refuses every token
// (503, the client's token is not at fault) and /readyz fails; within it,
// tokens are accepted on the last known deny set; when auth returns, tasks
// serves again within a second.
func TestFeedUnreachablePastTheBoundFailsClosedAndRecovers(t *testing.T) {
	const bound = 2 * time.Second
	c := startRevocationCluster(t, map[string]string{"REVOCATION_MAX_STALE": bound.String(), "SHUTDOWN_DELAY": "0s"})
	_, tok := c.session(t, "outage@example.com")
	if s := c.status(t, tok); s != 200 {
		t.Fatalf("before: %d", s)
	}
	c.authB.stop()
	stopped := time.Now()
	if s := c.status(t, tok); s != 200 {
		t.Errorf("just after the feed went away (within the bound): %d, want 200", s)
	}
	waitFor(t, bound+3*time.Second, "tasks to refuse tokens past the bound", func() bool { return c.status(t, tok) == 503 })
	refusedAfter := time.Since(stopped)
	t.Logf("tokens refused %v after the feed went away (bound %v)", refusedAfter.Round(time.Millisecond), bound)
	if refusedAfter < bound-200*time.Millisecond {
		t.Errorf("refused after %v, before the bound %v", refusedAfter, bound)
	}
	r := newClient(t).do("GET", c.tasks.base+"/readyz", "", nil)
	if r.status != 503 || !strings.Contains(string(r.body), `"revocations"`) {
		t.Errorf("/readyz past the bound: %d %s", r.status, r.body)
	}
	if v := metricSum(t, c.tasks, "revocation_feed_stale"); v != 1 {
		t.Errorf("revocation_feed_stale = %d, want 1", v)
	}
	// Logged by the follower at its next failed request (at most 1 s apart).
	waitFor(t, 3*time.Second, "a log line saying tokens are refused", func() bool {
		return strings.Contains(c.tasks.logs.String(), "revocation feed unreachable past the bound")
	})

	c.authB = startServiceOn(t, "auth-b", bins.auth, c.authBPort, c.authBEnv)
	back := time.Now()
	waitFor(t, 5*time.Second, "tasks to accept tokens again", func() bool { return c.status(t, tok) == 200 })
	t.Logf("tokens accepted again %v after auth B answered /healthz", time.Since(back).Round(time.Millisecond))
	if d := time.Since(back); d > time.Second+200*time.Millisecond {
		t.Errorf("recovery took %v, want within the follower's 1 s retry", d)
	}
}

// publish sends a raw PUBLISH to a Redis server (RESP over TCP).
func publish(t *testing.T, r *redisServer, channel, msg string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", r.addr(), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cmd := fmt.Sprintf("*3\r\n$7\r\nPUBLISH\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", len(channel), channel, len(msg), msg)
	if _, err := conn.Write([]byte(cmd)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := conn.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), ":") {
		t.Fatalf("PUBLISH answered %q, %v", buf[:n], err)
	}
}
