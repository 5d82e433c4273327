package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/organization"
	"github.com/latchid/latch/services/auth/organization/organizationtest"
	"github.com/latchid/latch/services/auth/sqlstore"
)

func TestOrganizationStoreConformance(t *testing.T) {
	for _, dialect := range []sqldb.Dialect{sqldb.Postgres, sqldb.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			t.Parallel()
			organizationtest.RunStoreTests(t, func(t *testing.T) organizationtest.Fixture {
				db := openFresh(t, dialect)
				s := sqlstore.NewIdentityStore(db, time.UTC)
				feed := sqlstore.NewRevocationFeed(db)
				return organizationtest.Fixture{
					Store: s,
					User: func(t *testing.T, id string, sessionIDs ...string) {
						sessions := map[string]time.Duration{}
						for _, sid := range sessionIDs {
							sessions[sid] = time.Hour
						}
						seedUser(t, s, id, sessions)
					},
					ActiveOrganization: func(t *testing.T, sessionID string) string {
						sess, _, err := s.SessionByToken(context.Background(), "tok-"+sessionID)
						if err != nil {
							t.Fatal(err)
						}
						return sess.ActiveOrganizationID
					},
					Events: func(t *testing.T) []revocation.Event {
						events, err := feed.After(context.Background(), 0, 1000)
						if err != nil {
							t.Fatal(err)
						}
						return events
					},
				}
			})
		})
	}
}

// A token's claims are read while a demotion is committing: the read must
// not see the old role with a time before the change's event, or a token
// minted from it would outlive the role it carries (its iat after the
// event's second). On PostgreSQL the read waits for the change to commit
// and then sees the new role and the event.
func TestMemberForTokenWaitsForAChangeInFlight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openFresh(t, sqldb.Postgres)
	s := sqlstore.NewIdentityStore(db, time.UTC)
	seedUser(t, s, "ann", map[string]time.Duration{"s-ann": time.Hour})
	seedUser(t, s, "bob", map[string]time.Duration{"s-bob": time.Hour})
	now := time.Now().UTC()
	if err := s.CreateOrganization(ctx, organization.Organization{ID: "o1", Name: "Acme", Slug: "acme", CreatedAt: now},
		organization.Member{ID: "m1", OrganizationID: "o1", UserID: "ann", Role: "owner", CreatedAt: now}, "s-ann"); err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec(`INSERT INTO member (id, organization_id, user_id, role, created_at) VALUES ('m2', 'o1', 'bob', 'admin', ?)`, now).Error; err != nil {
		t.Fatal(err)
	}

	// A demotion in flight, written as the store writes one: the member
	// row, then the feed's lock and event as the last statements.
	tx := db.Gorm.Begin()
	defer tx.Rollback()
	at := time.Now().UTC()
	for _, q := range []string{
		`UPDATE member SET role = 'member' WHERE id = 'm2'`,
		`LOCK TABLE revocation_event IN EXCLUSIVE MODE`,
	} {
		if err := tx.Exec(q).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Exec(`INSERT INTO revocation_event (kind, subject, organization_id, at_ms, until_ms, expires_ms) VALUES ('member', 'bob', 'o1', ?, ?, ?)`,
		at.UnixMilli(), at.Add(time.Hour).UnixMilli(), at.Add(time.Hour).UnixMilli()).Error; err != nil {
		t.Fatal(err)
	}

	type read struct {
		m       organization.Member
		at      time.Time
		changed bool
		err     error
	}
	got := make(chan read, 1)
	go func() {
		m, at, changed, err := s.MemberForToken(ctx, "o1", "bob")
		got <- read{m, at, changed, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("the read did not wait for the change in flight: %+v", r)
	case <-time.After(300 * time.Millisecond):
	}
	if err := tx.Commit().Error; err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.err != nil || r.m.Role != "member" || !r.changed || r.at.UnixMilli() != at.UnixMilli() {
			t.Errorf("after the change committed: role %q changed %v at %v err %v; want member, the event at %v", r.m.Role, r.changed, r.at, r.err, at)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read never returned")
	}
}
