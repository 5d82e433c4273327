package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/clients"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/sqlstore"
)

var auditT0 = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func auditCount(t *testing.T, db *sqldb.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Raw("SELECT count(*) FROM audit_event").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// The change fails after its audit event was inserted: the revocation feed
// (written last in the transaction) is gone. The event must roll back with
// the rest, and the user must still be there.
func TestAuditEventRollsBackWhenTheChangeFailsAfterIt(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openFresh(t, dialect)
			store := sqlstore.NewIdentityStore(db, time.UTC)
			u := identity.User{ID: identity.NewID(), Name: "Ann", Email: "ann@example.com", CreatedAt: auditT0, UpdatedAt: auditT0}
			a := identity.Account{ID: identity.NewID(), AccountID: u.ID, ProviderID: identity.CredentialProvider, UserID: u.ID, CreatedAt: auditT0, UpdatedAt: auditT0}
			if err := store.CreateUser(ctx, u, a); err != nil {
				t.Fatal(err)
			}
			if err := db.Gorm.Exec("DROP TABLE revocation_event").Error; err != nil {
				t.Fatal(err)
			}
			ev := audit.Event{ID: identity.NewID(), Type: audit.AccountDeleted, UserID: u.ID, CreatedAt: auditT0}
			if err := store.DeleteUser(ctx, u.ID, ev); err == nil {
				t.Fatal("DeleteUser succeeded without its revocation table")
			}
			if n := auditCount(t, db); n != 0 {
				t.Errorf("%d audit rows survived the failed deletion", n)
			}
			if _, err := store.UserByID(ctx, u.ID); err != nil {
				t.Errorf("the user is gone after the failed deletion: %v", err)
			}
		})
	}
}

func TestServiceClientEventsCommitWithTheChange(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openFresh(t, dialect)
			store := sqlstore.NewClientStore(db)
			c := clients.Client{ID: "svc1", Name: "billing", Scopes: []string{"tasks:read"}, SecretHash: []byte("h"), CreatedAt: auditT0}
			created := audit.Event{ID: identity.NewID(), Type: audit.ClientCreated, ActorID: clients.OperatorActor, CreatedAt: auditT0}
			if err := store.CreateClient(ctx, c, created); err != nil {
				t.Fatal(err)
			}
			// A second client with the same id fails, and so does its event.
			if err := store.CreateClient(ctx, c, audit.Event{ID: identity.NewID(), Type: audit.ClientCreated, CreatedAt: auditT0}); err == nil {
				t.Fatal("a duplicate client id was accepted")
			}
			revoked := func() audit.Event {
				return audit.Event{ID: identity.NewID(), Type: audit.ClientRevoked, ActorID: clients.OperatorActor, CreatedAt: auditT0}
			}
			if err := store.RevokeClient(ctx, "svc1", auditT0, revoked()); err != nil {
				t.Fatal(err)
			}
			// Revoking again changes nothing and records nothing.
			if err := store.RevokeClient(ctx, "svc1", auditT0, revoked()); err != nil {
				t.Fatal(err)
			}
			got, err := sqlstore.NewAuditStore(db).Events(ctx, audit.Query{AllUsers: true, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].UserID != "" || got[0].ActorID != clients.OperatorActor {
				t.Errorf("client events = %+v, want created and revoked once each", got)
			}
		})
	}
}

func TestDeleteAuditBeforeDeletesOldEventsInBatches(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openFresh(t, dialect)
			store := sqlstore.NewAuditStore(db)
			var evs []audit.Event
			for i := range 5 {
				evs = append(evs, audit.Event{ID: identity.NewID(), Type: audit.SignIn, UserID: "u", CreatedAt: auditT0.Add(time.Duration(i) * time.Hour)})
			}
			if err := store.Record(ctx, evs...); err != nil {
				t.Fatal(err)
			}
			cutoff := auditT0.Add(3 * time.Hour) // events at 0h, 1h, 2h are older
			n, err := store.DeleteAuditBefore(ctx, cutoff, 2)
			if err != nil || n != 2 {
				t.Fatalf("first batch: %d, %v; want 2", n, err)
			}
			n, err = store.DeleteAuditBefore(ctx, cutoff, 2)
			if err != nil || n != 1 {
				t.Fatalf("second batch: %d, %v; want 1", n, err)
			}
			if n, _ := store.DeleteAuditBefore(ctx, cutoff, 2); n != 0 {
				t.Errorf("third batch deleted %d", n)
			}
			if n := auditCount(t, db); n != 2 {
				t.Errorf("%d events left, want the 2 newer than the cutoff", n)
			}
		})
	}
}

