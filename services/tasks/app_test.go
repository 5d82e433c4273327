package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testlog"
)

// issuer plays the auth service: an Ed25519 key published by a real JWKS
// HTTP server, and tokens signed with it the way Latch's auth signs them.
type issuer struct {
	t    testing.TB
	kid  string
	priv ed25519.PrivateKey
	jwks *httptest.Server
	iss  string
}

func newIssuer(t testing.TB) *issuer {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	is := &issuer{t: t, kid: "key-1", priv: priv, iss: "http://auth.test"}
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]any{{
		"alg": "EdDSA", "crv": "Ed25519", "kty": "OKP", "kid": is.kid, "x": base64.RawURLEncoding.EncodeToString(pub),
	}}})
	is.jwks = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(is.jwks.Close)
	return is
}

func b64(v any) string {
	var raw []byte
	switch x := v.(type) {
	case []byte:
		raw = x
	case string:
		raw = []byte(x)
	default:
		raw, _ = json.Marshal(x)
	}
	return base64.RawURLEncoding.EncodeToString(raw)
}

// claims are a valid token's claims for user.
func (is *issuer) claims(user string) map[string]any {
	now := time.Now().Unix()
	return map[string]any{
		"sub": user, "id": user, "email": user + "@example.com", "name": user, "emailVerified": true,
		"iat": now, "exp": now + 900, "iss": is.iss, "aud": is.iss,
	}
}

// sign makes a compact JWS from any header and claims, signed with the issuer's key.
func (is *issuer) sign(header, claims map[string]any) string {
	input := b64(header) + "." + b64(claims)
	return input + "." + b64(ed25519.Sign(is.priv, []byte(input)))
}

func (is *issuer) token(user string) string {
	return is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid}, is.claims(user))
}

// serviceToken is a client-credentials token for client id with scope.
func (is *issuer) serviceToken(id, scope string) string {
	c := is.claims("client:" + id)
	for _, k := range []string{"id", "email", "name", "emailVerified"} {
		delete(c, k)
	}
	c["client_id"] = id
	if scope != "" {
		c["scope"] = scope
	}
	return is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid}, c)
}

type tasksServer struct {
	t        testing.TB
	app      *app
	log      *testlog.Buffer // JSON log lines, when env set LOG_LEVEL
	handler  http.Handler
	base     string
	grpcAddr string
	db       *pgx.Conn
	// stopGRPC drains the gRPC server (once; cleanup calls it too).
	stopGRPC func()
}

func startTasks(t testing.TB, is *issuer, env map[string]string) *tasksServer {
	t.Helper()
	dsn := testdb.New(t)
	vars := map[string]string{"DATABASE_URL": dsn, "LATCH_DATA_DIR": t.TempDir(), "REDIS_URL": testdb.RedisURL()}
	if is != nil { // else env names the real auth service
		vars["JWKS_URL"], vars["BETTER_AUTH_URL"] = is.jwks.URL, is.iss
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	// Quiet unless a test asks for a level: then JSON lines it may read.
	logs := &testlog.Buffer{}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, ok := env["LOG_LEVEL"]; ok {
		log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: cfg.LogLevel}))
	}
	a, err := newApp(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler)
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancelGRPC := context.WithCancel(context.Background())
	grpcDone := make(chan error, 1)
	go func() { grpcDone <- a.grpc.Run(ctx, grpcLn, time.Second) }()
	stopGRPC := sync.OnceFunc(func() {
		cancelGRPC()
		if err := <-grpcDone; err != nil {
			t.Errorf("gRPC server: %v", err)
		}
	})
	t.Cleanup(func() {
		stopGRPC()
		srv.Close()
		a.Close()
	})
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return &tasksServer{t: t, app: a, handler: a.handler, base: srv.URL, grpcAddr: grpcLn.Addr().String(), db: conn, log: logs, stopGRPC: stopGRPC}
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

