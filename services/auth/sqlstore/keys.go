package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/signing"
)

// KeyStore implements signing.KeyStore on the jwks table.
type KeyStore struct {
	db      *gorm.DB
	dialect sqldb.Dialect
	w       wallClock
}

// NewKeyStore returns the key store over db; zone as for NewIdentityStore.
func NewKeyStore(db *sqldb.DB, zone *time.Location) *KeyStore {
	return &KeyStore{db: db.Gorm, dialect: db.Dialect, w: wallClock{zone: zone}}
}

var _ signing.KeyStore = (*KeyStore)(nil)

// keyLockID names the advisory lock that serialises key creation across
// replicas ("latch-jwks" as a number).
const keyLockID = 0x6c61746368_6a77

func (s *KeyStore) Keys(ctx context.Context) ([]signing.StoredKey, error) {
	var rows []keyRow
	if err := s.db.WithContext(ctx).Order("created_at DESC").Find(&rows).Error; err != nil {
		return nil, classify("read keys", err)
	}
	out := make([]signing.StoredKey, len(rows))
	for i, r := range rows {
		out[i] = signing.StoredKey{
			ID: r.ID, PublicKey: r.PublicKey, PrivateKey: r.PrivateKey,
			CreatedAt: s.w.get(r.CreatedAt), ExpiresAt: s.w.getPtr(r.ExpiresAt), Alg: r.Alg, Crv: r.Crv,
		}
	}
	return out, nil
}

func (s *KeyStore) InsertKeyUnlessCovered(ctx context.Context, k signing.StoredKey, at time.Time) (bool, error) {
	inserted := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lock(tx); err != nil {
			return err
		}
		var covering int64
		if err := tx.Model(&keyRow{}).Where("expires_at IS NULL OR expires_at > ?", s.w.put(at)).Count(&covering).Error; err != nil {
			return err
		}
		if covering > 0 {
			return nil
		}
		inserted = true
		return tx.Create(s.rowOf(k)).Error
	})
	return inserted, classify("insert key", err)
}

func (s *KeyStore) ReplaceKeys(ctx context.Context, k signing.StoredKey, retireAt time.Time) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := s.lock(tx); err != nil {
			return err
		}
		if err := tx.Model(&keyRow{}).Where("expires_at IS NULL OR expires_at > ?", s.w.put(retireAt)).
			Update("expires_at", s.w.put(retireAt)).Error; err != nil {
			return err
		}
		return tx.Create(s.rowOf(k)).Error
	})
	return classify("rotate keys", err)
}

// lock takes a transaction-scoped advisory lock on PostgreSQL; SQLite
// transactions are already serialised by its single writer.
func (s *KeyStore) lock(tx *gorm.DB) error {
	if s.dialect != sqldb.Postgres {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?)", keyLockID).Error
}

func (s *KeyStore) rowOf(k signing.StoredKey) *keyRow {
	return &keyRow{
		ID: k.ID, PublicKey: k.PublicKey, PrivateKey: k.PrivateKey,
		CreatedAt: s.w.put(k.CreatedAt), ExpiresAt: s.w.putPtr(k.ExpiresAt), Alg: k.Alg, Crv: k.Crv,
	}
}
