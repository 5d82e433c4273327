package httplog_test

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/pkg/testlog"
)

// lines parses the JSON log lines written so far.
func lines(t *testing.T, out *testlog.Buffer) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		got = append(got, m)
	}
	return got
}

// linesAfter waits until at least n log lines arrived (a response that was
// flushed reaches the client before its line is written) and returns them.
func linesAfter(t *testing.T, out *testlog.Buffer, n int) []map[string]any {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if got := lines(t, out); len(got) >= n {
			return got
		}
	}
	return lines(t, out)
}

// TestRequestIDsAndRoutes runs Middleware in a real server behind two
// nested route trackers (observe's and tracing's): the id rule, and both
// trackers learning the route the router named.
func TestRequestIDsAndRoutes(t *testing.T) {
	out := &testlog.Buffer{}
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/things/") {
			http.NotFound(w, r)
			return
		}
		httplog.SetRoute(r, "/things/:id")
		_, _ = io.WriteString(w, httplog.RequestID(r.Context()))
	})
	h := httplog.Middleware(slog.New(slog.NewJSONHandler(out, nil)))(router)
	var mu sync.Mutex
	var outer, inner string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req, outerRoute := httplog.TrackRoute(req)
		req, innerRoute := httplog.TrackRoute(req)
		h.ServeHTTP(w, req)
		mu.Lock()
		outer, inner = outerRoute(), innerRoute()
		mu.Unlock()
	}))
	defer srv.Close()

	made := regexp.MustCompile(`^[0-9a-f]{24}$`)
	tests := []struct {
		name, sent, want string // want "" = a new id
		path, route      string
		status           float64
	}{
		{"accepted", "gw-1", "gw-1", "/things/7", "/things/:id", 200},
		{"made when absent", "", "", "/things/7", "/things/:id", 200},
		{"overlong replaced", strings.Repeat("a", 129), "", "/things/7", "/things/:id", 200},
		{"128 kept", strings.Repeat("b", 128), strings.Repeat("b", 128), "/things/7", "/things/:id", 200},
		{"unmatched", "gw-2", "gw-2", "/nothing", "", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.path, nil)
			if tc.sent != "" {
				req.Header.Set(httplog.Header, tc.sent)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			id := resp.Header.Get(httplog.Header)
			if (tc.want != "" && id != tc.want) || (tc.want == "" && !made.MatchString(id)) {
				t.Errorf("id %q, want %q (or a new one)", id, tc.want)
			}
			if tc.status == 200 && string(body) != id {
				t.Errorf("the handler saw request id %q, the client got %q", body, id)
			}
			mu.Lock()
			if outer != tc.route || inner != tc.route {
				t.Errorf("trackers saw %q and %q, want %q", outer, inner, tc.route)
			}
			mu.Unlock()
			all := lines(t, out)
			line := all[len(all)-1]
			if line["msg"] != "request" || line["level"] != "INFO" || line["request_id"] != id || line["method"] != "GET" ||
				line["route"] != tc.route || line["status"] != tc.status {
				t.Errorf("last log line %v, want request_id %q route %q status %v", line, id, tc.route, tc.status)
			}
			if _, ok := line["latency_ms"].(float64); !ok {
				t.Errorf("no latency_ms in %v", line)
			}
			if _, ok := line["user_id"]; ok {
				t.Errorf("user_id in %v, but no handler named a user", line)
			}
		})
	}
}

// TestLoggedStatusAndUser: the line carries the status the client got (200
// when the handler wrote nothing, the final status after a 1xx), and the
// user a handler named, also from a request it derived.
func TestLoggedStatusAndUser(t *testing.T) {
	out := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(out, nil))
	cases := []struct {
		name    string
		handler http.HandlerFunc
		status  float64
		user    any // nil = no user_id field
	}{
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {}, 200, nil},
		{"status only", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }, 204, nil},
		{"second WriteHeader ignored", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusConflict)
			w.WriteHeader(http.StatusOK)
		}, 409, nil},
		{"early hints, then created", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, 201, nil},
		{"flushed", func(w http.ResponseWriter, r *http.Request) { _ = http.NewResponseController(w).Flush() }, 200, nil},
		{"user named on a derived request", func(w http.ResponseWriter, r *http.Request) {
			r = r.WithContext(r.Context())
			httplog.SetUser(r, "user-1")
			w.WriteHeader(http.StatusAccepted)
		}, 202, "user-1"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(httplog.Middleware(log)(tc.handler))
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if float64(resp.StatusCode) != tc.status {
				t.Fatalf("client got %d, want %v", resp.StatusCode, tc.status)
			}
			all := linesAfter(t, out, i+1)
			line := all[len(all)-1]
			if len(all) != i+1 || line["status"] != tc.status || line["user_id"] != tc.user {
				t.Errorf("log line %v, want status %v user_id %v", line, tc.status, tc.user)
			}
		})
	}
}

