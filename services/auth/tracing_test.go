package main

import (
	"context"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/pkg/tracing/tracingtest"
)

// TestTracingContinuesCallersTraces: with OTEL_EXPORTER_OTLP_ENDPOINT set,
// requests carrying a traceparent (from the gateway) become server spans
// of that trace from service "auth", named by route: Better Auth's API and
// the OAuth2 token endpoint alike. Probes make none.
func TestTracingContinuesCallersTraces(t *testing.T) {
	t.Parallel()
	rec := tracingtest.New(t)
	ts := startAuth(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rec.Endpoint()})
	const parent = "d7ad6b7169203331"
	tests := []struct {
		traceID, method, path, body, route string
		status                             int
	}{
		{"6af7651916cd43dd8448eb211c80319c", "GET", "/api/auth/get-session", "", "/api/auth/get-session", 200},
		{"7af7651916cd43dd8448eb211c80319c", "POST", "/api/auth/sign-in/email", `{"email":"nobody@example.com","password":"wrong-password"}`, "/api/auth/sign-in/email", 401},
		{"8af7651916cd43dd8448eb211c80319c", "POST", "/api/auth/oauth2/token", "grant_type=client_credentials", "/api/auth/oauth2/token", 401},
	}
	for _, tc := range tests {
		r := req{method: tc.method, path: tc.path, body: tc.body, headers: map[string]string{"traceparent": "00-" + tc.traceID + "-" + parent + "-01"}}
		if tc.path == "/api/auth/oauth2/token" {
			r.contentType = "application/x-www-form-urlencoded"
		}
		if got := ts.do(r); got.status != tc.status {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, got.status, got.body)
		}
	}
	if got := ts.do(req{method: "GET", path: "/readyz"}); got.status != 200 {
		t.Fatalf("readyz: %d", got.status)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.app.tracing.Shutdown(ctx); err != nil { // what Close does on shutdown
		t.Fatal(err)
	}

	spans := map[string]tracingtest.Span{}
	for _, s := range rec.Spans() {
		if s.Kind != tracepb.Span_SPAN_KIND_SERVER {
			continue
		}
		if _, dup := spans[s.TraceID]; dup || s.Resource["service.name"] != "auth" {
			t.Errorf("span %+v", s)
		}
		spans[s.TraceID] = s
	}
	if len(spans) != len(tests) {
		t.Errorf("%d server spans, want %d (none for /readyz): %+v", len(spans), len(tests), rec.Spans())
	}
	for _, tc := range tests {
		s, ok := spans[tc.traceID]
		if !ok || s.ParentSpanID != parent || s.Name != tc.method+" "+tc.route || s.Attributes["http.route"] != tc.route {
			t.Errorf("%s %s: span %+v", tc.method, tc.path, s)
		}
	}
}

// TestTracingOffByDefault: without the variables auth builds no tracing.
func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	if ts.app.tracing.Enabled() {
		t.Fatal("tracing on without OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil || cfg.Tracing != (tracing.Config{ServiceName: "auth"}) {
		t.Fatalf("default tracing config %+v, %v", cfg.Tracing, err)
	}
}
