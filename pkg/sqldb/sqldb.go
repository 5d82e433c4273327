// Package sqldb opens the database a Latch service keeps its rows in:
// PostgreSQL in production, or a SQLite file for the embedded default, both
// through gorm, and applies the service's versioned migrations.
package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/latchid/latch/pkg/envconf"
)

// Dialect names the database engine behind a DB.
type Dialect string

// The engines Latch runs on.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Pool bounds the connections one process holds.
type Pool struct {
	MaxOpen     int
	MaxIdle     int
	MaxLifetime time.Duration
	MaxIdleTime time.Duration
}

// DefaultPool suits one replica on a small machine; PostgreSQL's default of
// 100 connections leaves room for several replicas and the migrations.
func DefaultPool() Pool {
	return Pool{MaxOpen: 20, MaxIdle: 20, MaxLifetime: 30 * time.Minute, MaxIdleTime: 5 * time.Minute}
}

// PoolFromEnv reads DB_MAX_OPEN_CONNS, DB_MAX_IDLE_CONNS, DB_CONN_MAX_LIFETIME
// and DB_CONN_MAX_IDLE_TIME, each defaulting to DefaultPool's value.
func PoolFromEnv(e *envconf.Reader) Pool {
	def := DefaultPool()
	return Pool{
		MaxOpen:     e.Int("DB_MAX_OPEN_CONNS", def.MaxOpen),
		MaxIdle:     e.Int("DB_MAX_IDLE_CONNS", def.MaxIdle),
		MaxLifetime: e.Duration("DB_CONN_MAX_LIFETIME", def.MaxLifetime),
		MaxIdleTime: e.Duration("DB_CONN_MAX_IDLE_TIME", def.MaxIdleTime),
	}
}

// DB is an open database and the dialect its SQL is written in.
type DB struct {
	Gorm    *gorm.DB
	Dialect Dialect
	// PG is the connection pool under Gorm on PostgreSQL (nil on SQLite).
	// Hot read paths query it directly: pgx's native interface skips gorm's
	// statement building and database/sql's row conversion, about a third
	// of the service's CPU for a one-row read (bench/tasks).
	PG *pgxpool.Pool
}

// Open connects to dsn: a postgres:// or postgresql:// URL, or a SQLite
// file given as sqlite:PATH or file:PATH. It does not touch the schema.
func Open(ctx context.Context, dsn string, pool Pool) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		TranslateError:         true,
		SkipDefaultTransaction: true,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
	}
	var (
		g       *gorm.DB
		err     error
		dialect Dialect
		pg      *pgxpool.Pool
	)
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		dialect = Postgres
		if pg, err = openPGPool(dsn, pool); err != nil {
			return nil, err
		}
		// gorm borrows connections from the same pgx pool, so one limit
		// bounds the process and both paths share the statement caches.
		g, err = gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDBFromPool(pg)}), cfg)
	case strings.HasPrefix(dsn, "sqlite:"), strings.HasPrefix(dsn, "file:"):
		dialect = SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "file:")
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		// WAL lets readers run beside the writer; busy_timeout makes a second
		// writer wait instead of failing; foreign keys give ON DELETE CASCADE.
		g, err = gorm.Open(sqlite.Open("file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)"), cfg)
		pool.MaxOpen, pool.MaxIdle = 1, 1 // SQLite has one writer; one connection avoids SQLITE_BUSY
	default:
		return nil, errors.New("DATABASE_URL must be a postgres:// or postgresql:// URL, or sqlite:PATH (file:PATH)")
	}
	db := &DB{Gorm: g, Dialect: dialect, PG: pg}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	sqlDB.SetMaxOpenConns(pool.MaxOpen)
	if pg == nil {
		// On PostgreSQL idle connections wait in the pgx pool instead
		// (stdlib.OpenDBFromPool keeps database/sql from holding any).
		sqlDB.SetMaxIdleConns(pool.MaxIdle)
		sqlDB.SetConnMaxLifetime(pool.MaxLifetime)
		sqlDB.SetConnMaxIdleTime(pool.MaxIdleTime)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	return db, nil
}

func openPGPool(dsn string, pool Pool) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	cfg.MaxConns = int32(max(pool.MaxOpen, 1))
	cfg.MaxConnLifetime = pool.MaxLifetime
	cfg.MaxConnIdleTime = pool.MaxIdleTime
	// NewWithConfig connects lazily: the ping in Open reports an unreachable server.
	return pgxpool.NewWithConfig(context.Background(), cfg)
}

// Ping checks the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error {
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close releases the pool.
func (db *DB) Close() error {
	var err error
	if db.Gorm != nil {
		var sqlDB interface{ Close() error }
		if sqlDB, err = db.Gorm.DB(); err == nil {
			err = sqlDB.Close()
		}
	}
	if db.PG != nil {
		db.PG.Close()
	}
	return err
}

// Migrate applies the goose migrations in fsys (one directory per dialect:
// "postgres" and "sqlite"), recording them in table. On PostgreSQL a session
// advisory lock serialises replicas that start at once, so exactly one
// applies each step. It returns the files applied.
func (db *DB) Migrate(ctx context.Context, fsys fs.FS, table string) ([]string, error) {
	sqlDB, err := db.Gorm.DB()
	if err != nil {
		return nil, err
	}
	dir, gooseDialect := "sqlite", goose.DialectSQLite3
	opts := []goose.ProviderOption{goose.WithTableName(table)}
	if db.Dialect == Postgres {
		dir, gooseDialect = "postgres", goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	sub, err := fs.Sub(fsys, dir)
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

// MigrateCommand is a service's `migrate` subcommand: open dsn, apply the
// service's migrations, say what was applied.
func MigrateCommand(ctx context.Context, dsn string, pool Pool, migrate func(context.Context, *DB) ([]string, error), out io.Writer) error {
	db, err := Open(ctx, dsn, pool)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := migrate(ctx, db)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(out, "schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(out, "applied", m)
	}
	return nil
}
