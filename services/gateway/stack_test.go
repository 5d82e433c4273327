package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
	"github.com/latchid/latch/pkg/testproc"
)

// TestMain removes the binaries testproc built.
func TestMain(m *testing.M) { testproc.Main(m) }

// stack is the whole system as a browser sees it: the real auth and tasks
// binaries on PostgreSQL behind this gateway.
type stack struct {
	URL     string // the gateway, the only origin the client uses
	Public  string // BETTER_AUTH_URL: URL, or its https name when TLS ends in front
	authLog *testlog.Buffer
}

// tokenCalls counts GET /api/auth/token requests in the auth service's own
// request log: the exchanges the gateway made.
func (s *stack) tokenCalls() int {
	return strings.Count(s.authLog.String(), `"route":"/api/auth/token"`)
}

// startStack starts the system; authEnv adds to the auth service's environment.
func startStack(t *testing.T, authEnv ...string) *stack {
	t.Helper()
	return startStackOn(t, "http", nil, authEnv...)
}

// startStackWith is startStack with settings for the gateway too.
func startStackWith(t *testing.T, gatewayEnv map[string]string, authEnv ...string) *stack {
	t.Helper()
	return startStackOn(t, "http", gatewayEnv, authEnv...)
}

// startStackOn starts the system with a public base URL of the given
// scheme. With https (TLS ending in front of the gateway), auth names its
// cookies __Secure-…: clients here send Cookie headers by hand, since the
// gateway itself still listens on plain http. gatewayEnv adds to (or
// overrides) the gateway's settings.
func startStackOn(t *testing.T, scheme string, gatewayEnv map[string]string, authEnv ...string) *stack {
	t.Helper()
	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Auth's public base URL is the gateway's origin: its cookies, trusted
	// origin and the JWTs' iss/aud are the gateway's, as in `make run`.
	public := scheme + "://" + gwLn.Addr().String()
	authPort, tasksPort := testproc.FreePort(t), testproc.FreePort(t)
	authURL := fmt.Sprintf("http://127.0.0.1:%d", authPort)
	tasksURL := fmt.Sprintf("http://127.0.0.1:%d", tasksPort)

	auth := testproc.Start(t, testproc.Build(t, "github.com/latchid/latch/services/auth"), append([]string{
		"DATABASE_URL=" + testdb.New(t), "BETTER_AUTH_URL=" + public, fmt.Sprintf("PORT=%d", authPort),
		"BETTER_AUTH_SECRET=gateway-test-secret-0123456789abcdefghijklmnop", "LOG_LEVEL=info", "LATCH_DATA_DIR=" + t.TempDir(),
	}, authEnv...), "serve")
	auth.WaitFor(t, authURL+"/api/auth/ok", http.StatusOK)
	tasks := testproc.Start(t, testproc.Build(t, "github.com/latchid/latch/services/tasks"), []string{
		"DATABASE_URL=" + testdb.New(t), "BETTER_AUTH_URL=" + public, "JWKS_URL=" + authURL + "/api/auth/jwks",
		fmt.Sprintf("PORT=%d", tasksPort), fmt.Sprintf("GRPC_PORT=%d", testproc.FreePort(t)),
		"LOG_LEVEL=warn", "LATCH_DATA_DIR=" + t.TempDir(),
	}, "serve")
	tasks.WaitFor(t, tasksURL+"/api/tasks", http.StatusUnauthorized)
	s := &stack{URL: "http://" + gwLn.Addr().String(), Public: public, authLog: auth.Log}

	env := map[string]string{"AUTH_URL": authURL, "TASKS_URL": tasksURL, "BETTER_AUTH_URL": public, "LOG_LEVEL": "warn"}
	if scheme == "https" {
		env["FRONTEND_URL"] = public // the origin browsers send, as behind a TLS proxy
	}
	for k, v := range gatewayEnv {
		env[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewUnstartedServer(a.handler)
	gw.Listener.Close()
	gw.Listener = gwLn
	gw.Start()
	t.Cleanup(func() { gw.Close(); a.Close() })
	return s
}

func mustURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}
