package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/latchid/latch/pkg/authn"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

// clientTokenTTL is the auth service's client-credentials token lifetime in
// this test: short, so the test sees a token expire and get replaced.
const clientTokenTTL = 6 * time.Second

// TestGRPCEndToEnd runs the real auth service (built from source) and the
// tasks service's real gRPC server, on PostgreSQL and Redis: users with
// their own tokens, services with client credentials, and tokens that must
// not pass.
func TestGRPCEndToEnd(t *testing.T) {
	t.Parallel()
	auth := startAuth(t, map[string]string{"OAUTH2_TOKEN_TTL": clientTokenTTL.String(), "LOG_LEVEL": "info"})
	ts := startTasks(t, nil, map[string]string{"BETTER_AUTH_URL": auth.url})
	tokenURL := auth.url + "/api/auth/oauth2/token"

	annToken, annID := auth.signUp("ann-grpc@example.com")
	bobToken, bobID := auth.signUp("bob-grpc@example.com")
	reader := auth.registerClient("reports", "tasks:read")
	writer := auth.registerClient("importer", "tasks:read tasks:write")
	bare := auth.registerClient("no-scopes", "")
	retired := auth.registerClient("retired", "tasks:read")
	acmeSync := auth.registerClient("acme-sync", "tasks:read:org:acme tasks:write:org:acme")

	// dial connects with authn.Credentials, as another Go service would.
	dial := func(source oauth2.TokenSource) tasksv1.TasksServiceClient {
		conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(authn.Credentials{Source: source, Insecure: true}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return tasksv1.NewTasksServiceClient(conn)
	}
	asUser := func(token string) tasksv1.TasksServiceClient {
		return dial(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token}))
	}
	asService := func(c registeredClient) (tasksv1.TasksServiceClient, oauth2.TokenSource) {
		src, err := authn.ClientCredentials(authn.ClientCredentialsConfig{TokenURL: tokenURL, ClientID: c.id, ClientSecret: c.secret})
		if err != nil {
			t.Fatal(err)
		}
		return dial(src), src
	}
	ctx := func() context.Context { return as(t, "") }

	ann, bob := asUser(annToken), asUser(bobToken)
	annsTask, err := ann.CreateTask(ctx(), &tasksv1.CreateTaskRequest{Title: "ann's, over gRPC", Tags: []string{"e2e"}})
	if err != nil {
		t.Fatal(err)
	}
	if annsTask.GetTask().GetUserId() != annID {
		t.Fatalf("created for %q, want ann %q", annsTask.GetTask().GetUserId(), annID)
	}
	if _, err := bob.CreateTask(ctx(), &tasksv1.CreateTaskRequest{Title: "bob's"}); err != nil {
		t.Fatal(err)
	}
	annsID := annsTask.GetTask().GetId()

	t.Run("a user token lists its own tasks only", func(t *testing.T) {
		resp, err := ann.ListTasks(ctx(), &tasksv1.ListTasksRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if resp.GetTotalCount() != 1 || resp.GetTasks()[0].GetUserId() != annID {
			t.Fatalf("ann's list: %v", resp)
		}
	})
	t.Run("another user's task is PERMISSION_DENIED", func(t *testing.T) {
		wantCode(t, "bob reads ann's task", errOf(bob.GetTask(ctx(), &tasksv1.GetTaskRequest{Id: annsID})), codes.PermissionDenied)
		wantCode(t, "bob names ann", errOf(bob.ListTasks(ctx(), &tasksv1.ListTasksRequest{UserId: annID})), codes.PermissionDenied)
	})
	t.Run("forged and unsigned tokens are UNAUTHENTICATED", func(t *testing.T) {
		header, payload := jwtPart(t, annToken, 0), jwtPart(t, annToken, 1)
		payload["sub"], payload["id"] = bobID, bobID
		sig := annToken[strings.LastIndex(annToken, ".")+1:]
		_, stranger, _ := ed25519.GenerateKey(rand.Reader)
		tests := map[string]string{
			"claims changed under a real signature": enc(header) + "." + enc(payload) + "." + sig,
			"signed by a key not in the JWKS":       signed(header, jwtPart(t, annToken, 1), stranger),
			"alg none":                              enc(map[string]any{"alg": "none", "kid": header["kid"]}) + "." + enc(jwtPart(t, annToken, 1)) + ".",
			"HS256 with the public key":             enc(map[string]any{"alg": "HS256", "kid": header["kid"]}) + "." + enc(jwtPart(t, annToken, 1)) + "." + sig,
		}
		for name, token := range tests {
			_, err := asUser(token).GetTask(ctx(), &tasksv1.GetTaskRequest{Id: annsID})
			wantCode(t, name, err, codes.Unauthenticated)
		}
	})
	t.Run("a service token with tasks:read reads the named user's tasks", func(t *testing.T) {
		svc, _ := asService(reader)
		resp, err := svc.ListTasks(ctx(), &tasksv1.ListTasksRequest{UserId: annID})
		if err != nil || resp.GetTotalCount() != 1 || resp.GetTasks()[0].GetId() != annsID {
			t.Fatalf("list for ann = %v, %v", resp, err)
		}
		wantCode(t, "get bob's task acting for ann", errOf(svc.GetTask(ctx(), &tasksv1.GetTaskRequest{UserId: annID, Id: annsID + 1})), codes.PermissionDenied)
		wantCode(t, "without naming a user", errOf(svc.ListTasks(ctx(), &tasksv1.ListTasksRequest{})), codes.InvalidArgument)
		wantCode(t, "create without tasks:write", errOf(svc.CreateTask(ctx(), &tasksv1.CreateTaskRequest{UserId: annID, Title: "x"})), codes.PermissionDenied)
	})
	t.Run("a service token without scope is PERMISSION_DENIED", func(t *testing.T) {
		svc, _ := asService(bare)
		wantCode(t, "list", errOf(svc.ListTasks(ctx(), &tasksv1.ListTasksRequest{UserId: annID})), codes.PermissionDenied)
		wantCode(t, "create", errOf(svc.CreateTask(ctx(), &tasksv1.CreateTaskRequest{UserId: annID, Title: "x"})), codes.PermissionDenied)
	})
	t.Run("a service with tasks:write writes for the named user, or forwards a user's token", func(t *testing.T) {
		svc, _ := asService(writer)
		made, err := svc.CreateTask(ctx(), &tasksv1.CreateTaskRequest{UserId: bobID, Title: "imported for bob"})
		if err != nil || made.GetTask().GetUserId() != bobID {
			t.Fatalf("create for bob = %v, %v", made, err)
		}
		// Forwarding ann's token: the call is ann's, whatever the service may do.
		fwd := authn.ForwardToken(ctx(), annToken)
		wantCode(t, "ann's forwarded token on bob's task", errOf(svc.GetTask(fwd, &tasksv1.GetTaskRequest{Id: made.GetTask().GetId()})), codes.PermissionDenied)
		if got, err := svc.GetTask(fwd, &tasksv1.GetTaskRequest{Id: annsID}); err != nil || got.GetTask().GetUserId() != annID {
			t.Fatalf("ann's forwarded token on her task = %v, %v", got, err)
		}
	})
	t.Run("a revoked client gets no new token", func(t *testing.T) {
		_, src := asService(retired)
		if _, err := src.Token(); err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		auth.command("clients", "revoke", retired.id)
		_, fresh := asService(retired)
		_, err := fresh.Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != http.StatusUnauthorized {
			t.Fatalf("after revocation: %v, want invalid_client", err)
		}
	})
	t.Run("taskctl lists and creates as a user and as a service", func(t *testing.T) {
		taskctl := buildTaskctl(t)
		run := func(env []string, args ...string) (string, error) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, taskctl, append([]string{"--addr", ts.grpcAddr, "--token-url", tokenURL}, args...)...)
			cmd.Env = append(os.Environ(), env...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := run(nil, "--token", annToken, "create", "--title", "made by taskctl", "--priority", "high", "--tags", "cli,e2e")
		if err != nil || !strings.Contains(out, "made by taskctl") || !strings.Contains(out, "cli,e2e") {
			t.Fatalf("create as ann: %v\n%s", err, out)
		}
		out, err = run(nil, "--token", annToken, "list", "--priority", "high")
		if err != nil || !strings.Contains(out, "made by taskctl") || !strings.Contains(out, "1 of 1 tasks") {
			t.Fatalf("list as ann: %v\n%s", err, out)
		}
		secret := []string{"TASKCTL_CLIENT_SECRET=" + reader.secret}
		out, err = run(secret, "--client-id", reader.id, "--user", annID, "list")
		if err != nil || !strings.Contains(out, "made by taskctl") || !strings.Contains(out, "ann's, over gRPC") || !strings.Contains(out, "2 of 2 tasks") {
			t.Fatalf("list as the reader service for ann: %v\n%s", err, out)
		}
		out, err = run(secret, "--client-id", reader.id, "--user", annID, "create", "--title", "not allowed")
		if err == nil || !strings.Contains(out, "PermissionDenied: this service token needs the tasks:write scope") || !requestIDShown.MatchString(out) {
			t.Fatalf("create as the reader service: %v\n%s", err, out)
		}
		orgSecret := []string{"TASKCTL_CLIENT_SECRET=" + acmeSync.secret}
		out, err = run(orgSecret, "--client-id", acmeSync.id, "--org", "acme", "create", "--title", "acme's, by taskctl")
		if err != nil || !strings.Contains(out, "acme's, by taskctl") {
			t.Fatalf("create as acme's client: %v\n%s", err, out)
		}
		out, err = run(orgSecret, "--client-id", acmeSync.id, "--org", "globex", "list")
		if err == nil || !strings.Contains(out, "PermissionDenied: this service token needs the tasks:read:org:globex scope") {
			t.Fatalf("list globex as acme's client: %v\n%s", err, out)
		}
		out, err = run([]string{"TASKCTL_CLIENT_SECRET=wrong"}, "--client-id", reader.id, "--user", annID, "list")
		if err == nil || !strings.Contains(out, "Unauthenticated") || !strings.Contains(out, "invalid_client") {
			t.Fatalf("a wrong secret: %v\n%s", err, out)
		}
	})
	t.Run("an organization's client, registered in auth, reaches that organization only", func(t *testing.T) {
		svc, src := asService(acmeSync)
		tok, err := src.Token()
		if err != nil || tok.Extra("scope") != "tasks:read:org:acme tasks:write:org:acme" {
			t.Fatalf("token: %v, scope %v", err, tok.Extra("scope"))
		}
		made, err := svc.CreateTask(ctx(), &tasksv1.CreateTaskRequest{OrganizationId: "acme", Title: "synced into acme"})
		if err != nil || made.GetTask().GetOrganizationId() != "acme" || made.GetTask().GetUserId() != "client:"+acmeSync.id {
			t.Fatalf("create in acme: %v %v", made, err)
		}
		// acme's tasks: this one, and taskctl's when that subtest ran first.
		l, err := svc.ListTasks(ctx(), &tasksv1.ListTasksRequest{OrganizationId: "acme"})
		if err != nil || l.GetTotalCount() < 1 || l.GetTasks()[0].GetId() != made.GetTask().GetId() {
			t.Fatalf("list acme: %v %v", l, err)
		}
		for _, tk := range l.GetTasks() {
			if tk.GetOrganizationId() != "acme" {
				t.Fatalf("acme's list holds %v", tk)
			}
		}
		wantCode(t, "list globex", errOf(svc.ListTasks(ctx(), &tasksv1.ListTasksRequest{OrganizationId: "globex"})), codes.PermissionDenied)
		wantCode(t, "ann's personal task", errOf(svc.GetTask(ctx(), &tasksv1.GetTaskRequest{OrganizationId: "acme", Id: annsID})), codes.PermissionDenied)
		wantCode(t, "ann's personal tasks by user", errOf(svc.ListTasks(ctx(), &tasksv1.ListTasksRequest{UserId: annID})), codes.PermissionDenied)
		// ann, with no organization active, does not see acme's task.
		wantCode(t, "ann reads acme's task", errOf(ann.GetTask(ctx(), &tasksv1.GetTaskRequest{Id: made.GetTask().GetId()})), codes.PermissionDenied)
	})
	t.Run("one token request per lifetime across 100 calls, then a fresh token", func(t *testing.T) {
		before := auth.tokenRequests()
		svc, src := asService(reader)
		first, err := src.Token()
		if err != nil {
			t.Fatal(err)
		}
		for i := range 100 {
			if _, err := svc.GetTask(ctx(), &tasksv1.GetTaskRequest{UserId: annID, Id: annsID}); err != nil {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if time.Until(first.Expiry) < clientTokenTTL/4 {
			t.Fatalf("100 calls took too long to judge the cache (%v of the token's life left)", time.Until(first.Expiry))
		}
		if n := auth.tokenRequests() - before; n != 1 {
			t.Fatalf("the auth service saw %d token requests for 100 calls, want 1", n)
		}
		// Past its exp the first token is refused, and the source has moved on.
		time.Sleep(time.Until(first.Expiry) + 1100*time.Millisecond)
		_, err = asUser(first.AccessToken).GetTask(ctx(), &tasksv1.GetTaskRequest{UserId: annID, Id: annsID})
		wantCode(t, "an expired token", err, codes.Unauthenticated)
		if msg := status.Convert(err).Message(); msg != "Token expired" {
			t.Errorf("expired token message %q", msg)
		}
		if _, err := svc.GetTask(ctx(), &tasksv1.GetTaskRequest{UserId: annID, Id: annsID}); err != nil {
			t.Fatalf("after the first token expired: %v", err)
		}
		if n := auth.tokenRequests() - before; n != 2 {
			t.Fatalf("the auth service saw %d token requests over two lifetimes, want 2", n)
		}
	})
}

type registeredClient struct{ id, secret string }

// registerClient runs `auth clients create` and reads the id and secret it prints once.
func (a *authService) registerClient(name, scopes string) registeredClient {
	a.t.Helper()
	out := a.command("clients", "create", "--name", name, "--scopes", scopes)
	var c registeredClient
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			c.id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			c.secret = strings.TrimSpace(v)
		}
	}
	if c.id == "" || c.secret == "" {
		a.t.Fatalf("clients create printed:\n%s", out)
	}
	return c
}

