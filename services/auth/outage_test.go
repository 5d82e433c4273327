package main

import (
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
)

// tcpProxy is a real TCP hop between the service and PostgreSQL that the
// test can cut and restore, as a failover or a network partition would.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	p := &tcpProxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every open connection.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *tcpProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.serve(ln)
}

func TestDatabaseOutageAnswers503AndRecoversByItself(t *testing.T) {
	t.Parallel()
	real := testdb.New(t)
	u, _ := url.Parse(real)
	proxy := newTCPProxy(t, u.Host)
	proxied := *u
	proxied.Host = proxy.addr
	ts := startAuth(t, map[string]string{"DATABASE_URL": proxied.String(), "ADMIN_DATABASE_URL": real})
	cookie := ts.signUp("outage@example.com", "password123").sessionCookie(t)

	proxy.cut()
	for _, r := range []req{
		{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": cookie}},
		{method: "POST", path: "/api/auth/sign-up/email", body: `{"name":"x","email":"during@example.com","password":"password123"}`},
	} {
		resp := ts.do(r)
		if resp.status != 503 || resp.json(t)["code"] != "SERVICE_UNAVAILABLE" || resp.header.Get("Retry-After") == "" {
			t.Errorf("%s %s during the outage = %d %s, want 503 SERVICE_UNAVAILABLE with Retry-After", r.method, r.path, resp.status, resp.body)
		}
		if strings.Contains(string(resp.body), "goroutine") || strings.Contains(string(resp.body), "dial") {
			t.Errorf("the 503 leaks internals: %s", resp.body)
		}
	}

	proxy.restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := ts.do(req{method: "GET", path: "/api/auth/get-session", headers: map[string]string{"Cookie": cookie}})
		if resp.status == 200 && string(resp.body) != "null" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no recovery 10 s after the database came back: %d %s", resp.status, resp.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := ts.count(`SELECT count(*) FROM "user" WHERE email = 'during@example.com'`); n != 0 {
		t.Errorf("the sign-up during the outage left %d rows", n)
	}
}
