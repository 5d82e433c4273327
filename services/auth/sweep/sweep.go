// Package sweep deletes the sessions and verification rows (password-reset
// tokens, OAuth states) that have expired, and audit events older than
// their retention (AUDIT_RETENTION). Better Auth removes such a row
// only when someone presents it again; the sessions of users who never come
// back, and reset links never followed, would otherwise stay in the
// database for good.
package sweep

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store deletes expired rows a batch at a time; each returns how many rows
// it deleted.
type Store interface {
	DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error)
	DeleteExpiredVerifications(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteExpiredRevocations deletes revocation feed events no token they
	// affect can outlive (docs/revocation.md). Expired sessions need no
	// event: their tokens were minted while they lived and end with their exp.
	DeleteExpiredRevocations(ctx context.Context, before time.Time, limit int) (int64, error)
	// DeleteAuditBefore deletes audit events created before before.
	DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int64, error)
}

// Config sets how often and how much.
type Config struct {
	// Every is the time between sweeps.
	Every time.Duration
	// Batch bounds the rows one DELETE removes (default 1000), so that a
	// backlog is cleared in short statements instead of one long one.
	Batch int
	// Grace is how long a row stays after it expired (default 1 min): a
	// replica whose clock runs behind may still be honouring it.
	Grace time.Duration
	// AuditRetention is how long audit events are kept (docs/audit.md);
	// 0 keeps them forever.
	AuditRetention time.Duration
}

// Result counts the rows a sweep deleted.
type Result struct{ Sessions, Verifications, Revocations, AuditEvents int64 }

// Sweeper deletes expired rows on a schedule. Several replicas may sweep
// the same database: deleting a row twice deletes it once.
type Sweeper struct {
	store   Store
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	deleted *prometheus.CounterVec
}

// New returns a Sweeper over store; it registers
// auth_expired_rows_deleted_total{table} with reg.
func New(store Store, cfg Config, reg prometheus.Registerer, log *slog.Logger) *Sweeper {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Grace <= 0 {
		cfg.Grace = time.Minute
	}
	deleted := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "auth_expired_rows_deleted_total",
		Help: "Expired rows the sweeper deleted, by table: session, verification, revocation_event, audit_event.",
	}, []string{"table"})
	reg.MustRegister(deleted)
	deleted.WithLabelValues("session")
	deleted.WithLabelValues("verification")
	deleted.WithLabelValues("revocation_event")
	deleted.WithLabelValues("audit_event")
	return &Sweeper{store: store, cfg: cfg, now: time.Now, log: log, deleted: deleted}
}

// Once deletes every row that expired more than Grace ago, and the audit
// events older than AuditRetention, batch by batch. On an error it stops
// and returns what it deleted so far.
func (s *Sweeper) Once(ctx context.Context) (Result, error) {
	now := s.now()
	before := now.Add(-s.cfg.Grace)
	var r Result
	type table struct {
		table  string
		del    func(context.Context, time.Time, int) (int64, error)
		count  *int64
		before time.Time
	}
	tables := []table{
		{"session", s.store.DeleteExpiredSessions, &r.Sessions, before},
		{"verification", s.store.DeleteExpiredVerifications, &r.Verifications, before},
		{"revocation_event", s.store.DeleteExpiredRevocations, &r.Revocations, before},
	}
	if s.cfg.AuditRetention > 0 {
		tables = append(tables, table{"audit_event", s.store.DeleteAuditBefore, &r.AuditEvents, now.Add(-s.cfg.AuditRetention)})
	}
	for _, t := range tables {
		before := t.before
		for {
			n, err := t.del(ctx, before, s.cfg.Batch)
			*t.count += n
			s.deleted.WithLabelValues(t.table).Add(float64(n))
			if err != nil {
				return r, err
			}
			if n < int64(s.cfg.Batch) {
				break
			}
		}
	}
	return r, nil
}

// Run sweeps every Every until ctx ends. The first sweep comes after a
// random part of the interval, so that replicas started together do not
// sweep together. A failed sweep is logged and the next one tries again.
func (s *Sweeper) Run(ctx context.Context) {
	if s.cfg.Every <= 0 {
		return
	}
	wait := time.Duration(rand.Int64N(int64(s.cfg.Every)))
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = s.cfg.Every
		r, err := s.Once(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "sweeping expired rows failed; trying again next interval",
				"err", err, "sessions_deleted", r.Sessions, "verifications_deleted", r.Verifications,
				"revocations_deleted", r.Revocations, "audit_events_deleted", r.AuditEvents, "next_in", s.cfg.Every)
		case r.Sessions+r.Verifications+r.Revocations+r.AuditEvents > 0:
			s.log.InfoContext(ctx, "swept expired rows", "sessions_deleted", r.Sessions, "verifications_deleted", r.Verifications,
				"revocations_deleted", r.Revocations, "audit_events_deleted", r.AuditEvents)
		}
	}
}
