package faults

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// bins holds the service binaries TestMain builds once.
var bins struct{ auth, tasks, gateway string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latch-faults-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins.auth, bins.tasks, bins.gateway = filepath.Join(dir, "auth"), filepath.Join(dir, "tasks"), filepath.Join(dir, "gateway")
	for _, b := range []struct{ out, pkg string }{
		{bins.auth, "github.com/latchid/latch/services/auth"},
		{bins.tasks, "github.com/latchid/latch/services/tasks"},
		{bins.gateway, "github.com/latchid/latch/services/gateway"},
	} {
		if out, err := exec.Command("go", "build", "-o", b.out, b.pkg).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", b.pkg, err, out)
			os.Exit(1)
		}
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// postgres is a private PostgreSQL server: its own data directory and port,
// so a test may stop and start it without touching anyone else's.
type postgres struct {
	t      testing.TB
	dir    string
	port   int
	asUser []string // runuser prefix when the tests run as root
}

func startPostgres(t testing.TB) *postgres {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pgBin, "initdb")); err != nil {
		t.Fatalf("the fault tests need PostgreSQL 15's server binaries in %s: %v", pgBin, err)
	}
	base, err := os.MkdirTemp("", "latch-faults-pg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	p := &postgres{t: t, dir: filepath.Join(base, "data"), port: freePort(t)}
	// initdb refuses to run as root: run the server as the postgres user then.
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs a postgres user to own the private server: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(base, uid, gid); err != nil {
			t.Fatal(err)
		}
		p.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	p.run(filepath.Join(pgBin, "initdb"), "-D", p.dir, "-U", "latch", "--auth=trust", "-E", "UTF8", "--no-sync")
	conf := fmt.Sprintf("\nlisten_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 200\n", p.port, base)
	f, err := os.OpenFile(filepath.Join(p.dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString(conf)
	_ = f.Close()
	p.start()
	t.Cleanup(func() { p.ctl("stop", "-m", "immediate") })
	return p
}

func (p *postgres) run(name string, args ...string) {
	p.t.Helper()
	argv := append(append([]string{}, p.asUser...), append([]string{name}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = os.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		p.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

func (p *postgres) ctl(args ...string) {
	argv := append(append([]string{}, p.asUser...), append([]string{filepath.Join(pgBin, "pg_ctl"), "-D", p.dir, "-w", "-t", "30"}, args...)...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = os.TempDir()
	_ = cmd.Run()
}

func (p *postgres) start() {
	p.t.Helper()
	p.run(filepath.Join(pgBin, "pg_ctl"), "-D", p.dir, "-w", "-t", "30", "-l", filepath.Join(filepath.Dir(p.dir), "server.log"), "start")
}

// stop shuts the server down the way a failover does: connections are cut.
func (p *postgres) stop() {
	p.t.Helper()
	p.run(filepath.Join(pgBin, "pg_ctl"), "-D", p.dir, "-w", "-t", "30", "-m", "fast", "stop")
}

// url is a database's URL. The password is ignored by trust
// authentication; it is there so the tests can check no log shows it.
func (p *postgres) url(db string) string {
	return fmt.Sprintf("postgres://latch:%s@127.0.0.1:%d/%s?sslmode=disable", dbPassword, p.port, db)
}

const dbPassword = "pg-password-never-logged"

func (p *postgres) createDB(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.url("postgres"))
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		p.t.Fatal(err)
	}
	return p.url(name)
}

func (p *postgres) count(db, query string, args ...any) int {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, p.url(db))
	if err != nil {
		p.t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

// redisServer is a private redis-server process.
type redisServer struct {
	cmd  *exec.Cmd
	port int
	done chan struct{}
}

func startRedis(t testing.TB) *redisServer {
	t.Helper()
	r := &redisServer{port: freePort(t), done: make(chan struct{})}
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(r.stop)
	waitFor(t, 10*time.Second, "redis-server to listen", func() bool {
		c, err := net.DialTimeout("tcp", r.addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return r
}

func (r *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }
func (r *redisServer) url() string  { return "redis://" + r.addr() + "/0" }

func (r *redisServer) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// service is a running auth or tasks process.
type service struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan struct{}
	err  error
}

// syncBuffer collects a process's output; the process writes while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startService runs bin serve on a free port with env and waits until it
// answers /healthz.
func startService(t testing.TB, name, bin string, env map[string]string) *service {
	t.Helper()
	return startServiceOn(t, name, bin, freePort(t), env)
}

// startServiceOn is startService on a given port (auth must know its URL
// before it starts, to put it in its tokens).
func startServiceOn(t testing.TB, name, bin string, port int, env map[string]string) *service {
	t.Helper()
	s := &service{t: t, name: name, base: fmt.Sprintf("http://127.0.0.1:%d", port), logs: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = []string{"PORT=" + strconv.Itoa(port), "PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LATCH_DATA_DIR=" + t.TempDir()}
	for k, v := range env {
		s.cmd.Env = append(s.cmd.Env, k+"="+v)
	}
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.err = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(s.logs.String(), 40))
		}
	})
	waitFor(t, 20*time.Second, name+" to answer /healthz", func() bool {
		select {
		case <-s.done:
			t.Fatalf("%s exited at start: %v\n%s", name, s.err, s.logs.String())
		default:
		}
		resp, err := http.Get(s.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	return s
}

// stop sends SIGTERM and waits for the process to exit.
func (s *service) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

func waitFor(t testing.TB, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const authSecret = "faults-secret-0123456789abcdefghijklmnopqrstuv"

// system is auth and tasks over a private PostgreSQL (and Redis when asked).
type system struct {
	pg    *postgres
	redis *redisServer
	auth  *service
	tasks *service
}

type options struct {
	redis    bool
	authEnv  map[string]string
	tasksEnv map[string]string
}

func startSystem(t testing.TB, o options) *system {
	t.Helper()
	s := &system{pg: startPostgres(t)}
	authDB, tasksDB := s.pg.createDB("auth"), s.pg.createDB("tasks")
	authPort := freePort(t)
	authBase := fmt.Sprintf("http://127.0.0.1:%d", authPort)
	authEnv := map[string]string{"DATABASE_URL": authDB, "BETTER_AUTH_SECRET": authSecret, "BETTER_AUTH_URL": authBase}
	for k, v := range o.authEnv {
		authEnv[k] = v
	}
	s.auth = startServiceOn(t, "auth", bins.auth, authPort, authEnv)
	// A port of its own for gRPC too: the default 9000 would collide with a
	// second tasks process, or with anything else on the machine.
	tasksEnv := map[string]string{"DATABASE_URL": tasksDB, "BETTER_AUTH_URL": authBase, "GRPC_PORT": strconv.Itoa(freePort(t))}
	if o.redis {
		s.redis = startRedis(t)
		tasksEnv["REDIS_URL"] = s.redis.url()
	}
	for k, v := range o.tasksEnv {
		tasksEnv[k] = v
	}
	s.tasks = startService(t, "tasks", bins.tasks, tasksEnv)
	return s
}
