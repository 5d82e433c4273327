package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// BenchmarkCreateSession: the sign-in's write with and without its audit
// event in the same transaction, on PostgreSQL, 8 in flight; the difference
// is what the audit trail adds to a sign-in's database work.
func BenchmarkCreateSession(b *testing.B) {
	ctx := context.Background()
	store := sqlstore.NewIdentityStore(openFresh(b, sqldb.Postgres), time.UTC)
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := identity.User{ID: identity.NewID(), Name: "U", Email: "u@example.com", CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(ctx, u, identity.Account{ID: identity.NewID(), AccountID: u.ID, ProviderID: identity.CredentialProvider, UserID: u.ID, CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	for _, withAudit := range []bool{false, true} {
		name := "without-audit"
		if withAudit {
			name = "with-audit"
		}
		b.Run(name, func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					s := identity.Session{ID: identity.NewID(), Token: identity.NewID(), UserID: u.ID, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now, IPAddress: "203.0.113.7", UserAgent: "bench/1"}
					var events []audit.Event
					if withAudit {
						events = append(events, audit.Event{ID: identity.NewID(), Type: audit.SignIn, UserID: u.ID, IPAddress: "203.0.113.7", UserAgent: "bench/1", RequestID: "r", Detail: map[string]string{audit.DetailMethod: audit.MethodEmail}, CreatedAt: now})
					}
					if err := store.CreateSession(ctx, s, events...); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
