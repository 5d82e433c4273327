// Package tracing is Latch's optional OpenTelemetry tracing: spans for
// inbound HTTP and gRPC and for outbound HTTP, exported over OTLP/HTTP to
// the endpoint the standard OTEL_* variables name. Off by default, and
// when off it adds nothing: no provider, no wrapper, no stats handler, so
// the request path costs what it did before tracing existed.
//
//	tr, err := tracing.Setup(ctx, cfg.Tracing, log) // cfg.Tracing = tracing.FromEnv(e, "tasks")
//	defer tr.Shutdown(ctx)                          // flushes the spans still batched
//	handler = obs.Wrap(tr.Handler(router))          // inside observe: probes and /metrics make no spans
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/latchid/latch/pkg/envconf"
	"github.com/latchid/latch/pkg/httplog"
)

// FlushTimeout bounds Shutdown in a service's exit path: a collector that
// is down must not hold a stopping replica past its grace period.
const FlushTimeout = 5 * time.Second

// Config says where spans go; the zero value is off.
type Config struct {
	// Endpoint is the full OTLP/HTTP traces URL (…/v1/traces); "" is off.
	Endpoint string
	// ServiceName is the service.name resource attribute.
	ServiceName string
}

// FromEnv reads the OpenTelemetry variables Latch acts on itself:
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as given) or
// OTEL_EXPORTER_OTLP_ENDPOINT (a base URL, /v1/traces appended), either
// turning tracing on; OTEL_SDK_DISABLED=true turning it off again; and
// OTEL_SERVICE_NAME, defaulting to service. The SDK reads the rest from the
// process environment (OTEL_TRACES_SAMPLER, OTEL_TRACES_SAMPLER_ARG,
// OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TIMEOUT,
// OTEL_RESOURCE_ATTRIBUTES, …).
func FromEnv(e *envconf.Reader, service string) Config {
	cfg := Config{ServiceName: e.String("OTEL_SERVICE_NAME", service)}
	if e.Bool("OTEL_SDK_DISABLED", false) {
		return cfg
	}
	key, endpoint := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", e.String("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	if endpoint == "" {
		key, endpoint = "OTEL_EXPORTER_OTLP_ENDPOINT", e.String("OTEL_EXPORTER_OTLP_ENDPOINT", "")
		if endpoint != "" {
			endpoint = strings.TrimRight(endpoint, "/") + "/v1/traces"
		}
	}
	if endpoint == "" {
		return cfg
	}
	if u, err := url.Parse(endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		e.Fail("%s must be an absolute http(s) URL such as http://otel-collector:4318, got %q", key, endpoint)
		return cfg
	}
	// Only the HTTP exporter is built in: a collector's gRPC port would
	// refuse every export, so say so at start rather than drop spans.
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := e.String(k, ""); p != "" && p != "http/protobuf" {
			e.Fail("%s=%s: Latch exports traces over OTLP/HTTP only (http/protobuf, the collector's port 4318)", k, p)
		}
	}
	cfg.Endpoint = endpoint
	return cfg
}

// LogValue shows the configuration at start.
func (c Config) LogValue() slog.Value {
	if c.Endpoint == "" {
		return slog.StringValue("off")
	}
	return slog.GroupValue(slog.String("endpoint", envconf.Redact(c.Endpoint)), slog.String("service_name", c.ServiceName))
}

// Tracing instruments a service's servers and clients; off, every method
// hands back what it was given.
type Tracing struct {
	provider   *sdktrace.TracerProvider // nil: off
	propagator propagation.TextMapPropagator
	log        *slog.Logger
}

// Setup starts exporting when cfg names an endpoint: spans batched, the
// W3C traceparent header continued in and sent out, the sampler the SDK
// reads from OTEL_TRACES_SAMPLER (default: parent-based, always on).
// Export failures go to log. Without an endpoint it installs nothing.
func Setup(ctx context.Context, cfg Config, log *slog.Logger) (*Tracing, error) {
	if cfg.Endpoint == "" {
		return &Tracing{}, nil
	}
	// Later options win: the service's name over OTEL_RESOURCE_ATTRIBUTES'.
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithTelemetrySDK(),
		resource.WithAttributes(semconv.ServiceName(cfg.ServiceName)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(cfg.Endpoint))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// The SDK's default prints plain text on stderr, among JSON lines.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", "err", err)
	}))
	return &Tracing{
		provider:   sdktrace.NewTracerProvider(sdktrace.WithBatcher(exporter), sdktrace.WithResource(res)),
		propagator: propagation.TraceContext{},
		log:        log,
	}, nil
}

// Enabled reports whether spans are exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// Shutdown exports the spans still batched and stops; call it after the
// servers have drained, with a deadline. A failure is logged too, since a
// stopping service has nowhere else to report it.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	err := t.provider.Shutdown(ctx)
	if err != nil {
		t.log.Warn("tracing: spans lost at shutdown", "err", err)
	}
	return err
}

// Handler makes a server span of every request next serves, continuing
// the caller's trace, named "METHOD /route/:pattern" once the router has
// matched (next must report its route: httplog.Middleware with SetRoute, or
// ginlog.Middleware). Wrap it inside observe.Wrap, which answers probes and
// /metrics before it.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if !t.Enabled() {
		return next
	}
	routed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tracked, route := httplog.TrackRoute(r)
		next.ServeHTTP(w, tracked)
		if pattern := route(); pattern != "" {
			trace.SpanFromContext(r.Context()).SetAttributes(semconv.HTTPRoute(pattern))
			r.Pattern = pattern // otelhttp renames the span from it when next returns
		}
	})
	return otelhttp.NewHandler(routed, "http.server",
		otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()), // metrics are Prometheus' (pkg/observe)
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			if r.Pattern != "" {
				return r.Method + " " + r.Pattern
			}
			return r.Method
		}))
}

// Transport makes a client span of every request through base and sends
// the trace on in traceparent, so the upstream continues it.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return base
	}
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(t.provider), otelhttp.WithPropagators(t.propagator),
		otelhttp.WithMeterProvider(noop.NewMeterProvider()))
}

// GRPCServerOptions makes a server span of every call, continuing the
// caller's trace from its traceparent metadata; nil when off. The stats
// handler sees a call before any interceptor, so the span covers them all.
func (t *Tracing) GRPCServerOptions() []grpc.ServerOption {
	if !t.Enabled() {
		return nil
	}
	return []grpc.ServerOption{grpc.StatsHandler(otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.provider), otelgrpc.WithPropagators(t.propagator),
		otelgrpc.WithMeterProvider(noop.NewMeterProvider())))}
}
