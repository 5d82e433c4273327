package main

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/services/auth/feed"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// deletionRetention keeps user_deleted events a week, so a service that was
// down when a user was deleted still deletes their data when it returns.
const deletionRetention = 7 * 24 * time.Hour

// revocationRetention: an event matters while a token it affects could still
// be accepted: the longest token lifetime plus the largest leeway a verifier
// may allow.
func revocationRetention(cfg Config) sqlstore.RevocationRetention {
	return sqlstore.RevocationRetention{
		TokenWindow: max(cfg.JWTTTL, cfg.ClientTokenTTL) + authn.MaxLeeway,
		Deletions:   deletionRetention,
	}
}

// withFeed serves the revocation feed beside Better Auth's API, at the JWKS's
// sibling path (<api base>/revocations), outside the rate limiter: resource
// servers hold one request each and ask again after every answer.
func withFeed(cfg Config, api http.Handler, f *feed.Feed) http.Handler {
	basePath := "/api/auth"
	if u, err := url.Parse(cfg.BaseURL); err == nil && u.Path != "" && u.Path != "/" {
		basePath = strings.TrimRight(u.Path, "/")
	}
	path := basePath + "/" + revocation.Path
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == path {
			f.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	})
}

func registerFeedMetrics(obs *observe.Observer, f *feed.Feed) {
	obs.Registerer().MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "auth_revocation_nudges_total",
			Help: "Messages heard on the Redis revocation channel (each only makes this replica re-read its database).",
		}, func() float64 { return float64(f.Nudges.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "auth_revocation_head_reads_total",
			Help: "Reads of the revocation feed's newest event id (poll, local commit or nudge).",
		}, func() float64 { return float64(f.HeadReads.Load()) }),
	)
}
