package tracing_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/httplog"
	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/pkg/tracing/tracingtest"
)

// A caller's trace: the spans Latch makes must continue it.
const (
	traceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + traceID + "-" + callerSpan + "-01"
)

func env(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name         string
		vars         map[string]string
		wantEndpoint string
		wantName     string
		wantErr      string
	}{
		{name: "unset is off", vars: nil, wantName: "tasks"},
		{name: "blank is off", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, wantName: "tasks"},
		{name: "base endpoint gets the traces path", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"},
			wantEndpoint: "http://collector:4318/v1/traces", wantName: "tasks"},
		{name: "base endpoint with a path and slash", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com/otlp/"},
			wantEndpoint: "https://otel.example.com/otlp/v1/traces", wantName: "tasks"},
		{name: "traces endpoint used as given, and wins", vars: map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://ignored:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom"},
			wantEndpoint: "http://collector:4318/custom", wantName: "tasks"},
		{name: "OTEL_SERVICE_NAME renames", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SERVICE_NAME": "tasks-eu"},
			wantEndpoint: "http://c:4318/v1/traces", wantName: "tasks-eu"},
		{name: "OTEL_SDK_DISABLED wins over an endpoint", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"},
			wantName: "tasks"},
		{name: "not a URL", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, wantName: "tasks",
			wantErr: "OTEL_EXPORTER_OTLP_ENDPOINT must be an absolute http(s) URL"},
		{name: "gRPC protocol refused", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
			wantEndpoint: "http://c:4317/v1/traces", wantName: "tasks", wantErr: "OTLP/HTTP only"},
		{name: "http/protobuf accepted", vars: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"},
			wantEndpoint: "http://c:4318/v1/traces", wantName: "tasks"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := envconf.New(env(tc.vars))
			cfg := tracing.FromEnv(e, "tasks")
			if cfg.Endpoint != tc.wantEndpoint || cfg.ServiceName != tc.wantName {
				t.Errorf("got %+v, want endpoint %q, name %q", cfg, tc.wantEndpoint, tc.wantName)
			}
			err := e.Err()
			if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

type plainHandler struct{}

func (*plainHandler) ServeHTTP(http.ResponseWriter, *http.Request) {}

// TestOffInstallsNothing: without an endpoint the service's handler,
// transport and gRPC server are exactly what they were, and no global
// provider is set.
func TestOffInstallsNothing(t *testing.T) {
	global := otel.GetTracerProvider()
	tr, err := tracing.Setup(context.Background(), tracing.FromEnv(envconf.New(env(nil)), "tasks"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() {
		t.Error("enabled without an endpoint")
	}
	h := &plainHandler{}
	if got, ok := tr.Handler(h).(*plainHandler); !ok || got != h {
		t.Errorf("Handler wrapped the handler: %T", tr.Handler(h))
	}
	base := http.DefaultTransport
	if got := tr.Transport(base); got != base {
		t.Errorf("Transport wrapped the transport: %T", got)
	}
	if opts := tr.GRPCServerOptions(); opts != nil {
		t.Errorf("gRPC server options %v, want none", opts)
	}
	if got := otel.GetTracerProvider(); got != global {
		t.Errorf("the global tracer provider changed to %T", got)
	}
	if _, isSDK := otel.GetTracerProvider().(*sdktrace.TracerProvider); isSDK {
		t.Error("an SDK tracer provider is installed globally")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func setup(t *testing.T, rec *tracingtest.Receiver, service string) *tracing.Tracing {
	t.Helper()
	e := envconf.New(env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rec.Endpoint()}))
	tr, err := tracing.Setup(context.Background(), tracing.FromEnv(e, service), slog.New(slog.DiscardHandler))
	if err != nil || e.Err() != nil {
		t.Fatal(err, e.Err())
	}
	if !tr.Enabled() {
		t.Fatal("not enabled with an endpoint")
	}
	return tr
}

func flush(t *testing.T, tr *tracing.Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func only(t *testing.T, spans []tracingtest.Span, kind tracepb.Span_SpanKind) tracingtest.Span {
	t.Helper()
	var found []tracingtest.Span
	for _, s := range spans {
		if s.Kind == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %v span, got %+v", kind, spans)
	}
	return found[0]
}

// TestHTTPServerAndClientSpans: a router behind Handler continues the
// caller's trace, names the span by route, and the call it makes through
// Transport carries the trace on to the next service.
func TestHTTPServerAndClientSpans(t *testing.T) {
	rec := tracingtest.New(t)
	tr := setup(t, rec, "demo")

	var upstreamSaw string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		upstreamSaw = r.Header.Get("traceparent")
	}))
	defer upstream.Close()
	client := &http.Client{Transport: tr.Transport(http.DefaultTransport)}

	r := httplog.Middleware(slog.New(slog.DiscardHandler))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/things/") {
			http.NotFound(w, r)
			return
		}
		httplog.SetRoute(r, "/things/:id")
		req, _ := http.NewRequestWithContext(r.Context(), http.MethodGet, upstream.URL, nil)
		resp, err := client.Do(req)
		if err != nil {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		_ = resp.Body.Close()
		w.WriteHeader(http.StatusNoContent)
	}))
	srv := httptest.NewServer(tr.Handler(r))
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/things/42", nil)
	req.Header.Set("traceparent", traceparent)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("status %d", resp.StatusCode)
	}
	flush(t, tr)

	spans := rec.Spans()
	server := only(t, spans, tracepb.Span_SPAN_KIND_SERVER)
	for what, c := range map[string][2]string{
		"trace id":     {server.TraceID, traceID},
		"parent":       {server.ParentSpanID, callerSpan},
		"name":         {server.Name, "GET /things/:id"},
		"http.route":   {server.Attributes["http.route"], "/things/:id"},
		"status":       {server.Attributes["http.response.status_code"], "204"},
		"service.name": {server.Resource["service.name"], "demo"},
	} {
		if c[0] != c[1] {
			t.Errorf("server span %s = %q, want %q", what, c[0], c[1])
		}
	}
	outbound := only(t, spans, tracepb.Span_SPAN_KIND_CLIENT)
	if outbound.TraceID != traceID || outbound.ParentSpanID != server.SpanID {
		t.Errorf("client span %+v is not the server span's child", outbound)
	}
	if want := "00-" + traceID + "-" + outbound.SpanID + "-01"; upstreamSaw != want {
		t.Errorf("upstream got traceparent %q, want %q", upstreamSaw, want)
	}
}

