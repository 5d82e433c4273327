package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testproc"
)

// revocationBound is what the feed promises: a revocation is refused at
// every replica and through the gateway within a second of the response
// that made it.
const revocationBound = time.Second

// cluster is one auth, three tasks replicas (real binaries, one database)
// and the gateway in front of them.
type cluster struct {
	t       *testing.T
	auth    *authService
	outbox  string
	tasks   []tasksReplica
	gateway string
	db      *pgx.Conn
}

type tasksReplica struct {
	base string
	rpc  tasksv1.TasksServiceClient
}

func startCluster(t *testing.T) *cluster { return startClusterWith(t, nil) }

// startClusterWith starts the cluster with more of auth's environment.
func startClusterWith(t *testing.T, authEnv map[string]string) *cluster {
	t.Helper()
	c := &cluster{t: t, outbox: filepath.Join(t.TempDir(), "outbox.jsonl")}
	env := map[string]string{
		"REDIS_URL": testdb.RedisURL(), "DELETE_USER_ENABLED": "true", "MAIL_OUTBOX": c.outbox,
		"REVOKE_SESSIONS_ON_PASSWORD_RESET": "true",
	}
	for k, v := range authEnv {
		env[k] = v
	}
	c.auth = startAuth(t, env)
	dsn := testdb.New(t)
	bin := testproc.Build(t, "github.com/latchid/latch/services/tasks")
	var origins []string
	for range 3 {
		port, grpcPort := testproc.FreePort(t), testproc.FreePort(t)
		base := fmt.Sprintf("http://127.0.0.1:%d", port)
		p := testproc.Start(t, bin, []string{
			"DATABASE_URL=" + dsn, "BETTER_AUTH_URL=" + c.auth.url, "REDIS_URL=" + testdb.RedisURL(),
			fmt.Sprintf("PORT=%d", port), fmt.Sprintf("GRPC_PORT=%d", grpcPort), "LOG_LEVEL=warn", "LATCH_DATA_DIR=" + t.TempDir(),
		}, "serve")
		p.WaitFor(t, base+"/readyz", http.StatusOK)
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", grpcPort), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c.tasks = append(c.tasks, tasksReplica{base: base, rpc: tasksv1.NewTasksServiceClient(conn)})
		origins = append(origins, base)
	}
	port := testproc.FreePort(t)
	c.gateway = fmt.Sprintf("http://127.0.0.1:%d", port)
	gw := testproc.Start(t, testproc.Build(t, "github.com/latchid/latch/services/gateway"), []string{
		"AUTH_URL=" + c.auth.url, "TASKS_URL=" + strings.Join(origins, ","), fmt.Sprintf("PORT=%d", port), "LOG_LEVEL=warn",
	}, "serve")
	gw.WaitFor(t, c.gateway+"/readyz", http.StatusOK)
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	c.db = conn
	return c
}

// user is a browser's session at auth.
type user struct {
	email, password, cookie, id string
}

func (c *cluster) post(path, cookie, body string) (*http.Response, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("POST", c.auth.url+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", c.auth.url)
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var b []byte
	b, _ = readAll(resp)
	return resp, b
}

func readAll(resp *http.Response) ([]byte, error) {
	var sb strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		sb.Write(sc.Bytes())
	}
	return []byte(sb.String()), sc.Err()
}

func sessionCookieOf(t *testing.T, resp *http.Response) string {
	t.Helper()
	for _, sc := range resp.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "better-auth.session_token=") && !strings.HasPrefix(sc, "better-auth.session_token=;") {
			return strings.SplitN(sc, ";", 2)[0]
		}
	}
	t.Fatalf("no session cookie in %v", resp.Header.Values("Set-Cookie"))
	return ""
}

