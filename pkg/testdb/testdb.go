// Package testdb gives integration tests their own PostgreSQL database and
// checks that the real Redis is there, so test packages run in parallel
// against real servers without seeing each other's rows.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// DefaultPostgresURL and DefaultRedisURL are the local servers DEVELOPERS.md
// describes; TEST_DATABASE_URL and TEST_REDIS_URL override them.
const (
	DefaultPostgresURL = "postgres://root@127.0.0.1:5432/test?sslmode=disable"
	DefaultRedisURL    = "redis://127.0.0.1:6379/0"
)

const startPostgres = "start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start (see DEVELOPERS.md)"
const startRedis = `start it with: redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no (see DEVELOPERS.md)`

// PostgresURL is the administrative connection the tests create databases through.
func PostgresURL() string {
	if v := os.Getenv("TEST_DATABASE_URL"); v != "" {
		return v
	}
	return DefaultPostgresURL
}

// RedisURL is the Redis the tests use.
func RedisURL() string {
	if v := os.Getenv("TEST_REDIS_URL"); v != "" {
		return v
	}
	return DefaultRedisURL
}

// Create makes an empty database whose name starts with prefix and returns
// its URL and a function that drops it. It fails within seconds, saying how
// to start PostgreSQL, when the server is not reachable.
func Create(ctx context.Context, prefix string) (dsn string, drop func(), err error) {
	admin := PostgresURL()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := connect(ctx, admin)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(context.Background())

	name := sanitize(prefix) + "_" + randomSuffix()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create test database %s: %w", name, err)
	}
	u, err := url.Parse(admin)
	if err != nil {
		return "", nil, fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := connect(ctx, admin)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// New creates a database for one test (or one TestMain via Main) and drops
// it when the test ends.
func New(t testing.TB) string {
	t.Helper()
	dsn, drop, err := Create(context.Background(), t.Name())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	return dsn
}

// Main runs a package's tests against one fresh database whose URL it passes
// to setup; the database is dropped afterwards. Use it from TestMain.
func Main(m *testing.M, prefix string, setup func(dsn string)) int {
	dsn, drop, err := Create(context.Background(), prefix)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer drop()
	setup(dsn)
	return m.Run()
}

// Redis returns a client on the test Redis, failing fast with instructions
// when it is not reachable.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("parse TEST_REDIS_URL: %v", err)
	}
	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		t.Fatalf("Redis is not reachable at %s (%v); %s", opts.Addr, err, startRedis)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func connect(ctx context.Context, dsn string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse TEST_DATABASE_URL: %w", err)
	}
	cfg.ConnectTimeout = 3 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL is not reachable at %s:%d (%v); %s", cfg.Host, cfg.Port, err, startPostgres)
	}
	return conn, nil
}

func sanitize(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[:40]
	}
	return "t_" + out
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// HungServer is the address of a TCP server that accepts connections and
// never answers: a Redis (or any peer) that hangs rather than refuses.
func HungServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	return ln.Addr().String()
}

// RefusedAddr is a loopback address nothing listens on: a peer that is
// down and refuses connections.
func RefusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
