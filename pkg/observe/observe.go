// Package observe makes a Latch service operable: /healthz (the process
// answers), /readyz (its dependencies answer) and /metrics (Prometheus) on
// the service's own port, plus the request metrics every service shares.
//
// A service wires it in main, around the handler its httpapi built:
//
//	obs := observe.New("tasks")
//	obs.WatchDB("tasks", sqlDB)                // pool stats + a required ping
//	obs.Require("jwks", verifierReady)         // more checks as the service needs
//	handler = obs.Wrap(handler)                // serves the three endpoints, measures the rest
package observe

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchid/latch/pkg/httplog"
)

// The paths Wrap answers itself, before the service's router.
const (
	HealthPath  = "/healthz"
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// checkTimeout bounds each readiness check: a probe must answer quickly
// even while a dependency hangs, or the orchestrator's own timeout fires first.
const checkTimeout = 2 * time.Second

// unmatched labels requests no route served, so scanners probing random
// paths cannot grow the series count.
const unmatched = "unmatched"

// Observer holds one service's metrics registry and readiness checks.
type Observer struct {
	service string
	reg     *prometheus.Registry
	wrapped prometheus.Registerer
	log     *slog.Logger

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	mu      sync.Mutex
	checks  []check
	failing map[string]bool // last outcome per check, to log changes only
	// onRequest is replaced whole when a hook is added (at start-up), so
	// the request path reads it without taking mu.
	onRequest atomic.Pointer[[]func(route, method string, status int)]
}

type check struct {
	name     string
	run      func(context.Context) error
	required bool
}

// New returns an Observer for service, its registry already holding the Go
// runtime and process collectors and the HTTP request metrics. Every series
// it exports carries the label service=<service>.
func New(service string, log *slog.Logger) *Observer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	reg := prometheus.NewRegistry()
	o := &Observer{
		service: service,
		reg:     reg,
		wrapped: prometheus.WrapRegistererWith(prometheus.Labels{"service": service}, reg),
		log:     log,
		failing: map[string]bool{},
	}
	o.wrapped.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	o.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests served, by route pattern (never the raw path), method and status.",
	}, []string{"route", "method", "status"})
	o.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time from request to response written, by route pattern and method.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method"})
	o.wrapped.MustRegister(o.requests, o.duration)
	return o
}

// Registerer is where a service registers its own metrics; they get the
// service label like everything else.
func (o *Observer) Registerer() prometheus.Registerer { return o.wrapped }

// Gatherer exposes the registry, for tests and custom exporters.
func (o *Observer) Gatherer() prometheus.Gatherer { return o.reg }

// Require adds a readiness check: while it fails, /readyz answers 503 and
// the load balancer sends this replica no traffic.
func (o *Observer) Require(name string, run func(context.Context) error) {
	o.addCheck(check{name: name, run: run, required: true})
}

// Report adds a check that /readyz shows but that does not make the replica
// unready: for a dependency the service degrades without (Redis, for the
// tasks service, only shares the JWKS between replicas). Taking every
// replica out of rotation because a shared optional dependency is down
// would turn a degradation into an outage.
func (o *Observer) Report(name string, run func(context.Context) error) {
	o.addCheck(check{name: name, run: run, required: false})
}

func (o *Observer) addCheck(c check) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.checks = append(o.checks, c)
}

// WatchDB exports db's pool statistics (open, in use, idle, waits, closes)
// labelled db_name=name and requires a ping for readiness.
func (o *Observer) WatchDB(name string, db *sql.DB) {
	o.wrapped.MustRegister(collectors.NewDBStatsCollector(db, name))
	o.Require("database", db.PingContext)
}

// OnRequest calls f after every request the wrapped handler served, with
// the same labels the request metrics use; services derive domain counters
// (sign-ins by outcome) from it without touching their routers.
func (o *Observer) OnRequest(f func(route, method string, status int)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var hooks []func(route, method string, status int)
	if old := o.onRequest.Load(); old != nil {
		hooks = append(hooks, *old...)
	}
	hooks = append(hooks, f)
	o.onRequest.Store(&hooks)
}

// Wrap serves /healthz, /readyz and /metrics, and passes everything else to
// next, measuring it. next must report its route pattern (httplog.Middleware
// with SetRoute, or ginlog.Middleware) for the route label.
func (o *Observer) Wrap(next http.Handler) http.Handler {
	metrics := promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case HealthPath:
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
			return
		case ReadyPath:
			o.serveReady(w, r)
			return
		case MetricsPath:
			metrics.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		tracked, route := httplog.TrackRoute(r)
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, tracked)
		label := route()
		if label == "" {
			label = unmatched
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		method := methodLabel(r.Method)
		o.requests.WithLabelValues(label, method, strconv.Itoa(status)).Inc()
		o.duration.WithLabelValues(label, method).Observe(time.Since(start).Seconds())
		if hooks := o.onRequest.Load(); hooks != nil {
			for _, f := range *hooks {
				f(label, method, status)
			}
		}
	})
}

// methodLabel keeps invented methods from growing the series count.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
		http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// serveReady runs every check concurrently, each bounded by checkTimeout.
// The body names the failing checks but never their errors (addresses,
// driver messages): those go to the log, once per change.
func (o *Observer) serveReady(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	checks := append([]check(nil), o.checks...)
	o.mu.Unlock()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
			defer cancel()
			errs[i] = c.run(ctx)
		})
	}
	wg.Wait()

	ready := true
	results := make(map[string]string, len(checks))
	for i, c := range checks {
		o.noteOutcome(r.Context(), c, errs[i])
		switch {
		case errs[i] == nil:
			results[c.name] = "ok"
		case c.required:
			results[c.name] = "failing"
			ready = false
		default:
			results[c.name] = "degraded"
		}
	}
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "unavailable"
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]any{"status": word, "checks": results})
}

func (o *Observer) noteOutcome(ctx context.Context, c check, err error) {
	o.mu.Lock()
	was := o.failing[c.name]
	o.failing[c.name] = err != nil
	o.mu.Unlock()
	switch {
	case err != nil && !was:
		o.log.WarnContext(ctx, "readiness check failing", "check", c.name, "required", c.required, "err", err)
	case err == nil && was:
		o.log.InfoContext(ctx, "readiness check passing again", "check", c.name)
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	// A 1xx (a proxied 100 Continue, 103 Early Hints) precedes the status that counts.
	if s.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush keeps streaming responses working through the recorder.
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	_ = http.NewResponseController(s.ResponseWriter).Flush()
}