// tokenRequests counts the token endpoint's requests in the auth service's request log.
func (a *authService) tokenRequests() int {
	n := 0
	for _, line := range strings.Split(a.Log.String(), "\n") {
		var entry struct{ Msg, Route string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "request" && entry.Route == "/api/auth/oauth2/token" {
			n++
		}
	}
	return n
}

// signUp makes a user and returns their JWT and id.
func (a *authService) signUp(email string) (string, string) {
	a.t.Helper()
	body := fmt.Sprintf(`{"name":"E2E","email":%q,"password":"password123"}`, email)
	resp, err := http.Post(a.url+"/api/auth/sign-up/email", "application/json", strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		a.t.Fatalf("sign-up: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", a.url+"/api/auth/token", nil)
	req.Header.Set("Authorization", "Bearer "+resp.Header.Get("set-auth-token"))
	tr, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer tr.Body.Close()
	var tok struct{ Token string }
	if err := json.NewDecoder(tr.Body).Decode(&tok); err != nil || tok.Token == "" {
		a.t.Fatalf("token: %v", err)
	}
	claims := jwtPart(a.t, tok.Token, 1)
	return tok.Token, claims["sub"].(string)
}

func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	raw, err := jsonSegment(token, i)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func enc(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func signed(header, claims map[string]any, key ed25519.PrivateKey) string {
	input := enc(header) + "." + enc(claims)
	return input + "." + base64.RawURLEncoding.EncodeToString(ed25519.Sign(key, []byte(input)))
}

// requestIDShown: taskctl quotes the request id it sent when a call fails.
var requestIDShown = regexp.MustCompile(`\(request id [0-9a-f]{24}\)`)

// buildTaskctl builds cmd/taskctl into the test's temporary directory.
func buildTaskctl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "taskctl")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/taskctl").CombinedOutput(); err != nil {
		t.Fatalf("build taskctl: %v\n%s", err, out)
	}
	return bin
}