// TestNoLineBelowInfo: a service logging at warn writes no request lines.
func TestNoLineBelowInfo(t *testing.T) {
	out := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(out, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv := httptest.NewServer(httplog.Middleware(log)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(httplog.Header) == "" || out.String() != "" {
		t.Errorf("id %q, log %q: want an id and no line", resp.Header.Get(httplog.Header), out.String())
	}
}

// TestRecover: a panic is logged with its route and answered 500 with the
// service's body, never a stack trace; after the handler wrote, the client
// keeps what it got. http.ErrAbortHandler passes on to the server, which
// cuts the connection.
func TestRecover(t *testing.T) {
	out := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(out, nil))
	router := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httplog.SetRoute(r, "/boom/:how")
		switch r.URL.Path {
		case "/boom/early":
			panic("before writing")
		case "/boom/late":
			w.WriteHeader(http.StatusAccepted)
			_, _ = io.WriteString(w, "partial")
			panic("after writing")
		case "/boom/abort":
			_, _ = io.WriteString(w, "partial")
			panic(http.ErrAbortHandler)
		}
	})
	srv := httptest.NewServer(httplog.Recover(log, map[string]string{"detail": "Internal Server Error"})(httplog.Middleware(log)(router)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/boom/early")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 500 || string(body) != `{"detail":"Internal Server Error"}` ||
		resp.Header.Get("Content-Type") != "application/json; charset=utf-8" || resp.Header.Get(httplog.Header) == "" {
		t.Errorf("early panic = %d %q %v", resp.StatusCode, body, resp.Header)
	}
	all := lines(t, out)
	if len(all) != 1 || all[0]["msg"] != "panic serving request" || all[0]["level"] != "ERROR" ||
		all[0]["panic"] != "before writing" || all[0]["route"] != "/boom/:how" {
		t.Errorf("log %v, want one error line naming the panic and route", all)
	}

	resp, err = http.Get(srv.URL + "/boom/late")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || string(body) != "partial" {
		t.Errorf("late panic = %d %q, want the 202 already written and nothing more", resp.StatusCode, body)
	}

	resp, err = http.Get(srv.URL + "/boom/abort")
	if err == nil {
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if err == nil {
		t.Error("ErrAbortHandler: the response completed, want the connection cut")
	}
	if n := len(lines(t, out)); n != 2 {
		t.Errorf("%d log lines after the three panics, want 2 (the abort is not an error)", n)
	}
}

// TestStreamingAndHijackThroughTheRecorder: a proxied stream reaches the
// client chunk by chunk, and a protocol switch can take the connection.
func TestStreamingAndHijackThroughTheRecorder(t *testing.T) {
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			conn, buf, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			defer conn.Close()
			_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: demo\r\n\r\nhello")
			_ = buf.Flush()
			return
		}
		_, _ = io.WriteString(w, "first\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("flush: %v", err)
		}
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		_, _ = io.WriteString(w, "second\n")
	})
	log := slog.New(slog.DiscardHandler)
	srv := httptest.NewServer(httplog.Recover(log, "x")(httplog.Middleware(log)(h)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 6)
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first\n" {
		t.Fatalf("first chunk %q, %v", first, err)
	}
	close(release)

	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /hijack HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: demo\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	switched, err := http.ReadResponse(br, nil)
	if err != nil || switched.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("hijack answer %v, %v", switched, err)
	}
	rest, err := io.ReadAll(br) // the handler closes the connection after "hello"
	if err != nil || string(rest) != "hello" {
		t.Errorf("after the switch %q, %v", rest, err)
	}
}
