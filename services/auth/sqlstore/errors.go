package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/latchid/latch/pkg/sqldb"

	"github.com/latchid/latch/services/auth/identity"
)

// classify turns a gorm error into the domain's vocabulary: not found,
// conflict, data the database refused, the caller's own cancellation, or the
// store being unavailable.
func classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return identity.ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return identity.ErrConflict
	case errors.Is(err, context.Canceled):
		return err
	case sqldb.Refused(err):
		return fmt.Errorf("%s: %w: %w", op, identity.ErrInvalidData, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, identity.ErrUnavailable, err)
	}
}