func (ts *tasksServer) call(token, method, path, body string) reply {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, ts.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (ts *tasksServer) rows() int {
	var n int
	if err := ts.db.QueryRow(context.Background(), "SELECT count(*) FROM tasks").Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func (ts *tasksServer) create(token, body string) map[string]any {
	ts.t.Helper()
	r := ts.call(token, "POST", "/api/tasks", body)
	if r.status != 201 {
		ts.t.Fatalf("create %s: %d %s", body, r.status, r.body)
	}
	return r.object(ts.t)
}

func TestAttacksGet401AndWriteNothing(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	good := is.claims("mallory")
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hdr := map[string]any{"alg": "EdDSA", "kid": is.kid}
	pubJSON, _ := http.Get(is.jwks.URL)
	jwksBody, _ := io.ReadAll(pubJSON.Body)
	pubJSON.Body.Close()
	hs256 := func(secret []byte) string {
		input := b64(map[string]any{"alg": "HS256", "kid": is.kid}) + "." + b64(good)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(input))
		return input + "." + b64(m.Sum(nil))
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rs256 := func() string {
		input := b64(map[string]any{"alg": "RS256", "kid": is.kid}) + "." + b64(good)
		sum := sha256.Sum256([]byte(input))
		sig, _ := rsa.SignPKCS1v15(rand.Reader, rsaKey, 5, sum[:]) // 5 = crypto.SHA256
		return input + "." + b64(sig)
	}
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	stranger := func() string {
		input := b64(hdr) + "." + b64(good)
		return input + "." + b64(ed25519.Sign(strangerKey, []byte(input)))
	}
	tampered := func() string {
		parts := strings.Split(is.token("mallory"), ".")
		return parts[0] + "." + b64(with("sub", "ann")) + "." + parts[2]
	}
	now := time.Now().Unix()
	cases := []struct {
		name   string
		header string // the whole Authorization header; "" sends none
	}{
		{"no header", ""},
		{"a scheme other than Bearer", "Basic " + is.token("mallory")},
		{"an empty token", "Bearer "},
		{"garbage", "Bearer not.a.jwt"},
		{"alg none", "Bearer " + b64(map[string]any{"alg": "none", "kid": is.kid}) + "." + b64(good) + "."},
		{"HS256 keyed with the JWKS JSON", "Bearer " + hs256(jwksBody)},
		{"HS256 keyed with the public key", "Bearer " + hs256(is.priv.Public().(ed25519.PublicKey))},
		{"RS256 with a key not in the JWKS", "Bearer " + rs256()},
		{"EdDSA by an unknown key under a known kid", "Bearer " + stranger()},
		{"a tampered payload with the old signature", "Bearer " + tampered()},
		{"expired beyond leeway", "Bearer " + is.sign(hdr, with("exp", now-3600))},
		{"nbf in the future", "Bearer " + is.sign(hdr, with("nbf", now+3600))},
		{"wrong iss", "Bearer " + is.sign(hdr, with("iss", "http://evil.test"))},
		{"wrong aud", "Bearer " + is.sign(hdr, with("aud", "http://other.test"))},
		{"missing sub", "Bearer " + is.sign(hdr, with("sub", nil))},
		{"missing exp", "Bearer " + is.sign(hdr, with("exp", nil))},
		{"no kid", "Bearer " + is.sign(map[string]any{"alg": "EdDSA"}, good)},
		{"unknown kid", "Bearer " + is.sign(map[string]any{"alg": "EdDSA", "kid": "nope"}, good)},
		{"a jwk header", "Bearer " + is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid, "jwk": map[string]any{"kty": "OKP"}}, good)},
		{"a jku header", "Bearer " + is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid, "jku": "http://evil.test/jwks"}, good)},
		{"an x5u header", "Bearer " + is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid, "x5u": "http://evil.test/cert"}, good)},
		{"an unknown crit", "Bearer " + is.sign(map[string]any{"alg": "EdDSA", "kid": is.kid, "crit": []string{"exp-2"}, "exp-2": 1}, good)},
		{"a 1 MB token", "Bearer " + strings.Repeat("a", 1<<20)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", ts.base+"/api/tasks", strings.NewReader(`{"title":"pwned"}`))
			req.Header.Set("Content-Type", "application/json")
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.name == "a 1 MB token" && resp.StatusCode == http.StatusRequestHeaderFieldsTooLarge {
				return // refused by the HTTP server before it reached us: also fine
			}
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("= %d %q (WWW-Authenticate %q), want 401 with a Bearer challenge", resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"))
			}
			var detail map[string]any
			if json.Unmarshal(body, &detail) != nil || detail["detail"] == nil {
				t.Errorf("body %q is not {\"detail\": ...}", body)
			}
		})
	}
	if n := ts.rows(); n != 0 {
		t.Errorf("%d tasks written by rejected requests", n)
	}
	// The same machinery accepts a valid token.
	if r := ts.call(is.token("mallory"), "POST", "/api/tasks", `{"title":"legit"}`); r.status != 201 {
		t.Errorf("valid token refused: %d %s", r.status, r.body)
	}
}

// Every route reaches the ownership rule: 403 for another user's task, 404
// for a missing one; the owner always comes from the token, never the body.
func TestOwnershipNotFoundAndForbidden(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	ann, bob := is.token("ann"), is.token("bob")
	task := ts.create(ann, `{"title":"Ann's secret","user_id":"bob","tags":["x"]}`)
	if task["user_id"] != "ann" {
		t.Fatalf("user_id from the body was honoured: %v", task)
	}
	path := fmt.Sprintf("/api/tasks/%v", task["id"])
	for _, tc := range []struct{ method, path, body string }{
		{"GET", path, ""}, {"PATCH", path, `{"title":"mine now"}`}, {"PATCH", path + "/complete", ""}, {"DELETE", path, ""},
	} {
		if r := ts.call(bob, tc.method, tc.path, tc.body); r.status != 403 || r.object(t)["detail"] == nil {
			t.Errorf("bob %s %s = %d %s, want 403", tc.method, tc.path, r.status, r.body)
		}
		missing := strings.Replace(tc.path, fmt.Sprint(task["id"]), "999999", 1)
		if r := ts.call(ann, tc.method, missing, tc.body); r.status != 404 || string(r.body) != `{"detail":"Task not found"}` {
			t.Errorf("ann %s %s = %d %s, want 404", tc.method, missing, r.status, r.body)
		}
	}
	// That the refusals change nothing, and that bob's list is empty, are
	// the rules' own tests (task/rules_test.go).
}