// TestUnmatchedRouteSpanHasNoRoute: a path no route serves gets a span
// named by its method alone, so scanners cannot mint span names.
func TestUnmatchedRouteSpanHasNoRoute(t *testing.T) {
	rec := tracingtest.New(t)
	tr := setup(t, rec, "demo")
	r := httplog.Middleware(slog.New(slog.DiscardHandler))(http.NotFoundHandler())
	srv := httptest.NewServer(tr.Handler(r))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/wp-admin/secret.php")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	flush(t, tr)
	span := only(t, rec.Spans(), tracepb.Span_SPAN_KIND_SERVER)
	if span.Name != "GET" || span.Attributes["http.route"] != "" {
		t.Errorf("unmatched span %q route %q", span.Name, span.Attributes["http.route"])
	}
}

// TestGRPCServerSpan: a call carrying traceparent metadata continues the
// caller's trace on a server with GRPCServerOptions.
func TestGRPCServerSpan(t *testing.T) {
	rec := tracingtest.New(t)
	tr := setup(t, rec, "demo-grpc")
	srv := grpc.NewServer(tr.GRPCServerOptions()...)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Stop()
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", traceparent)
	if _, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
		t.Fatal(err)
	}
	// The server span ends after the response has gone: drain, then flush,
	// in the order a stopping service uses.
	srv.GracefulStop()
	flush(t, tr)
	span := only(t, rec.Spans(), tracepb.Span_SPAN_KIND_SERVER)
	if span.TraceID != traceID || span.ParentSpanID != callerSpan || span.Resource["service.name"] != "demo-grpc" ||
		span.Name != "grpc.health.v1.Health/Check" {
		t.Errorf("gRPC span %+v", span)
	}
}
