package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/clients"
	"github.com/latchid/latch/services/auth/identity"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// kinds renders events as "kind:subject" for comparison.
func kinds(events []revocation.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Kind + ":" + e.Subject
	}
	return out
}

func seedUser(t *testing.T, s *sqlstore.IdentityStore, id string, sessions map[string]time.Duration) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	u := identity.User{ID: id, Name: id, Email: id + "@example.com", CreatedAt: now, UpdatedAt: now}
	pw := "hash"
	a := identity.Account{ID: "acct-" + id, AccountID: id, ProviderID: identity.CredentialProvider, UserID: id, Password: &pw, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u, a); err != nil {
		t.Fatal(err)
	}
	for sid, ttl := range sessions {
		if err := s.CreateSession(ctx, identity.Session{ID: sid, Token: "tok-" + sid, UserID: id, ExpiresAt: now.Add(ttl), CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEveryWayASessionEndsPublishesItsRevocationInTheSameTransaction(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openFresh(t, dialect)
			s := sqlstore.NewIdentityStore(db, time.UTC)
			woken := 0
			s.UseRevocations(sqlstore.RevocationRetention{TokenWindow: 16 * time.Minute, Deletions: 24 * time.Hour}, func() { woken++ })
			feed := sqlstore.NewRevocationFeed(db)
			var cursor int64
			next := func(what string, want ...string) {
				t.Helper()
				events, err := feed.After(ctx, cursor, 100)
				if err != nil {
					t.Fatal(err)
				}
				got := kinds(events)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("%s published %v, want %v", what, got, want)
				}
				for _, e := range events {
					if e.ID <= cursor || e.Until.Sub(e.At) != 16*time.Minute || time.Since(e.At) > time.Minute {
						t.Fatalf("%s: event %+v: want increasing ids, until = at + the token window", what, e)
					}
					cursor = e.ID
				}
			}
			day := 24 * time.Hour
			seedUser(t, s, "ann", map[string]time.Duration{"a1": day, "a2": day, "a3": day, "a-expired": -time.Hour})

			if err := s.DeleteSession(ctx, "tok-a1"); err != nil {
				t.Fatal(err)
			}
			next("sign-out", "session:a1")
			if err := s.DeleteSession(ctx, "tok-a-expired"); err != nil {
				t.Fatal(err)
			}
			next("deleting an expired session (its tokens end with their exp)")
			if err := s.DeleteUserSession(ctx, "someone-else", "tok-a2"); err != nil {
				t.Fatal(err)
			}
			next("revoke-session of another user's token")
			if err := s.DeleteUserSession(ctx, "ann", "tok-a2"); err != nil {
				t.Fatal(err)
			}
			next("revoke-session", "session:a2")

			seedUser(t, s, "bob", map[string]time.Duration{"b1": day, "b2": day, "b3": day})
			if err := s.DeleteOtherSessions(ctx, "bob", "tok-b1"); err != nil {
				t.Fatal(err)
			}
			events, _ := feed.After(ctx, cursor, 100)
			if got := fmt.Sprint(kinds(events)); got != "[session:b2 session:b3]" && got != "[session:b3 session:b2]" {
				t.Fatalf("revoke-other-sessions published %s", got)
			}
			cursor = events[len(events)-1].ID
			if err := s.DeleteUserSessions(ctx, "bob"); err != nil {
				t.Fatal(err)
			}
			next("revoke-sessions", "session:b1", "user:bob")

			seedUser(t, s, "cid", map[string]time.Duration{"c1": day})
			now := time.Now().UTC().Truncate(time.Millisecond)
			if err := s.ChangePassword(ctx, "acct-cid", "new-hash", now, &identity.Session{ID: "c2", Token: "tok-c2", UserID: "cid", ExpiresAt: now.Add(day), CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			next("change-password revoking sessions", "session:c1", "user:cid")
			if err := s.ChangePassword(ctx, "acct-cid", "newer-hash", now, nil); err != nil {
				t.Fatal(err)
			}
			next("change-password keeping sessions")

			if err := s.CreateVerification(ctx, identity.Verification{ID: "v1", Identifier: "reset-password:x", Value: "cid", ExpiresAt: now.Add(time.Hour), CreatedAt: now, UpdatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := s.ResetPassword(ctx, "reset-password:x", "cid", "h2", now, true); err != nil {
				t.Fatal(err)
			}
			next("reset-password", "session:c2", "user:cid")
			if err := s.ResetPassword(ctx, "reset-password:x", "cid", "h3", now, true); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("second reset with a consumed token: %v", err)
			}
			next("a reset that failed (rolled back)")

			if err := s.DeleteUser(ctx, "ann"); err != nil {
				t.Fatal(err)
			}
			next("delete-user", "session:a3", "user_deleted:ann")
			if err := s.DeleteUser(ctx, "ann"); !errors.Is(err, identity.ErrNotFound) {
				t.Fatalf("deleting a deleted user: %v", err)
			}
			next("a delete-user that failed")

			if woken != 7 {
				t.Errorf("the feed was woken %d times, want once per committed revocation (7)", woken)
			}
			head, err := feed.Head(ctx)
			if err != nil || head != cursor {
				t.Errorf("head = %d, %v; want %d", head, err, cursor)
			}

			// The sweep deletes events once no token they affect can be
			// valid; user_deleted stays for Deletions.
			n, err := s.DeleteExpiredRevocations(ctx, time.Now().Add(17*time.Minute), 1000)
			if err != nil || n != 11 {
				t.Fatalf("deleted %d expired events (%v), want 11", n, err)
			}
			cursor = 0
			next("what is left after the sweep", "user_deleted:ann")
			if head, _ := feed.Head(ctx); head == 0 {
				t.Error("head 0 with an event left")
			}
		})
	}
}

func TestRevokingAClientPublishesItOnce(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := openFresh(t, dialect)
			cs := sqlstore.NewClientStore(db)
			if err := cs.CreateClient(ctx, clientFixture("svc")); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := cs.RevokeClient(ctx, "svc", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			events, err := sqlstore.NewRevocationFeed(db).After(ctx, 0, 10)
			if err != nil || fmt.Sprint(kinds(events)) != "[client:svc]" {
				t.Fatalf("events %v (%v), want one client:svc", kinds(events), err)
			}
		})
	}
}

// Concurrent revocations commit in id order: a follower reading "id >
// cursor" while they run sees every event. Without the table lock, a
// transaction that took a smaller id but committed later would be passed
// over for good.
func TestAFollowerReadingDuringConcurrentRevocationsMissesNone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openFresh(t, sqldb.Postgres)
	s := sqlstore.NewIdentityStore(db, time.UTC)
	feed := sqlstore.NewRevocationFeed(db)
	const writers, each = 8, 15
	sessions := map[string]time.Duration{}
	for i := range writers * each {
		sessions[fmt.Sprintf("s%d", i)] = time.Hour
	}
	seedUser(t, s, "ann", sessions)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := s.DeleteSession(ctx, fmt.Sprintf("tok-s%d", w*each+i)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	seen := map[string]bool{}
	var cursor int64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		events, err := feed.After(ctx, cursor, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			seen[e.Subject] = true
			cursor = e.ID
		}
		if finished && len(events) == 0 {
			break
		}
	}
	if len(seen) != writers*each {
		t.Fatalf("the follower saw %d of %d events", len(seen), writers*each)
	}
}

func clientFixture(id string) clients.Client {
	return clients.Client{ID: id, Name: id, SecretHash: []byte{1}, CreatedAt: time.Now().UTC().Truncate(time.Second)}
}