// The REST surface over the rules: each query parameter reaches its filter,
// and what decoding refuses (JSON, types, dates, ids, sizes) is 422 or 413.
// The rules themselves (limits, enums, sorting, paging) are task/rules_test.go's.
func TestCRUDFiltersAndValidation(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	tok := is.token("carol")
	a := ts.create(tok, `{"title":"Write report","priority":"high","due_date":"2026-12-01T09:00:00Z","tags":["work"]}`)
	ts.create(tok, `{"title":"Water plants","description":"Ferns too","tags":["home"]}`)
	ts.create(tok, `{"title":"Call mum","priority":"low","tags":["home","family"]}`)
	if a["priority"] != "high" || a["due_date"] != "2026-12-01T09:00:00Z" || a["completed"] != false || a["description"] != nil {
		t.Errorf("created = %v", a)
	}
	id := fmt.Sprint(a["id"])
	if r := ts.call(tok, "PATCH", "/api/tasks/"+id+"/complete", ""); r.status != 200 || r.object(t)["completed"] != true {
		t.Errorf("toggle = %d %s", r.status, r.body)
	}
	if r := ts.call(tok, "PATCH", "/api/tasks/"+id, `{"description":"Q4","due_date":null,"completed":false}`); r.status != 200 ||
		r.object(t)["description"] != "Q4" || r.object(t)["due_date"] != nil || r.object(t)["completed"] != false {
		t.Errorf("patch = %d %s", r.status, r.body)
	}
	titles := func(query string) string {
		r := ts.call(tok, "GET", "/api/tasks"+query, "")
		if r.status != 200 {
			t.Fatalf("list %s = %d %s", query, r.status, r.body)
		}
		var list []map[string]any
		_ = json.Unmarshal(r.body, &list)
		out := make([]string, len(list))
		for i, x := range list {
			out[i] = x["title"].(string)
		}
		return strings.Join(out, ",") + "|" + r.header.Get("X-Total-Count")
	}
	for query, want := range map[string]string{
		"":                                       "Call mum,Water plants,Write report|3",
		"?sort=title&order=asc":                  "Call mum,Water plants,Write report|3",
		"?priority=high":                         "Write report|1",
		"?tags=home&sort=title&order=asc":        "Call mum,Water plants|2",
		"?search=FERNS":                          "Water plants|1",
		"?completed=completed":                   "|0",
		"?sort=title&order=asc&limit=1&offset=1": "Water plants|3",
	} {
		if got := titles(query); got != want {
			t.Errorf("GET /api/tasks%s = %s, want %s", query, got, want)
		}
	}
	if r := ts.call(tok, "DELETE", "/api/tasks/"+id, ""); r.status != 204 {
		t.Errorf("delete = %d %s", r.status, r.body)
	}

	before := ts.rows()
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
	}{
		{"malformed JSON", "POST", "/api/tasks", `{"title":`, 422},
		{"wrong types", "POST", "/api/tasks", `{"title":5,"tags":"x"}`, 422},
		{"missing title", "POST", "/api/tasks", `{}`, 422},
		{"bad date", "POST", "/api/tasks", `{"title":"x","due_date":"tomorrow"}`, 422},
		{"a non-integer id", "GET", "/api/tasks/abc", "", 422},
		{"an SQL-ish sort", "GET", "/api/tasks?sort=title%3BDROP%20TABLE%20tasks", "", 422},
		{"a bad order", "GET", "/api/tasks?order=sideways", "", 422},
		{"a non-integer limit", "GET", "/api/tasks?limit=many", "", 422},
		{"a body over 64 KiB", "POST", "/api/tasks", `{"title":"x","description":"` + strings.Repeat("d", 70<<10) + `"}`, 413},
	} {
		r := ts.call(tok, tc.method, tc.path, tc.body)
		if r.status != tc.status || r.object(t)["detail"] == nil {
			t.Errorf("%s = %d %s, want %d with a detail", tc.name, r.status, r.body, tc.status)
		}
	}
	if ts.rows() != before {
		t.Errorf("invalid requests wrote rows")
	}
}

// A page bigger than net/http's chunking threshold still goes out with its
// length: the gateway in front then relays it in one write, not one flush
// per chunk.
func TestResponsesCarryTheirLength(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	tok := is.token("dave")
	for i := range 12 {
		ts.create(tok, fmt.Sprintf(`{"title":"Task %d with a longer title","description":"%s","tags":["a","b"]}`, i, strings.Repeat("d", 200)))
	}
	req, _ := http.NewRequest("GET", ts.base+"/api/tasks", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || len(body) <= 2048 {
		t.Fatalf("list = %d, %d bytes; want 200 and a page over 2 KiB", resp.StatusCode, len(body))
	}
	if resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
		t.Errorf("Content-Length %d, Transfer-Encoding %v for a %d-byte body; want the length, not chunks",
			resp.ContentLength, resp.TransferEncoding, len(body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
}

func base64URL(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
