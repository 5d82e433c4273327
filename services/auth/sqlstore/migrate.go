package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations
var migrations embed.FS

// migrationsTable records which of our migrations ran; a name of its own so
// it never collides with a table of Better Auth's or the application's.
const migrationsTable = "latch_auth_migrations"

// Migrate brings the schema up to date. On PostgreSQL a session advisory lock
// serialises replicas that start at once, so exactly one applies each step.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return nil, err
	}
	dir, gooseDialect := "migrations/sqlite", goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithTableName(migrationsTable)}
	if db.Dialect == Postgres {
		dir, gooseDialect = "migrations/postgres", goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	provider, err := goose.NewProvider(gooseDialect, sqlDB, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, r.Source.Path)
	}
	return applied, nil
}
