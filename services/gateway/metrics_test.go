package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/observe/observetest"
	"github.com/latchid/latch/services/gateway/exchange"
	"github.com/latchid/latch/services/gateway/router"
	"github.com/latchid/latch/services/gateway/web"
)

func TestUpstreamMetrics(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }))
	defer failing.Close()
	fine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fine.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name, url, reason string
		failures          float64
	}{
		{"answers", fine.URL, "5xx", 0},
		{"5xx", failing.URL, "5xx", 1},
		{"timeout", slow.URL, "timeout", 1},
		{"unreachable", closed, "unreachable", 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.url)
			transport := &http.Transport{ResponseHeaderTimeout: 200 * time.Millisecond}
			m := newUpstreamMetrics(observe.New("gateway", nil), transport, map[string][]*url.URL{"tasks": {u}})
			req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
			if resp, err := m.RoundTrip(req); err == nil {
				resp.Body.Close()
			}
			if got := testutil.ToFloat64(m.failures.WithLabelValues("tasks", tc.reason)); got != tc.failures {
				t.Errorf("gateway_upstream_errors_total{reason=%q} = %v, want %v", tc.reason, got, tc.failures)
			}
			if n := testutil.CollectAndCount(m.duration); n != 1 {
				t.Errorf("upstream duration series = %d, want 1 (upstream=tasks)", n)
			}
		})
	}
}

// A request the first replica refused: the failed try is an upstream error,
// the second try a retry, both under the upstream's name.
func TestRetryMetrics(t *testing.T) {
	fine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer fine.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed, _ := url.Parse("http://" + ln.Addr().String())
	ln.Close()
	up, _ := url.Parse(fine.URL)
	replicas := []*url.URL{closed, up}

	obs := observe.New("gateway", nil)
	m := newUpstreamMetrics(obs, &http.Transport{}, map[string][]*url.URL{"tasks": replicas})
	b := router.NewBalancer("tasks", replicas, m, nil, retryCounter(obs))
	req, _ := http.NewRequest(http.MethodPost, b.URL().String()+"/api/tasks", strings.NewReader(`{"title":"t"}`))
	resp, err := b.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := testutil.ToFloat64(m.failures.WithLabelValues("tasks", "unreachable")); got != 1 {
		t.Errorf("gateway_upstream_errors_total{upstream=tasks,reason=unreachable} = %v, want 1", got)
	}
	n, err := testutil.GatherAndCount(obs.Gatherer(), "gateway_upstream_retries_total")
	if err != nil || n != 1 {
		t.Fatalf("gateway_upstream_retries_total series = %d, %v", n, err)
	}
	if err := testutil.GatherAndCompare(obs.Gatherer(), strings.NewReader(`
# HELP gateway_upstream_retries_total Requests sent to another replica of an upstream after the first refused the connection (or, for GET/HEAD/OPTIONS, failed before answering).
# TYPE gateway_upstream_retries_total counter
gateway_upstream_retries_total{service="gateway",upstream="tasks"} 1
`), "gateway_upstream_retries_total"); err != nil {
		t.Error(err)
	}
}

// TestRequestMetricsCountTheFinalStatus: a request sent with Expect:
// 100-continue is proxied with its 100 Continue passed on (httputil does
// that since Go 1.20), and counted, logged and traced by its final status,
// not as a 100.
func TestRequestMetricsCountTheFinalStatus(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body) // reading is what sends the 100 Continue
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b)
	}))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	log := slog.New(slog.DiscardHandler)
	balancer := router.NewBalancer("tasks", []*url.URL{u}, router.NewTransport(5*time.Second), log, nil)
	obs := observe.New("gateway", log)
	gw := httptest.NewServer(obs.Wrap(router.New(router.Config{Auth: balancer, Tasks: balancer, Cookies: exchange.NewCookies(false)},
		nil, web.Handler(web.Settings{}), log)))
	defer gw.Close()

	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: 5 * time.Second}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/tasks", strings.NewReader(`{"title":"t"}`))
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("Authorization", "Bearer x")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || string(body) != `{"title":"t"}` {
		t.Fatalf("= %d %q", resp.StatusCode, body)
	}
	m := observetest.Scrape(t, gw.URL)
	if got := m.LabelValues("http_requests_total", "status"); len(got) != 1 || got[0] != "201" {
		t.Errorf("http_requests_total statuses %v, want [201]", got)
	}
}
