package main

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchid/latch/pkg/observe"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/httpapi"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/ratelimit"
	"github.com/latchid/latch/services/auth/signing"
)

// authMetrics are the identity provider's own counters. They are taken at
// the seams main already wires (the identity store, the token issuer, the
// key store, and finished requests) so the HTTP handlers and the identity
// rules stay free of metrics code.
type authMetrics struct {
	signIns, signUps *prometheus.CounterVec
	sessionsCreated  prometheus.Counter
	sessionsRevoked  *prometheus.CounterVec
	tokensIssued     *prometheus.CounterVec
	keysCreated      *prometheus.CounterVec
	rateLimitErrors  prometheus.Counter
}

func newAuthMetrics(obs *observe.Observer) *authMetrics {
	m := &authMetrics{
		signIns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_sign_ins_total",
			Help: "Email and password sign-ins by outcome: success, invalid_credentials, rejected (other 4xx), unavailable (503), error.",
		}, []string{"outcome"}),
		signUps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_sign_ups_total",
			Help: "Email and password sign-ups by outcome: success, rejected (4xx: exists, invalid input), unavailable (503), error.",
		}, []string{"outcome"}),
		sessionsCreated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_sessions_created_total",
			Help: "Sessions written: sign-ins, sign-ups and the session a password change replaces.",
		}),
		sessionsRevoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_session_revocations_total",
			Help: "Successful session revocations by kind: sign_out, one, all, others (one call may end several sessions).",
		}, []string{"kind"}),
		tokensIssued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_tokens_issued_total",
			Help: "JWTs signed, by result (ok, error).",
		}, []string{"result"}),
		keysCreated: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "auth_signing_keys_created_total",
			Help: "Signing keys this process created: trigger rotate (a rotation) or schedule (the first key, or a successor when JWKS_ROTATION_INTERVAL is set).",
		}, []string{"trigger"}),
		rateLimitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "auth_rate_limit_store_errors_total",
			Help: "Requests the rate limit store (Redis) failed to decide on; each went through unlimited (the limiter fails open).",
		}),
	}
	obs.Registerer().MustRegister(m.signIns, m.signUps, m.sessionsCreated, m.sessionsRevoked, m.tokensIssued, m.keysCreated, m.rateLimitErrors)
	for _, o := range []string{"success", "invalid_credentials", "rejected", "unavailable", "error"} {
		m.signIns.WithLabelValues(o)
	}
	for _, o := range []string{"success", "rejected", "unavailable", "error"} {
		m.signUps.WithLabelValues(o)
	}
	for _, k := range []string{"sign_out", "one", "all", "others"} {
		m.sessionsRevoked.WithLabelValues(k)
	}
	m.tokensIssued.WithLabelValues("ok")
	m.tokensIssued.WithLabelValues("error")
	obs.OnRequest(m.countOutcome)
	return m
}

// countOutcome reads sign-in and sign-up outcomes off the finished request:
// the status is exactly what the client was told.
func (m *authMetrics) countOutcome(route, method string, status int) {
	if method != http.MethodPost {
		return
	}
	var vec *prometheus.CounterVec
	switch {
	case strings.HasSuffix(route, "/sign-in/email"):
		vec = m.signIns
	case strings.HasSuffix(route, "/sign-up/email"):
		vec = m.signUps
	default:
		return
	}
	outcome := "error"
	switch {
	case status < 400:
		outcome = "success"
	case status == http.StatusUnauthorized && vec == m.signIns:
		outcome = "invalid_credentials"
	case status < 500:
		outcome = "rejected"
	case status == http.StatusServiceUnavailable:
		outcome = "unavailable"
	}
	vec.WithLabelValues(outcome).Inc()
}

// countingStore counts sessions as the identity store writes and deletes them.
type countingStore struct {
	identity.Store
	m *authMetrics
}

func (s countingStore) CreateSession(ctx context.Context, sess identity.Session, trail ...audit.Event) error {
	err := s.Store.CreateSession(ctx, sess, trail...)
	if err == nil {
		s.m.sessionsCreated.Inc()
	}
	return err
}

func (s countingStore) ChangePassword(ctx context.Context, accountID, hash string, now time.Time, replace *identity.Session, trail ...audit.Event) error {
	err := s.Store.ChangePassword(ctx, accountID, hash, now, replace, trail...)
	if err == nil && replace != nil {
		s.m.sessionsCreated.Inc()
	}
	return err
}

