package httplog_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/pkg/testlog"
)

// TestRequestIDsAndRoutes runs Middleware in a real server behind two
// nested route trackers (observe's and tracing's): the id rule, and both
// trackers learning the route.
func TestRequestIDsAndRoutes(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	out := &testlog.Buffer{}
	r := gin.New()
	r.Use(httplog.Middleware(slog.New(slog.NewJSONHandler(out, nil)), nil))
	r.GET("/things/:id", func(c *gin.Context) { c.String(http.StatusOK, httplog.RequestID(c.Request.Context())) })
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
	}{
		{"accepted", "gw-1", "gw-1", "/things/7", "/things/:id"},
		{"made when absent", "", "", "/things/7", "/things/:id"},
		{"overlong replaced", strings.Repeat("a", 129), "", "/things/7", "/things/:id"},
		{"128 kept", strings.Repeat("b", 128), strings.Repeat("b", 128), "/things/7", "/things/:id"},
		{"unmatched", "gw-2", "gw-2", "/nothing", ""},
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
			resp.Body.Close()
			id := resp.Header.Get(httplog.Header)
			if (tc.want != "" && id != tc.want) || (tc.want == "" && !made.MatchString(id)) {
				t.Errorf("id %q, want %q (or a new one)", id, tc.want)
			}
			mu.Lock()
			if outer != tc.route || inner != tc.route {
				t.Errorf("trackers saw %q and %q, want %q", outer, inner, tc.route)
			}
			mu.Unlock()
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil || line["request_id"] != id {
				t.Errorf("last log line %v (%v), want request_id %q", line, err, id)
			}
		})
	}
}
