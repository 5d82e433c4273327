package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testproc"
)

// TestWithTheRealAuthService builds and runs the auth service, signs a user
// up, takes the JWT from /api/auth/token and spends it here.
func TestWithTheRealAuthService(t *testing.T) {
	t.Parallel()
	auth := startAuth(t, nil)
	authURL := auth.url

	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": testdb.New(t), "BETTER_AUTH_URL": authURL, "REDIS_URL": testdb.RedisURL()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	tasks := httptest.NewServer(a.handler)
	t.Cleanup(func() { tasks.Close(); a.Close() })

	post := func(url, body string, header map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	tokenFor := func(email string) (string, string) {
		resp := post(authURL+"/api/auth/sign-up/email", fmt.Sprintf(`{"name":"E2E","email":%q,"password":"password123"}`, email), nil)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("sign-up: %d", resp.StatusCode)
		}
		req, _ := http.NewRequest("GET", authURL+"/api/auth/token", nil)
		req.Header.Set("Authorization", "Bearer "+resp.Header.Get("set-auth-token"))
		tr, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Body.Close()
		var body struct{ Token string }
		_ = json.NewDecoder(tr.Body).Decode(&body)
		var user struct{ Sub string }
		payload, _ := jsonSegment(body.Token, 1)
		_ = json.Unmarshal(payload, &user)
		return body.Token, user.Sub
	}
	annToken, annID := tokenFor("ann-e2e@example.com")
	bobToken, _ := tokenFor("bob-e2e@example.com")

	resp := post(tasks.URL+"/api/tasks", `{"title":"from a real token"}`, map[string]string{"Authorization": "Bearer " + annToken})
	var created map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != 201 || created["user_id"] != annID {
		t.Fatalf("create with the auth service's JWT = %d %v (sub %s)", resp.StatusCode, created, annID)
	}
	get := func(token, path string) int {
		req, _ := http.NewRequest("GET", tasks.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.StatusCode
	}
	if s := get(annToken, "/api/tasks"); s != 200 {
		t.Errorf("list = %d", s)
	}
	if s := get(bobToken, fmt.Sprintf("/api/tasks/%v", created["id"])); s != 403 {
		t.Errorf("bob reading ann's task = %d, want 403", s)
	}
}

// authService is the real auth binary, built from source once per test run
// and started on its own PostgreSQL database.
type authService struct {
	*testproc.Process
	t   *testing.T
	url string
}

func startAuth(t *testing.T, env map[string]string) *authService {
	t.Helper()
	port := testproc.FreePort(t)
	a := &authService{t: t, url: fmt.Sprintf("http://127.0.0.1:%d", port)}
	vars := []string{"DATABASE_URL=" + testdb.New(t), "BETTER_AUTH_URL=" + a.url, fmt.Sprintf("PORT=%d", port),
		"BETTER_AUTH_SECRET=e2e-secret-0123456789abcdefghijklmnopqrstuvwxyz", "LOG_LEVEL=warn", "LATCH_DATA_DIR=" + t.TempDir()}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	a.Process = testproc.Start(t, testproc.Build(t, "github.com/latchid/latch/services/auth"), vars, "serve")
	a.WaitFor(t, a.url+"/api/auth/ok", http.StatusOK)
	return a
}

// command runs `auth args...` against the same database and returns its output.
func (a *authService) command(args ...string) string {
	a.t.Helper()
	return a.Run(a.t, args...)
}

// TestMain removes the binaries testproc built.
func TestMain(m *testing.M) { testproc.Main(m) }

func jsonSegment(jwt string, i int) ([]byte, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWT")
	}
	return base64URL(parts[i])
}