func (c *cluster) signUp(email string) *user {
	c.t.Helper()
	u := &user{email: email, password: "password-" + email}
	resp, body := c.post("/api/auth/sign-up/email", "", fmt.Sprintf(`{"name":"R","email":%q,"password":%q}`, email, u.password))
	if resp.StatusCode != 200 {
		c.t.Fatalf("sign-up: %d %s", resp.StatusCode, body)
	}
	u.cookie = sessionCookieOf(c.t, resp)
	var b struct{ User struct{ ID string } }
	_ = json.Unmarshal(body, &b)
	u.id = b.User.ID
	return u
}

// signIn opens another session of u and returns its cookie.
func (c *cluster) signIn(u *user) string {
	c.t.Helper()
	resp, body := c.post("/api/auth/sign-in/email", "", fmt.Sprintf(`{"email":%q,"password":%q}`, u.email, u.password))
	if resp.StatusCode != 200 {
		c.t.Fatalf("sign-in: %d %s", resp.StatusCode, body)
	}
	return sessionCookieOf(c.t, resp)
}

// jwt is a fresh JWT of the session with this cookie.
func (c *cluster) jwt(cookie string) string {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.auth.url+"/api/auth/token", nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.Token == "" {
		c.t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tok.Token
}

// restStatus is GET /api/tasks at base with a Bearer token or a cookie.
func restStatus(base, path, token, cookie string) int {
	req, _ := http.NewRequest("GET", base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func grpcCode(rpc tasksv1.TasksServiceClient, token, userID string) codes.Code {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := rpc.ListTasks(metadataCtx(ctx, token), &tasksv1.ListTasksRequest{UserId: userID})
	return status.Code(err)
}

// probe is one place a token is spent.
type probe struct {
	name string
	ok   func() bool // the token still works
}

// probes are every replica over REST and gRPC, and the gateway with the
// session's cookie (when there is one); userID is named for service tokens.
func (c *cluster) probes(token, cookie, userID string) []probe {
	path := "/api/tasks"
	if userID != "" {
		path += "?user_id=" + url.QueryEscape(userID)
	}
	var out []probe
	for i, r := range c.tasks {
		out = append(out,
			probe{fmt.Sprintf("tasks-%d REST", i+1), func() bool { return restStatus(r.base, path, token, "") == 200 }},
			probe{fmt.Sprintf("tasks-%d gRPC", i+1), func() bool { return grpcCode(r.rpc, token, userID) == codes.OK }})
	}
	if cookie != "" {
		out = append(out, probe{"gateway (cookie)", func() bool { return restStatus(c.gateway, path, "", cookie) == 200 }})
	}
	return out
}

func (c *cluster) mustWork(what, token, cookie, userID string) {
	c.t.Helper()
	for _, p := range c.probes(token, cookie, userID) {
		if !p.ok() {
			c.t.Fatalf("%s: refused at %s", what, p.name)
		}
	}
}

// refusedWithinBound spends the token everywhere, concurrently, from the
// moment the revoking response returned (revokedAt) until each place refuses
// it, and fails when one took longer than the bound. It returns the slowest.
func (c *cluster) refusedWithinBound(what string, revokedAt time.Time, token, cookie, userID string) time.Duration {
	c.t.Helper()
	probes := c.probes(token, cookie, userID)
	took := make([]time.Duration, len(probes))
	var wg sync.WaitGroup
	for i, p := range probes {
		wg.Go(func() {
			for time.Since(revokedAt) < 3*revocationBound {
				if !p.ok() {
					took[i] = time.Since(revokedAt)
					return
				}
				time.Sleep(2 * time.Millisecond)
			}
			took[i] = -1
		})
	}
	wg.Wait()
	var slowest time.Duration
	for i, d := range took {
		switch {
		case d < 0:
			c.t.Errorf("%s: still accepted at %s %v after the revocation", what, probes[i].name, 3*revocationBound)
		case d > revocationBound:
			c.t.Errorf("%s: refused at %s only %v after the revocation, bound %v", what, probes[i].name, d, revocationBound)
		}
		slowest = max(slowest, d)
	}
	c.t.Logf("%s: refused at all %d places; slowest %v after the revoking response", what, len(probes), slowest.Round(time.Millisecond))
	return slowest
}

// TestEveryRevocationReachesEveryReplicaAndTheGatewayWithinASecond runs the
// real services: one auth (with Redis), three tasks replicas, the gateway.
// Each way a session, user or client ends is refused at every replica, over
// REST and gRPC, and through the gateway, within the bound, measured from
// the revoking response; a live session's fresh token keeps working.
func TestEveryRevocationReachesEveryReplicaAndTheGatewayWithinASecond(t *testing.T) {
	t.Parallel()
	c := startCluster(t)

	// sign-out
	ann := c.signUp("ann-revoke@example.com")
	annJWT := c.jwt(ann.cookie)
	c.mustWork("ann before sign-out", annJWT, ann.cookie, "")
	resp, body := c.post("/api/auth/sign-out", ann.cookie, "{}")
	if resp.StatusCode != 200 {
		t.Fatalf("sign-out: %d %s", resp.StatusCode, body)
	}
	c.refusedWithinBound("sign-out", time.Now(), annJWT, ann.cookie, "")

	// revoke-session: bob's second session, from the first
	bob := c.signUp("bob-revoke@example.com")
	second := c.signIn(bob)
	secondJWT := c.jwt(second)
	c.mustWork("bob's second session", secondJWT, second, "")
	secondToken, _ := url.QueryUnescape(strings.SplitN(strings.TrimPrefix(second, "better-auth.session_token="), ".", 2)[0])
	if resp, body := c.post("/api/auth/revoke-session", bob.cookie, fmt.Sprintf(`{"token":%q}`, secondToken)); resp.StatusCode != 200 {
		t.Fatalf("revoke-session: %d %s", resp.StatusCode, body)
	}
	c.refusedWithinBound("revoke-session", time.Now(), secondJWT, second, "")
	c.mustWork("bob's first session, a fresh token, after his second was revoked", c.jwt(bob.cookie), bob.cookie, "")

	// revoke-other-sessions
	third := c.signIn(bob)
	thirdJWT := c.jwt(third)
	firstJWT := c.jwt(bob.cookie)
	if resp, body := c.post("/api/auth/revoke-other-sessions", bob.cookie, "{}"); resp.StatusCode != 200 {
		t.Fatalf("revoke-other-sessions: %d %s", resp.StatusCode, body)
	}
	c.refusedWithinBound("revoke-other-sessions", time.Now(), thirdJWT, third, "")
	c.mustWork("the session that revoked the others", firstJWT, bob.cookie, "")

	// change-password revoking the other sessions: the caller gets a new session
	other := c.signIn(bob)
	otherJWT := c.jwt(other)
	oldJWT := c.jwt(bob.cookie)
	resp, body = c.post("/api/auth/change-password", bob.cookie,
		fmt.Sprintf(`{"currentPassword":%q,"newPassword":"a-new-password-1","revokeOtherSessions":true}`, bob.password))
	if resp.StatusCode != 200 {
		t.Fatalf("change-password: %d %s", resp.StatusCode, body)
	}
	changedAt := time.Now()
	bob.password, bob.cookie = "a-new-password-1", sessionCookieOf(t, resp)
	c.refusedWithinBound("change-password (another session)", changedAt, otherJWT, other, "")
	c.refusedWithinBound("change-password (the caller's old session)", changedAt, oldJWT, "", "")
	c.mustWork("the session change-password made, at once", c.jwt(bob.cookie), bob.cookie, "")

	// revoke-sessions
	bobJWT := c.jwt(bob.cookie)
	if resp, body := c.post("/api/auth/revoke-sessions", bob.cookie, "{}"); resp.StatusCode != 200 {
		t.Fatalf("revoke-sessions: %d %s", resp.StatusCode, body)
	}
	c.refusedWithinBound("revoke-sessions", time.Now(), bobJWT, bob.cookie, "")

	// password reset
	cid := c.signUp("cid-revoke@example.com")
	cidJWT := c.jwt(cid.cookie)
	if resp, body := c.post("/api/auth/request-password-reset", "", `{"email":"cid-revoke@example.com","redirectTo":"/reset"}`); resp.StatusCode != 200 {
		t.Fatalf("request-password-reset: %d %s", resp.StatusCode, body)
	}
	resetToken := c.resetToken("cid-revoke@example.com")
	if resp, body := c.post("/api/auth/reset-password", "", fmt.Sprintf(`{"newPassword":"reset-password-1","token":%q}`, resetToken)); resp.StatusCode != 200 {
		t.Fatalf("reset-password: %d %s", resp.StatusCode, body)
	}
	c.refusedWithinBound("reset-password", time.Now(), cidJWT, cid.cookie, "")

	// delete-user: refused everywhere, and their tasks deleted
	dan := c.signUp("dan-revoke@example.com")
	danJWT := c.jwt(dan.cookie)
	for range 2 {
		req, _ := http.NewRequest("POST", c.tasks[0].base+"/api/tasks", strings.NewReader(`{"title":"dan's","tags":["x"]}`))
		req.Header.Set("Authorization", "Bearer "+danJWT)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != 201 {
			t.Fatalf("create: %v %v", err, r)
		}
		r.Body.Close()
	}
	if resp, body := c.post("/api/auth/delete-user", dan.cookie, fmt.Sprintf(`{"password":%q}`, dan.password)); resp.StatusCode != 200 {
		t.Fatalf("delete-user: %d %s", resp.StatusCode, body)
	}
	deletedAt := time.Now()
	c.refusedWithinBound("delete-user", deletedAt, danJWT, dan.cookie, "")
	for left := -1; left != 0; {
		if err := c.db.QueryRow(context.Background(), "SELECT count(*) FROM tasks WHERE user_id = $1", dan.id).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if time.Since(deletedAt) > 5*time.Second {
			t.Fatalf("%d tasks of the deleted user left after 5 s", left)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("delete-user: the user's tasks were gone %v after the response", time.Since(deletedAt).Round(time.Millisecond))

	// a service client revoked with the CLI (another process): its token is refused
	svc := c.auth.registerClient("revoked-svc", "tasks:read")
	svcToken := c.clientToken(svc)
	eve := c.signUp("eve-revoke@example.com")
	c.mustWork("the service's token", svcToken, "", eve.id)
	c.auth.command("clients", "revoke", svc.id)
	c.refusedWithinBound("clients revoke", time.Now(), svcToken, "", eve.id)
	c.mustWork("a live user's token after all of the above", c.jwt(eve.cookie), eve.cookie, "")
}

// resetToken reads the reset link mailed to email from the outbox.
func (c *cluster) resetToken(email string) string {
	c.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		f, err := os.ReadFile(c.outbox)
		if err == nil {
			lines := strings.Split(strings.TrimSpace(string(f)), "\n")
			for i := len(lines) - 1; i >= 0; i-- {
				var m struct{ To, Text string }
				if json.Unmarshal([]byte(lines[i]), &m) != nil || m.To != email {
					continue
				}
				_, rest, ok := strings.Cut(m.Text, "/api/auth/reset-password/")
				if !ok {
					continue
				}
				if end := strings.IndexAny(rest, "?\" \n"); end >= 0 {
					rest = rest[:end]
				}
				return rest
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("no reset link for %s in %s", email, c.outbox)
	return ""
}

// clientToken is a client-credentials token.
func (c *cluster) clientToken(rc registeredClient) string {
	c.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {rc.id}, "client_secret": {rc.secret}}
	resp, err := http.PostForm(c.auth.url+"/api/auth/oauth2/token", form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		c.t.Fatalf("client token: %d %v", resp.StatusCode, err)
	}
	return tok.AccessToken
}

func metadataCtx(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
