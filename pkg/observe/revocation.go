package observe

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch/pkg/revocation"
)

// WatchRevocations exports a revocation follower's state and adds the
// "revocations" readiness check. With required (a service that verifies
// tokens: it refuses them while the feed has not answered for longer than
// the set's bound, or never), /readyz fails then, so a balancer stops sending
// requests here; otherwise the check is only reported.
func (o *Observer) WatchRevocations(f *revocation.Follower, required bool) {
	set := f.Set()
	age := func() float64 {
		last := set.LastSync()
		if last.IsZero() {
			return -1
		}
		return time.Since(last).Seconds()
	}
	o.wrapped.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "revocation_feed_sync_age_seconds",
			Help: "Seconds since the revocation feed last answered (-1: never). Tokens are refused once it passes revocation_feed_max_stale_seconds.",
		}, age),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "revocation_feed_max_stale_seconds",
			Help: "The outage bound: past it without an answer from the feed, every token is refused (fail closed).",
		}, func() float64 { return set.MaxStale().Seconds() }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "revocation_feed_stale",
			Help: "1 while the deny set is stale (tokens refused with 503), else 0.",
		}, func() float64 {
			if set.Fresh(time.Now()) != nil {
				return 1
			}
			return 0
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "revocation_feed_answers_total",
			Help: "Answers received from the revocation feed.",
		}, func() float64 { return float64(f.Stats().Fetches) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "revocation_feed_failures_total",
			Help: "Requests to the revocation feed that failed.",
		}, func() float64 { return float64(f.Stats().Failures) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "revocation_events_total",
			Help: "Revocation events received.",
		}, func() float64 { return float64(f.Stats().Applied) }),
	)
	for _, kind := range []string{revocation.KindSession, revocation.KindUser, revocation.KindUserDeleted, revocation.KindClient, revocation.KindMember, revocation.KindOrganizationDeleted} {
		o.wrapped.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "revocation_deny_entries",
			Help:        "Entries in the in-memory deny set, by kind.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 { return float64(set.Len()[kind]) }))
	}
	check := o.Report
	if required {
		check = o.Require
	}
	check("revocations", func(context.Context) error {
		if err := set.Fresh(time.Now()); err != nil {
			last := set.LastSync()
			if last.IsZero() {
				return fmt.Errorf("%w (never answered)", err)
			}
			return fmt.Errorf("%w (last answer %s ago)", err, time.Since(last).Round(time.Second))
		}
		return nil
	})
}
