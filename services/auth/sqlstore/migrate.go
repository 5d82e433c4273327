// Package sqlstore keeps Latch's identities and signing keys in PostgreSQL
// (production, and any existing Better Auth database) or SQLite (the embedded
// default), through gorm, in Better Auth's snake_case schema.
package sqlstore

import (
	"context"
	"embed"
	"io/fs"

	"github.com/latchid/latch/pkg/sqldb"
)

//go:embed migrations
var migrations embed.FS

// migrationsTable records which of our migrations ran; a name of its own so
// it never collides with a table of Better Auth's or the application's.
const migrationsTable = "latch_auth_migrations"

// Migrate brings the auth schema up to date.
func Migrate(ctx context.Context, db *sqldb.DB) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return db.Migrate(ctx, sub, migrationsTable)
}
