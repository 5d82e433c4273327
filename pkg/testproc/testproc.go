// Package testproc runs Latch's real binaries inside Go tests: each built
// from source once per test process, started on a free loopback port with
// its output captured, and stopped when the test that started it ends.
//
// A package that uses Build calls Main from its TestMain so that the
// binaries are removed afterwards.
package testproc

import (
	"context"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
)

// ReadyTimeout bounds how long WaitFor polls.
const ReadyTimeout = 30 * time.Second

var builds struct {
	sync.Mutex
	dir  string
	bins map[string]string // import path → binary
}

// Build compiles the main package at importPath (once per test process)
// and returns the binary's path.
func Build(t testing.TB, importPath string) string {
	t.Helper()
	builds.Lock()
	defer builds.Unlock()
	if bin, ok := builds.bins[importPath]; ok {
		return bin
	}
	if builds.dir == "" {
		dir, err := os.MkdirTemp("", "latch-test-bin-")
		if err != nil {
			t.Fatal(err)
		}
		builds.dir, builds.bins = dir, map[string]string{}
	}
	// A directory per build: two main packages may share a base name.
	dir := filepath.Join(builds.dir, strconv.Itoa(len(builds.bins)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, path.Base(importPath))
	if out, err := exec.Command("go", "build", "-o", bin, importPath).CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", importPath, err, out)
	}
	builds.bins[importPath] = bin
	return bin
}

// Main runs the tests and removes what Build compiled.
func Main(m *testing.M) {
	code := m.Run()
	builds.Lock()
	if builds.dir != "" {
		_ = os.RemoveAll(builds.dir)
	}
	builds.Unlock()
	os.Exit(code)
}

// FreePort is a loopback TCP port nothing listens on at the moment.
func FreePort(t testing.TB) int {
	t.Helper()
	addr, err := netip.ParseAddrPort(testdb.RefusedAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	return int(addr.Port())
}

// Process is a running binary.
type Process struct {
	Bin string
	Env []string // the environment it was started with, for Run
	Log *testlog.Buffer
	cmd *exec.Cmd
}

// Start runs bin with args in this process's environment plus env
// ("KEY=value"), its output into Log. It is killed when t ends.
func Start(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Bin: bin, Env: append(os.Environ(), env...), Log: &testlog.Buffer{}}
	ctx, cancel := context.WithCancel(context.Background())
	p.cmd = exec.CommandContext(ctx, bin, args...)
	p.cmd.Env = p.Env
	p.cmd.Stdout, p.cmd.Stderr = p.Log, p.Log
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = p.cmd.Wait() })
	return p
}

// WaitFor polls url until it answers status, failing t with the process's
// log after ReadyTimeout.
func (p *Process) WaitFor(t testing.TB, url string, status int) {
	t.Helper()
	deadline := time.Now().Add(ReadyTimeout)
	for time.Now().Before(deadline) {
		if r, err := http.Get(url); err == nil {
			r.Body.Close()
			if r.StatusCode == status {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer %d in %v; %s's log:\n%s", url, status, ReadyTimeout, filepath.Base(p.Bin), p.Log.String())
}

// Run runs the same binary once more with args and the same environment
// (a subcommand such as `auth keys rotate`) and returns its standard output.
func (p *Process) Run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ReadyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Bin, args...)
	cmd.Env = p.Env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(p.Bin), args, err, out)
	}
	return string(out)
}
