package sqlstore_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/sqlstore"
)

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	db := openFresh(t, sqldb.Postgres)
	applied, err := sqlstore.Migrate(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != 0 {
		t.Errorf("second Migrate applied %v, want nothing", applied)
	}
}

func TestConcurrentMigrationsFromSeveralReplicas(t *testing.T) {
	t.Parallel()
	dsn := testdb.New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqldb.Open(context.Background(), dsn, sqldb.DefaultPool())
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			_, err = sqlstore.Migrate(context.Background(), db)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("replica migration: %v", err)
		}
	}
}

// A database Better Auth has been serving: Latch's migration must add what
// 1.7 needs and change no row.
func TestMigrateKeepsAnExistingBetterAuthDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dsn := testdb.New(t)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	seed, err := os.ReadFile("testdata/better_auth_seed_schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(seed)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `
INSERT INTO "user" (id, name, email, email_verified, created_at, updated_at) VALUES ('u1', 'Ann', 'ann@example.com', true, '2025-01-02 03:04:05.678', '2025-01-02 03:04:05.678');
INSERT INTO account (id, account_id, provider_id, user_id, password, created_at, updated_at) VALUES ('a1', 'u1', 'credential', 'u1', 'salt:key', '2025-01-02 03:04:05.678', '2025-01-02 03:04:05.678');
INSERT INTO session (id, expires_at, token, created_at, updated_at, user_id) VALUES ('s1', '2099-01-01', 'tok', now(), now(), 'u1');
INSERT INTO verification (id, identifier, value, expires_at) VALUES ('v1', 'reset-password:x', 'u1', '2099-01-01');
INSERT INTO jwks (id, public_key, private_key, created_at) VALUES ('k1', '{"kty":"OKP"}', '"00"', now());
CREATE TABLE app_owned (id int); INSERT INTO app_owned VALUES (42);`); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		out := map[string]string{}
		for table, columns := range map[string]string{
			"account": "*", "verification": "*", "app_owned": "*",
			// The columns the seed had (00010 adds the plugins' columns, which Better Auth's own migrator would add too).
			`"user"`:  "id, name, email, email_verified, image, created_at, updated_at",
			"session": "id, expires_at, token, created_at, updated_at, ip_address, user_agent, user_id",
			"jwks":    "id, public_key, private_key, created_at, expires_at", // the columns of a jwks table that Better Auth's JWT plugin made
		} {
			var dump string
			if err := conn.QueryRow(ctx, "SELECT coalesce(json_agg(t)::text, '') FROM (SELECT "+columns+" FROM "+table+") t").Scan(&dump); err != nil {
				t.Fatalf("dump %s: %v", table, err)
			}
			out[table] = dump
		}
		return out
	}
	before := snapshot()

	db, err := sqldb.Open(ctx, dsn, sqldb.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := sqlstore.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}

	after := snapshot()
	for table, dump := range before {
		if after[table] != dump {
			t.Errorf("%s changed:\nbefore %s\nafter  %s", table, dump, after[table])
		}
	}
	var cols int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'jwks' AND column_name IN ('alg','crv')`).Scan(&cols); err != nil {
		t.Fatal(err)
	}
	if cols != 2 {
		t.Errorf("jwks has %d of the columns alg, crv; want both", cols)
	}
	var plugin int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE
  (table_name = 'user' AND column_name = 'two_factor_enabled') OR (table_name = 'session' AND column_name = 'active_organization_id') OR
  (table_name IN ('two_factor', 'organization', 'member', 'invitation') AND column_name = 'id')`).Scan(&plugin); err != nil {
		t.Fatal(err)
	}
	if plugin != 6 {
		t.Errorf("found %d of the plugins' 2 columns and 4 tables, want all 6", plugin)
	}
}
