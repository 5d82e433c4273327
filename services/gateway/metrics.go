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

func newUpstreamMetrics(obs *observe.Observer, next http.RoundTripper, upstreams map[string][]*url.URL) *upstreamMetrics {
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
	for name, replicas := range upstreams {
		for _, u := range replicas {
			m.names[u.Host] = name
		}
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

// retryCounter counts requests the gateway sent to a second replica
// because the first provably never got them (router.Balancer). Every first
// try that failed is in gateway_upstream_errors_total as well.
func retryCounter(obs *observe.Observer) func(upstream string) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gateway_upstream_retries_total",
		Help: "Requests sent to another replica of an upstream after the first refused the connection (or, for GET/HEAD/OPTIONS, failed before answering).",
	}, []string{"upstream"})
	obs.Registerer().MustRegister(c)
	return func(upstream string) { c.WithLabelValues(upstream).Inc() }
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
