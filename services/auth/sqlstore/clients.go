package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/clients"
)

// ClientStore implements clients.Store on the oauth_client table.
type ClientStore struct {
	db  *gorm.DB
	rev *revocations
}

// NewClientStore returns the client store over db.
func NewClientStore(db *sqldb.DB) *ClientStore {
	return &ClientStore{db: db.Gorm, rev: newRevocations(db)}
}

// UseRevocations is IdentityStore.UseRevocations for client revocations.
func (s *ClientStore) UseRevocations(retention RevocationRetention, committed func()) {
	s.rev.retention, s.rev.committed = retention, committed
}

var _ clients.Store = (*ClientStore)(nil)

type clientRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	Name       string     `gorm:"column:name"`
	SecretHash []byte     `gorm:"column:secret_hash"`
	Scopes     string     `gorm:"column:scopes"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	RevokedAt  *time.Time `gorm:"column:revoked_at"`
}

func (clientRow) TableName() string { return "oauth_client" }

func (r clientRow) client() clients.Client {
	c := clients.Client{ID: r.ID, Name: r.Name, Scopes: strings.Fields(r.Scopes), SecretHash: r.SecretHash, CreatedAt: r.CreatedAt.UTC()}
	if r.RevokedAt != nil {
		at := r.RevokedAt.UTC()
		c.RevokedAt = &at
	}
	return c
}

func (s *ClientStore) CreateClient(ctx context.Context, c clients.Client, events ...audit.Event) error {
	row := clientRow{ID: c.ID, Name: c.Name, SecretHash: c.SecretHash, Scopes: strings.Join(c.Scopes, " "), CreatedAt: c.CreatedAt.UTC()}
	return classifyClient("create client", s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return writeAudit(tx, events)
	}))
}

func (s *ClientStore) Client(ctx context.Context, id string) (clients.Client, error) {
	var row clientRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return clients.Client{}, classifyClient("read client", err)
	}
	return row.client(), nil
}

func (s *ClientStore) Clients(ctx context.Context) ([]clients.Client, error) {
	var rows []clientRow
	if err := s.db.WithContext(ctx).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, classifyClient("list clients", err)
	}
	out := make([]clients.Client, len(rows))
	for i, r := range rows {
		out[i] = r.client()
	}
	return out, nil
}

// RevokeClient marks the client revoked and publishes client_revoked in the
// same transaction, so its live tokens are refused too.
func (s *ClientStore) RevokeClient(ctx context.Context, id string, at time.Time, trail ...audit.Event) error {
	var events pending
	var affected int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&clientRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", at.UTC())
		if res.Error != nil {
			return res.Error
		}
		if affected = res.RowsAffected; affected > 0 {
			events.add(revocation.KindClient, id)
			if err := writeAudit(tx, trail); err != nil {
				return err
			}
		}
		return s.rev.write(tx, events)
	})
	s.rev.done(err, events)
	if err != nil {
		return classifyClient("revoke client", err)
	}
	if affected == 0 {
		if _, err := s.Client(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

func classifyClient(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return clients.ErrNotFound
	case errors.Is(err, context.Canceled):
		return err
	default:
		return fmt.Errorf("%s: %w: %w", op, clients.ErrUnavailable, err)
	}
}