func (s countingStore) DeleteSession(ctx context.Context, token string, trail ...audit.Event) error {
	return s.revoked("sign_out", s.Store.DeleteSession(ctx, token, trail...))
}

func (s countingStore) DeleteUserSession(ctx context.Context, userID, token string, trail ...audit.Event) error {
	return s.revoked("one", s.Store.DeleteUserSession(ctx, userID, token, trail...))
}

func (s countingStore) DeleteUserSessions(ctx context.Context, userID string, trail ...audit.Event) error {
	return s.revoked("all", s.Store.DeleteUserSessions(ctx, userID, trail...))
}

func (s countingStore) DeleteOtherSessions(ctx context.Context, userID, keepToken string, trail ...audit.Event) error {
	return s.revoked("others", s.Store.DeleteOtherSessions(ctx, userID, keepToken, trail...))
}

func (s countingStore) revoked(kind string, err error) error {
	if err == nil {
		s.m.sessionsRevoked.WithLabelValues(kind).Inc()
	}
	return err
}

// countingIssuer counts the JWTs the token endpoint signs.
type countingIssuer struct {
	httpapi.TokenIssuer
	m *authMetrics
}

func (i countingIssuer) SignWith(ctx context.Context, u identity.User, extra signing.Extra) (string, error) {
	tok, err := i.TokenIssuer.SignWith(ctx, u, extra)
	result := "ok"
	if err != nil {
		result = "error"
	}
	i.m.tokensIssued.WithLabelValues(result).Inc()
	return tok, err
}

// countingKeyStore counts signing keys created, by what created them.
type countingKeyStore struct {
	signing.KeyStore
	m *authMetrics
}

func (k countingKeyStore) InsertKeyUnlessCovered(ctx context.Context, key signing.StoredKey, at time.Time) (bool, error) {
	inserted, err := k.KeyStore.InsertKeyUnlessCovered(ctx, key, at)
	if err == nil && inserted {
		k.m.keysCreated.WithLabelValues("schedule").Inc()
	}
	return inserted, err
}

func (k countingKeyStore) ReplaceKeys(ctx context.Context, key signing.StoredKey, retireAt time.Time) error {
	err := k.KeyStore.ReplaceKeys(ctx, key, retireAt)
	if err == nil {
		k.m.keysCreated.WithLabelValues("rotate").Inc()
	}
	return err
}

// countingLimiter counts the decisions the rate limit store failed to make.
type countingLimiter struct {
	httpapi.Limiter
	m *authMetrics
}

func (l countingLimiter) Consume(ctx context.Context, key string, r ratelimit.Rule, now time.Time) (ratelimit.Decision, error) {
	d, err := l.Limiter.Consume(ctx, key, r, now)
	if err != nil {
		l.m.rateLimitErrors.Inc()
	}
	return d, err
}

// keysCollector reports the signing keys by state on each scrape, read
// from the database, so a rotation made by `auth keys rotate` (another
// process) shows on every replica's /metrics.
type keysCollector struct {
	issuer *signing.Issuer
	desc   *prometheus.Desc
}

func newKeysCollector(issuer *signing.Issuer) *keysCollector {
	return &keysCollector{issuer: issuer, desc: prometheus.NewDesc("auth_signing_keys",
		"Signing keys in the database by state (pending, signing, verifying, retired, expired); the newest key's age is auth_signing_key_newest_age_seconds.",
		[]string{"state"}, nil)}
}

var newestKeyAge = prometheus.NewDesc("auth_signing_key_newest_age_seconds",
	"Age of the newest signing key: it drops to zero at every rotation.", nil, nil)

func (c *keysCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc; ch <- newestKeyAge }

func (c *keysCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	keys, err := c.issuer.List(ctx)
	if err != nil {
		return // the database is down: /readyz says so; the scrape still answers
	}
	counts := map[signing.KeyState]int{}
	for _, k := range keys {
		counts[k.State]++
	}
	for _, s := range []signing.KeyState{signing.KeyPending, signing.KeySigning, signing.KeyVerifying, signing.KeyRetired, signing.KeyExpired} {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
	if len(keys) > 0 { // List is newest first
		ch <- prometheus.MustNewConstMetric(newestKeyAge, prometheus.GaugeValue, time.Since(keys[0].CreatedAt).Seconds())
	}
}