// ConsumeVerification is one DELETE … RETURNING: of many concurrent
// consumers of one row exactly one gets it, on both dialects.
func TestConsumeVerificationOnce(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			store := sqlstore.NewIdentityStore(openFresh(t, dialect), time.UTC)
			for i, value := range []string{"older", "newer"} {
				at := auditT0.Add(time.Duration(i) * time.Second)
				if err := store.CreateVerification(ctx, identity.Verification{ID: identity.NewID(), Identifier: "2fa-x", Value: value, ExpiresAt: at.Add(time.Hour), CreatedAt: at, UpdatedAt: at}); err != nil {
					t.Fatal(err)
				}
			}
			v, err := store.ConsumeVerification(ctx, "2fa-x")
			if err != nil || v.Value != "newer" || !v.ExpiresAt.Equal(auditT0.Add(time.Second+time.Hour)) {
				t.Fatalf("first consume = %+v, %v; want the newest row", v, err)
			}
			results := make(chan error, 8)
			for range 8 {
				go func() { _, err := store.ConsumeVerification(ctx, "2fa-x"); results <- err }()
			}
			won := 0
			for range 8 {
				err := <-results
				switch {
				case err == nil:
					won++
				case !errors.Is(err, identity.ErrNotFound):
					t.Errorf("consume: %v", err)
				}
			}
			if won != 1 {
				t.Errorf("%d concurrent consumers got the last row, want 1", won)
			}
		})
	}
}

// A backup code spent by a concurrent request first: the losing swap
// changes nothing and records nothing.
func TestBackupCodeEventsOnlyForTheSwapThatWon(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openFresh(t, dialect)
			store := sqlstore.NewIdentityStore(db, time.UTC)
			u := identity.User{ID: identity.NewID(), Name: "Ann", Email: "ann@example.com", CreatedAt: auditT0, UpdatedAt: auditT0}
			if err := store.CreateUser(ctx, u, identity.Account{ID: identity.NewID(), AccountID: u.ID, ProviderID: identity.CredentialProvider, UserID: u.ID, CreatedAt: auditT0, UpdatedAt: auditT0}); err != nil {
				t.Fatal(err)
			}
			tf := identity.TwoFactor{ID: identity.NewID(), UserID: u.ID, Secret: "s", BackupCodes: "codes-1", Verified: true}
			if err := store.SaveTwoFactor(ctx, tf); err != nil {
				t.Fatal(err)
			}
			used := func() audit.Event {
				return audit.Event{ID: identity.NewID(), Type: audit.BackupCodeUsed, UserID: u.ID, CreatedAt: auditT0}
			}
			if ok, err := store.SwapBackupCodes(ctx, tf.ID, "codes-1", "codes-2", used()); err != nil || !ok {
				t.Fatalf("first swap: %v %v", ok, err)
			}
			if ok, err := store.SwapBackupCodes(ctx, tf.ID, "codes-1", "codes-3", used()); err != nil || ok {
				t.Fatalf("the stale swap: %v %v, want false", ok, err)
			}
			regenerated := audit.Event{ID: identity.NewID(), Type: audit.BackupCodesRegenerated, UserID: u.ID, CreatedAt: auditT0.Add(time.Second)}
			if err := store.SetBackupCodes(ctx, tf.ID, "codes-4", regenerated); err != nil {
				t.Fatal(err)
			}
			// A clashing event id rolls the new codes back.
			if err := store.SetBackupCodes(ctx, tf.ID, "codes-5", regenerated); err == nil {
				t.Fatal("SetBackupCodes with a clashing audit id succeeded")
			}
			if row, err := store.TwoFactorByUser(ctx, u.ID); err != nil || row.BackupCodes != "codes-4" {
				t.Errorf("codes = %q (%v), want codes-4: the failed write kept its change", row.BackupCodes, err)
			}
			got, err := store.AuditEvents(ctx, audit.Query{UserID: u.ID, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 || got[0].Type != audit.BackupCodesRegenerated || got[1].Type != audit.BackupCodeUsed {
				t.Errorf("events = %+v, want regenerated and one use", got)
			}
		})
	}
}
