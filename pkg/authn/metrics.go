package authn

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MetricsHooks registers on reg, and returns hooks that feed, what a
// resource server's on-call wants to see of its Verifier: tokens accepted
// and rejected (by reason, a bounded set), verification latency, and JWKS
// refreshes by source and result. The metrics live here, beside what they
// measure; main passes the service's registry (observe.Observer.Registerer).
func MetricsHooks(reg prometheus.Registerer) Hooks {
	tokens := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authn_tokens_total",
		Help: `Bearer tokens verified: result "accepted" or "rejected", reason "ok" or why it was refused.`,
	}, []string{"result", "reason"})
	latency := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "authn_verify_duration_seconds",
		Help:    "Time to verify one bearer token (a cache hit is microseconds, a signature check tens of microseconds).",
		Buckets: []float64{.00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .01, .1, 1},
	})
	refreshes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "authn_jwks_refresh_total",
		Help: `Key set updates: source "http" (a JWKS fetch) or "redis" (a set a peer fetched, or a Redis failure); result "ok" or "error".`,
	}, []string{"source", "result"})
	reg.MustRegister(tokens, latency, refreshes)
	// Known labels start at zero so dashboards and alerts see the series
	// before the first failure.
	tokens.WithLabelValues("accepted", string(ReasonOK))
	for _, src := range []string{"http", "redis"} {
		refreshes.WithLabelValues(src, "ok")
		refreshes.WithLabelValues(src, "error")
	}
	return Hooks{
		OnVerify: func(reason string, d time.Duration) {
			result := "rejected"
			if reason == string(ReasonOK) {
				result = "accepted"
			}
			tokens.WithLabelValues(result, reason).Inc()
			latency.Observe(d.Seconds())
		},
		OnRefresh: func(source string, err error) {
			result := "ok"
			if err != nil {
				result = "error"
			}
			refreshes.WithLabelValues(source, result).Inc()
		},
	}
}
