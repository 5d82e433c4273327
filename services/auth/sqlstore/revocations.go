package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
)

// revocationRow is one event of the revocation feed (migration 00014).
type revocationRow struct {
	ID      int64   `gorm:"column:id;primaryKey;autoIncrement"`
	Kind    string  `gorm:"column:kind"`
	Subject string  `gorm:"column:subject"`
	UserID  *string `gorm:"column:user_id"`
	// OrganizationID is set on member events (migration 00015).
	OrganizationID *string `gorm:"column:organization_id"`
	AtMS           int64   `gorm:"column:at_ms"`
	// ExpiresMS: the sweep deletes the row after it (RevocationRetention).
	ExpiresMS int64 `gorm:"column:expires_ms"`
	// UntilMS is when no token the event affects can be valid any more.
	UntilMS int64 `gorm:"column:until_ms"`
}

func (revocationRow) TableName() string { return "revocation_event" }

// RevocationRetention says how long events matter. The stores write an
// event's until and expiry from it; the zero value is unusable.
type RevocationRetention struct {
	// TokenWindow is how long after a revocation a token it affects could
	// still be accepted: the longest token lifetime (JWT_EXPIRATION,
	// OAUTH2_TOKEN_TTL) plus the largest verifier leeway.
	TokenWindow time.Duration
	// Deletions keeps user_deleted events longer, so a service that was down
	// when a user was deleted still deletes their data when it comes back.
	Deletions time.Duration
}

// DefaultRevocationRetention fits the default 15-minute JWTs: 15 min + 60 s
// leeway, and a week for deletions.
var DefaultRevocationRetention = RevocationRetention{TokenWindow: 16 * time.Minute, Deletions: 7 * 24 * time.Hour}

// revocations writes events inside the stores' transactions.
type revocations struct {
	dialect   sqldb.Dialect
	retention RevocationRetention
	now       func() time.Time
	// committed runs after a transaction that wrote events has committed,
	// to wake the feed's long polls (nil: nobody to wake).
	committed func()
}

func newRevocations(db *sqldb.DB) *revocations {
	return &revocations{dialect: db.Dialect, retention: DefaultRevocationRetention, now: time.Now}
}

// pending are the events a transaction will write, last.
type pending []revocation.Event

func (p *pending) session(id, userID string) {
	*p = append(*p, revocation.Event{Kind: revocation.KindSession, Subject: id, UserID: userID})
}

// member records that user's membership of org changed: their tokens naming
// org and issued before the event are refused (revocation.KindMember).
func (p *pending) member(userID, org string) {
	*p = append(*p, revocation.Event{Kind: revocation.KindMember, Subject: userID, OrganizationID: org})
}

func (p *pending) add(kind, subject string) {
	*p = append(*p, revocation.Event{Kind: kind, Subject: subject})
}

// write inserts the events as the transaction's last statements. On
// PostgreSQL it first locks the table against other writers (readers are not
// blocked) until commit, so ids are committed in increasing order: a
// follower reading id > cursor never passes over an event that commits
// later with a smaller id. It runs last so a transaction holding the lock
// waits for nothing else, and cannot deadlock with another over rows.
func (r *revocations) write(tx *gorm.DB, events pending) error {
	if len(events) == 0 {
		return nil
	}
	if r.dialect == sqldb.Postgres {
		if err := tx.Exec("LOCK TABLE revocation_event IN EXCLUSIVE MODE").Error; err != nil {
			return err
		}
	}
	at := r.now().UTC().Truncate(time.Millisecond)
	rows := make([]revocationRow, len(events))
	for i, e := range events {
		keep := r.retention.TokenWindow
		if e.Kind == revocation.KindUserDeleted || e.Kind == revocation.KindOrganizationDeleted {
			keep = max(keep, r.retention.Deletions)
		}
		rows[i] = revocationRow{
			Kind: e.Kind, Subject: e.Subject, AtMS: at.UnixMilli(),
			UntilMS: at.Add(r.retention.TokenWindow).UnixMilli(), ExpiresMS: at.Add(keep).UnixMilli(),
		}
		if e.UserID != "" {
			rows[i].UserID = &e.UserID
		}
		if e.OrganizationID != "" {
			rows[i].OrganizationID = &e.OrganizationID
		}
	}
	return tx.CreateInBatches(rows, 500).Error
}

// done tells the feed about events that committed.
func (r *revocations) done(err error, events pending) {
	if err == nil && len(events) > 0 && r.committed != nil {
		r.committed()
	}
}

// RevocationFeed reads the events for the feed's HTTP endpoint.
type RevocationFeed struct{ db *gorm.DB }

// NewRevocationFeed returns the feed's reader over db.
func NewRevocationFeed(db *sqldb.DB) *RevocationFeed { return &RevocationFeed{db: db.Gorm} }

// Head returns the newest event id (0 when there is none).
func (f *RevocationFeed) Head(ctx context.Context) (int64, error) {
	var head *int64
	if err := f.db.WithContext(ctx).Model(&revocationRow{}).Select("MAX(id)").Scan(&head).Error; err != nil {
		return 0, classify("read revocation head", err)
	}
	if head == nil {
		return 0, nil
	}
	return *head, nil
}

// After returns up to limit events with an id above after, oldest first.
func (f *RevocationFeed) After(ctx context.Context, after int64, limit int) ([]revocation.Event, error) {
	var rows []revocationRow
	err := f.db.WithContext(ctx).Where("id > ?", after).Order("id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, classify("read revocations", err)
	}
	out := make([]revocation.Event, len(rows))
	for i, r := range rows {
		out[i] = revocation.Event{
			ID: r.ID, Kind: r.Kind, Subject: r.Subject,
			At: time.UnixMilli(r.AtMS).UTC(), Until: time.UnixMilli(r.UntilMS).UTC(),
		}
		if r.UserID != nil {
			out[i].UserID = *r.UserID
		}
		if r.OrganizationID != nil {
			out[i].OrganizationID = *r.OrganizationID
		}
	}
	return out, nil
}

// DeleteExpiredRevocations deletes up to limit events that no longer matter
// (expired before before): the sweep calls it.
func (s *IdentityStore) DeleteExpiredRevocations(ctx context.Context, before time.Time, limit int) (int64, error) {
	db := s.db.WithContext(ctx)
	batch := db.Model(&revocationRow{}).Select("id").Where("expires_ms < ?", before.UnixMilli()).Limit(limit)
	res := db.Where("id IN (?)", batch).Delete(&revocationRow{})
	return res.RowsAffected, classify("delete expired revocations", res.Error)
}
