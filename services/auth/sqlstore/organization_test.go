package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/sqldb"
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
