package sqlstore_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// A sign-in challenge: its two rows and its event land together, and
// completing it spends the challenge and opens the session together or not
// at all.
func TestChallengeWritesAreAllOrNothing(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := sqlstore.NewIdentityStore(openFresh(t, dialect), time.UTC)
			seedUser(t, s, "ann", map[string]time.Duration{"s-old": time.Hour})
			seedUser(t, s, "bob", nil)
			now := auditT0
			row := func(identifier, value string) identity.Verification {
				return identity.Verification{ID: identity.NewID(), Identifier: identifier, Value: value, ExpiresAt: now.Add(10 * time.Minute), CreatedAt: now, UpdatedAt: now}
			}
			step := audit.Event{Type: audit.SignIn, UserID: "ann", CreatedAt: now, Detail: map[string]string{audit.DetailSecondFactor: "required"}}
			if err := s.CreateChallenge(ctx, row("2fa-c1", "ann"), row("2fa-attempts-2fa-c1", "0"), step); err != nil {
				t.Fatal(err)
			}
			for id, want := range map[string]string{"2fa-c1": "ann", "2fa-attempts-2fa-c1": "0"} {
				if v, err := s.Verification(ctx, id); err != nil || v.Value != want {
					t.Fatalf("%s = %+v, %v; want %q", id, v, err, want)
				}
			}
			// A duplicate row id fails the INSERT: neither row nor the event stays.
			dup := row("2fa-c2", "ann")
			dup.ID = identity.NewID()
			second := row("2fa-attempts-2fa-c2", "0")
			second.ID = dup.ID
			if err := s.CreateChallenge(ctx, dup, second, step); err == nil {
				t.Fatal("a challenge with a duplicate row id was written")
			}
			if _, err := s.Verification(ctx, "2fa-c2"); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("half a challenge stayed: %v", err)
			}
			if got := eventsOf(t, s, "ann"); len(got) != 1 {
				t.Fatalf("%d events, want the first challenge's only", len(got))
			}

			session := func(userID, token string) identity.Session {
				return identity.Session{ID: identity.NewID(), Token: token, UserID: userID, ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now, AMR: identity.AMROTP}
			}
			// The session write fails (its token is taken): the challenge stays for a retry.
			if err := s.CompleteChallenge(ctx, "2fa-c1", session("ann", "tok-s-old")); err == nil || errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("complete with a taken token: %v, want a store error", err)
			}
			if _, err := s.Verification(ctx, "2fa-c1"); err != nil {
				t.Fatalf("a failed session write spent the challenge: %v", err)
			}
			// Someone else's session cannot spend Ann's challenge.
			if err := s.CompleteChallenge(ctx, "2fa-c1", session("bob", identity.NewID())); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("Bob completed Ann's challenge: %v", err)
			}
			if _, err := s.Verification(ctx, "2fa-c1"); err != nil {
				t.Fatalf("a refused completion spent the challenge: %v", err)
			}
			// Of concurrent completions one wins; the others write nothing.
			var wg sync.WaitGroup
			results := make(chan error, 6)
			for range 6 {
				wg.Go(func() {
					results <- s.CompleteChallenge(ctx, "2fa-c1", session("ann", identity.NewID()), audit.Event{Type: audit.SignIn, UserID: "ann", CreatedAt: now})
				})
			}
			wg.Wait()
			close(results)
			won := 0
			for err := range results {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, identity.ErrNotFound) && dialect == sqldb.Postgres:
					t.Errorf("complete: %v", err)
				}
			}
			active, err := s.ActiveSessions(ctx, "ann", now)
			if err != nil {
				t.Fatal(err)
			}
			if won != 1 || len(active) != 2 || len(eventsOf(t, s, "ann")) != 2 {
				t.Fatalf("%d completions won, %d sessions, want 1 and 2 (the old one and the winner's)", won, len(active))
			}
		})
	}
}

func eventsOf(t *testing.T, s *sqlstore.IdentityStore, userID string) []audit.Event {
	t.Helper()
	got, err := s.AuditEvents(context.Background(), audit.Query{UserID: userID, Limit: audit.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return got
}
