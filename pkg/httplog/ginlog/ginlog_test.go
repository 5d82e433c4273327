package ginlog_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/pkg/httplog/ginlog"
	"github.com/latchid/latch/pkg/testlog"
)

func init() { gin.SetMode(gin.ReleaseMode) }

func lastLine(t *testing.T, out *testlog.Buffer) map[string]any {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
		t.Fatalf("log line %q: %v", lines[len(lines)-1], err)
	}
	return line
}

// TestRequestIDsRoutesAndUsers runs Middleware in a gin router behind two
// nested route trackers (observe's and tracing's): the id rule, both
// trackers learning gin's route pattern, and the user the service names.
func TestRequestIDsRoutesAndUsers(t *testing.T) {
	out := &testlog.Buffer{}
	r := gin.New()
	r.Use(ginlog.Middleware(slog.New(slog.NewJSONHandler(out, nil)), func(c *gin.Context) (string, bool) {
		uid := c.GetString("uid")
		return uid, uid != ""
	}))
	r.GET("/things/:id", func(c *gin.Context) {
		if c.Param("id") == "mine" {
			c.Set("uid", "user-1")
		}
		c.String(http.StatusOK, httplog.RequestID(c.Request.Context()))
	})
	var mu sync.Mutex
	var outer, inner string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req, outerRoute := httplog.TrackRoute(req)
		req, innerRoute := httplog.TrackRoute(req)
		r.ServeHTTP(w, req)
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
		user             any
	}{
		{"accepted", "gw-1", "gw-1", "/things/7", "/things/:id", 200, nil},
		{"made when absent", "", "", "/things/7", "/things/:id", 200, nil},
		{"overlong replaced", strings.Repeat("a", 129), "", "/things/7", "/things/:id", 200, nil},
		{"user named", "gw-3", "gw-3", "/things/mine", "/things/:id", 200, "user-1"},
		{"unmatched", "gw-2", "gw-2", "/nothing", "", 404, nil},
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
			line := lastLine(t, out)
			if line["msg"] != "request" || line["request_id"] != id || line["route"] != tc.route || line["status"] != tc.status || line["user_id"] != tc.user {
				t.Errorf("last log line %v, want request_id %q route %q status %v user_id %v", line, id, tc.route, tc.status, tc.user)
			}
		})
	}
}

// TestRecover: a panic is logged with its route and answered 500 with the
// service's body; once the handler wrote, the client keeps what it got, and
// no handler after the one that panicked runs.
func TestRecover(t *testing.T) {
	out := &testlog.Buffer{}
	log := slog.New(slog.NewJSONHandler(out, nil))
	r := gin.New()
	r.Use(ginlog.Recover(log, gin.H{"detail": "Internal Server Error"}), ginlog.Middleware(log, nil))
	after := func(c *gin.Context) { _, _ = io.WriteString(c.Writer, " and a handler after the panic ran") }
	r.GET("/early/:x", func(*gin.Context) { panic("before writing") }, after)
	r.GET("/late/:x", func(c *gin.Context) {
		c.String(http.StatusAccepted, "partial")
		panic("after writing")
	}, after)
	srv := httptest.NewServer(r)
	defer srv.Close()
	for _, tc := range []struct {
		path, route string
		status      int
		body, panic string
	}{
		{"/early/1", "/early/:x", 500, `{"detail":"Internal Server Error"}`, "before writing"},
		{"/late/1", "/late/:x", 202, "partial", "after writing"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(body) != tc.body {
			t.Errorf("%s = %d %q, want %d %q", tc.path, resp.StatusCode, body, tc.status, tc.body)
		}
		line := lastLine(t, out)
		if line["msg"] != "panic serving request" || line["panic"] != tc.panic || line["route"] != tc.route {
			t.Errorf("%s: log line %v", tc.path, line)
		}
	}
}
