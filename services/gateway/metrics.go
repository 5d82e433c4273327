package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch/pkg/observe"
)

// upstreamMetrics times every request the gateway sends upstream (proxied
// requests and token exchanges alike) and counts the ones that failed.
type upstreamMetrics struct {
	next     http.RoundTripper
	names    map[string]string // upstream host → "auth" | "tasks"
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

func newUpstreamMetrics(obs *observe.Observer, next http.RoundTripper, upstreams map[string]*url.URL) *upstreamMetrics {
	m := &upstreamMetrics{
		next:  next,
		names: map[string]string{},
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_upstream_duration_seconds",
			Help:    "Time until an upstream's response headers, by upstream.",
			Buckets: prometheus.DefBuckets,
		}, []string{"upstream"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_errors_total",
			Help: "Upstream requests that got no response (unreachable, timeout) or a 5xx, by upstream and reason.",
		}, []string{"upstream", "reason"}),
	}
	for name, u := range upstreams {
		m.names[u.Host] = name
	}
	obs.Registerer().MustRegister(m.duration, m.failures)
	return m
}

func (m *upstreamMetrics) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := m.next.RoundTrip(r)
	name, ok := m.names[r.URL.Host]
	if !ok {
		name = "other"
	}
	m.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	switch {
	case err != nil && isTimeout(err):
		m.failures.WithLabelValues(name, "timeout").Inc()
	case err != nil:
		m.failures.WithLabelValues(name, "unreachable").Inc()
	case resp.StatusCode >= 500:
		m.failures.WithLabelValues(name, "5xx").Inc()
	}
	return resp, err
}

// isTimeout covers the transport's own timeouts (net.Error) and a deadline
// on the request's context.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// exchangeCounter counts how token exchanges were answered (cache hits by
// tier, fetches from auth, failures).
func exchangeCounter(obs *observe.Observer) func(outcome string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_token_exchange_total",
		Help: "Session-to-JWT exchanges by outcome: memory or redis (cache hits), auth (fetched), error.",
	}, []string{"outcome"})
	obs.Registerer().MustRegister(c)
	return func(outcome string) { c.WithLabelValues(outcome).Inc() }
}
