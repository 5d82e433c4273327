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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
)

// binaries holds the auth and tasks services, built once per test run.
var binaries struct {
	once       sync.Once
	dir        string
	err        error
	auth, task string
}

func buildServices(t *testing.T) (authBin, tasksBin string) {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = os.MkdirTemp("", "latch-gateway-test-")
		if binaries.err != nil {
			return
		}
		binaries.auth = filepath.Join(binaries.dir, "auth")
		binaries.task = filepath.Join(binaries.dir, "tasks")
		for bin, pkg := range map[string]string{binaries.auth: "github.com/latchid/latch/services/auth", binaries.task: "github.com/latchid/latch/services/tasks"} {
			if out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput(); err != nil {
				binaries.err = fmt.Errorf("build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.auth, binaries.task
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		_ = os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}

// stack is the whole system as a browser sees it: the real auth and tasks
// binaries on PostgreSQL behind this gateway.
type stack struct {
	URL     string // the gateway, the only origin the client uses
	authLog *testlog.Buffer
}

// tokenCalls counts GET /api/auth/token requests in the auth service's own
// request log: the exchanges the gateway made.
func (s *stack) tokenCalls() int {
	return strings.Count(s.authLog.String(), `"route":"/api/auth/token"`)
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startStack starts the system; authEnv adds to the auth service's environment.
func startStack(t *testing.T, authEnv ...string) *stack {
	t.Helper()
	authBin, tasksBin := buildServices(t)
	gwLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Auth's public base URL is the gateway's origin: its cookies, trusted
	// origin and the JWTs' iss/aud are the gateway's, as in `make run`.
	public := "http://" + gwLn.Addr().String()
	authPort, tasksPort := freePort(t), freePort(t)
	authURL := fmt.Sprintf("http://127.0.0.1:%d", authPort)
	tasksURL := fmt.Sprintf("http://127.0.0.1:%d", tasksPort)
	s := &stack{URL: public, authLog: &testlog.Buffer{}}

	ctx, cancel := context.WithCancel(context.Background())
	start := func(bin string, logTo io.Writer, env ...string) {
		cmd := exec.CommandContext(ctx, bin, "serve")
		cmd.Env = append(os.Environ(), env...)
		cmd.Stderr = logTo
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	}
	start(authBin, s.authLog, append([]string{"DATABASE_URL=" + testdb.New(t), "BETTER_AUTH_URL=" + public, fmt.Sprintf("PORT=%d", authPort),
		"BETTER_AUTH_SECRET=gateway-test-secret-0123456789abcdefghijklmnop", "LOG_LEVEL=info", "LATCH_DATA_DIR=" + t.TempDir()}, authEnv...)...)
	waitReady(t, authURL+"/api/auth/ok", s.authLog)
	tasksLog := &testlog.Buffer{}
	start(tasksBin, tasksLog, "DATABASE_URL="+testdb.New(t), "BETTER_AUTH_URL="+public,
		"JWKS_URL="+authURL+"/api/auth/jwks", fmt.Sprintf("PORT=%d", tasksPort), fmt.Sprintf("GRPC_PORT=%d", freePort(t)),
		"LOG_LEVEL=warn", "LATCH_DATA_DIR="+t.TempDir())
	waitReady(t, tasksURL+"/api/tasks", tasksLog, http.StatusUnauthorized)

	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"AUTH_URL": authURL, "TASKS_URL": tasksURL, "LOG_LEVEL": "warn"}[k]
	})
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

func waitReady(t *testing.T, url string, log fmt.Stringer, status ...int) {
	t.Helper()
	want := http.StatusOK
	if len(status) > 0 {
		want = status[0]
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == want {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready in 30 s; its log:\n%s", url, log.String())
}

func mustURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u
}
