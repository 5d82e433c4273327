package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
)

// auditRow is one row of audit_event (migration 00016). Times are stored
// in UTC: the table is Latch's own, Better Auth never reads it.
type auditRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	Type      string    `gorm:"column:type"`
	UserID    *string   `gorm:"column:user_id"`
	ActorID   *string   `gorm:"column:actor_id"`
	IPAddress *string   `gorm:"column:ip_address"`
	UserAgent *string   `gorm:"column:user_agent"`
	RequestID *string   `gorm:"column:request_id"`
	Detail    string    `gorm:"column:detail"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
}

func (auditRow) TableName() string { return "audit_event" }

// writeAudit inserts events inside tx. Every store that records a security
// change calls it in the transaction of that change (an organization store
// too), so the event commits or rolls back with it.
func writeAudit(tx *gorm.DB, events []audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	rows := make([]auditRow, len(events))
	for i, e := range events {
		detail := []byte("{}")
		if len(e.Detail) > 0 {
			var err error
			if detail, err = json.Marshal(e.Detail); err != nil {
				return fmt.Errorf("audit detail: %w", err)
			}
		}
		id := e.ID
		if id == "" {
			id = identity.NewID()
		}
		rows[i] = auditRow{
			ID: id, Type: string(e.Type), UserID: nonEmpty(e.UserID), ActorID: nonEmpty(e.ActorID),
			IPAddress: nonEmpty(e.IPAddress), UserAgent: nonEmpty(e.UserAgent), RequestID: nonEmpty(e.RequestID),
			Detail: string(detail), CreatedAt: e.CreatedAt.UTC(),
		}
	}
	return tx.Create(&rows).Error
}

func (r auditRow) event() audit.Event {
	e := audit.Event{
		ID: r.ID, Type: audit.Type(r.Type), UserID: deref(r.UserID), ActorID: deref(r.ActorID),
		IPAddress: deref(r.IPAddress), UserAgent: deref(r.UserAgent), RequestID: deref(r.RequestID),
		CreatedAt: r.CreatedAt.UTC(),
	}
	_ = json.Unmarshal([]byte(r.Detail), &e.Detail) // written by writeAudit; unreadable detail reads as none
	return e
}

// AuditStore reads and prunes the trail, and records events that go with
// no other change (a failed sign-in).
type AuditStore struct {
	db *gorm.DB
}

// NewAuditStore returns the audit store over db.
func NewAuditStore(db *sqldb.DB) *AuditStore { return &AuditStore{db: db.Gorm} }

// Record writes events in a transaction of their own.
func (s *AuditStore) Record(ctx context.Context, events ...audit.Event) error {
	return classify("record audit event", s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return writeAudit(tx, events)
	}))
}

// Events lists the events q selects, newest first. The caller has checked
// q (audit.Query.Check): without AllUsers it names exactly one user.
func (s *AuditStore) Events(ctx context.Context, q audit.Query) ([]audit.Event, error) {
	db := s.db.WithContext(ctx).Model(&auditRow{})
	if !q.AllUsers || q.UserID != "" {
		db = db.Where("user_id = ?", q.UserID)
	}
	if !q.Since.IsZero() {
		db = db.Where("created_at >= ?", q.Since.UTC())
	}
	if len(q.Types) > 0 {
		types := make([]string, len(q.Types))
		for i, t := range q.Types {
			types[i] = string(t)
		}
		db = db.Where("type IN ?", types)
	}
	var rows []auditRow
	if err := db.Order("created_at DESC, id DESC").Limit(q.Limit).Find(&rows).Error; err != nil {
		return nil, classify("list audit events", err)
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		out[i] = r.event()
	}
	return out, nil
}

// DeleteAuditBefore is AuditStore.DeleteAuditBefore, for the sweep.
func (s *IdentityStore) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.audit.DeleteAuditBefore(ctx, before, limit)
}

// DeleteAuditBefore deletes up to limit events created before before and
// returns how many it deleted (the sweep's retention batch).
func (s *AuditStore) DeleteAuditBefore(ctx context.Context, before time.Time, limit int) (int64, error) {
	db := s.db.WithContext(ctx)
	batch := db.Model(&auditRow{}).Select("id").Where("created_at < ?", before.UTC()).Limit(limit)
	res := db.Where("id IN (?)", batch).Delete(&auditRow{})
	return res.RowsAffected, classify("delete old audit events", res.Error)
}
