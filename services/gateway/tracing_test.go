package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/latchid/latch/pkg/tracing/tracingtest"
)

// TestTracingFollowsTheRequestUpstream: with OTEL_EXPORTER_OTLP_ENDPOINT
// set, a request carrying a traceparent becomes a gateway server span of
// that trace, named by route; the proxied call is its child client span,
// and the upstream receives a traceparent naming that client span, so the
// service behind continues the same trace.
func TestTracingFollowsTheRequestUpstream(t *testing.T) {
	const (
		traceID = "5af7651916cd43dd8448eb211c80319c"
		parent  = "c7ad6b7169203331"
	)
	var mu sync.Mutex
	var upstreamSaw string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/auth/get-session" { // not the revocation feed's background polls
			mu.Lock()
			upstreamSaw = r.Header.Get("traceparent")
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "null")
	}))
	defer upstream.Close()
	rec := tracingtest.New(t)
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"AUTH_URL": upstream.URL, "TASKS_URL": upstream.URL, "OTEL_EXPORTER_OTLP_ENDPOINT": rec.Endpoint()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(a.handler)
	defer gw.Close()

	req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/auth/get-session", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-"+parent+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	gw.Close()
	a.Close() // flushes, as on shutdown

	var server, client []tracingtest.Span
	for _, s := range rec.Spans() {
		if s.Resource["service.name"] != "gateway" || s.TraceID != traceID {
			t.Errorf("span %q: service %q, trace %s", s.Name, s.Resource["service.name"], s.TraceID)
		}
		switch s.Kind {
		case tracepb.Span_SPAN_KIND_SERVER:
			server = append(server, s)
		case tracepb.Span_SPAN_KIND_CLIENT:
			client = append(client, s)
		}
	}
	if len(server) != 1 || len(client) != 1 {
		t.Fatalf("want one server and one client span, got %+v", rec.Spans())
	}
	if s := server[0]; s.ParentSpanID != parent || s.Name != "GET /api/auth/*path" || s.Attributes["http.route"] != "/api/auth/*path" {
		t.Errorf("server span %+v", s)
	}
	if c := client[0]; c.ParentSpanID != server[0].SpanID {
		t.Errorf("client span %+v is not the server span's child", c)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "00-" + traceID + "-" + client[0].SpanID + "-01"; upstreamSaw != want {
		t.Errorf("upstream got traceparent %q, want %q", upstreamSaw, want)
	}
}

// TestTracingOffByDefault: without the variables the gateway builds no
// tracing, so its handler and upstream transport stay unwrapped.
func TestTracingOffByDefault(t *testing.T) {
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.tracing.Enabled() {
		t.Fatal("tracing on without OTEL_EXPORTER_OTLP_ENDPOINT")
	}
}
