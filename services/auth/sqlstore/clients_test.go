package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/clients"
	"github.com/latchid/latch/services/auth/sqlstore"
)

func TestClientStore(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := sqlstore.NewClientStore(openFresh(t, dialect))
			created := time.Date(2026, 5, 6, 7, 8, 9, 123456000, time.UTC)
			a := clients.Client{ID: "aaaa", Name: "reports", Scopes: []string{"tasks:read"}, SecretHash: []byte{1, 2, 3}, CreatedAt: created}
			b := clients.Client{ID: "bbbb", Name: "importer", SecretHash: []byte{4}, CreatedAt: created.Add(time.Second)}
			for _, c := range []clients.Client{a, b} {
				if err := s.CreateClient(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.CreateClient(ctx, a); err == nil {
				t.Error("a second client with the same id was stored")
			}
			got, err := s.Client(ctx, "aaaa")
			if err != nil || got.Name != "reports" || len(got.Scopes) != 1 || string(got.SecretHash) != "\x01\x02\x03" || !got.CreatedAt.Equal(created) || got.Revoked() {
				t.Fatalf("Client = %+v, %v", got, err)
			}
			if _, err := s.Client(ctx, "zzzz"); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("missing client: %v", err)
			}
			at := created.Add(time.Hour)
			if err := s.RevokeClient(ctx, "aaaa", at); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeClient(ctx, "aaaa", at.Add(time.Hour)); err != nil {
				t.Fatalf("revoking twice: %v", err)
			}
			if err := s.RevokeClient(ctx, "zzzz", at); !errors.Is(err, clients.ErrNotFound) {
				t.Errorf("revoking a missing client: %v", err)
			}
			list, err := s.Clients(ctx)
			if err != nil || len(list) != 2 || list[0].ID != "aaaa" || list[0].RevokedAt == nil || !list[0].RevokedAt.Equal(at) || list[1].Revoked() {
				t.Fatalf("Clients = %+v, %v", list, err)
			}
		})
	}
}
