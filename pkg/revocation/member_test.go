package revocation

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The member rule, at the edges: the event's own second is refused (auth
// mints no token naming the organization for that user in it), the next
// second works, and only the user's tokens naming that organization count.
func TestAMemberEventRefusesTheUsersTokensForThatOrganizationUpToItsSecond(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 10, 500e6, time.UTC)} // 01:00:10.5
	at := c.t.Add(-300 * time.Millisecond)                            // 01:00:10.2
	sec := at.Truncate(time.Second)                                   // 01:00:10
	s := synced(t, c,
		Event{ID: 1, Kind: KindMember, Subject: "ann", OrganizationID: "acme", At: at, Until: at.Add(16 * time.Minute)},
		Event{ID: 2, Kind: KindOrganizationDeleted, Subject: "gone-org", At: at, Until: at.Add(16 * time.Minute)},
	)
	for _, tc := range []struct {
		name string
		tok  Token
		want error
	}{
		{"ann's acme token a second before", Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme", IssuedAt: sec.Add(-time.Second)}, ErrRevoked},
		{"ann's acme token of the event's own second", Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme", IssuedAt: sec}, ErrRevoked},
		{"ann's acme token of the event's second, after its millisecond", Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme", IssuedAt: sec.Add(900 * time.Millisecond)}, ErrRevoked},
		{"ann's acme token of the next second", Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme", IssuedAt: sec.Add(time.Second)}, nil},
		{"ann's acme token without iat", Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme"}, ErrRevoked},
		{"ann's acme token without sid", Token{Subject: "ann", OrganizationID: "acme", IssuedAt: sec.Add(-time.Minute)}, ErrRevoked},
		{"ann's token naming no organization", Token{Subject: "ann", SessionID: "s1", IssuedAt: sec.Add(-time.Minute)}, nil},
		{"ann's token naming another organization", Token{Subject: "ann", SessionID: "s2", OrganizationID: "other", IssuedAt: sec.Add(-time.Minute)}, nil},
		{"bob's acme token (another user's event)", Token{Subject: "bob", SessionID: "s3", OrganizationID: "acme", IssuedAt: sec.Add(-time.Minute)}, nil},
		{"a client named like ann with org acme", Token{Subject: "client:ann", ClientID: "ann", OrganizationID: "acme", IssuedAt: sec.Add(-time.Minute)}, nil},
		{"anyone's token naming the deleted organization", Token{Subject: "bob", SessionID: "s3", OrganizationID: "gone-org", IssuedAt: sec.Add(-time.Minute)}, ErrRevoked},
		{"a token naming the deleted organization issued later", Token{Subject: "cid", SessionID: "s4", OrganizationID: "gone-org", IssuedAt: sec.Add(time.Minute)}, ErrRevoked},
		{"a client's token naming the deleted organization", Token{Subject: "client:svc", ClientID: "svc", OrganizationID: "gone-org", IssuedAt: sec}, ErrRevoked},
		{"bob's token naming no organization", Token{Subject: "bob", SessionID: "s3", IssuedAt: sec}, nil},
	} {
		if err := s.Check(tc.tok); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// A demoted admin's token, minted before the demotion and valid for minutes
// more, stops at once; the token auth mints next (the next second, new role)
// works; a later change in the same organization moves the line forward.
func TestADemotedAdminsUnexpiredTokenIsRefusedAtOnce(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)}
	s := synced(t, c)
	adminToken := Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme", IssuedAt: c.t.Add(-2 * time.Minute)} // exp in 13 min
	if err := s.Check(adminToken); err != nil {
		t.Fatalf("before the demotion: %v", err)
	}
	c.t = c.t.Add(250 * time.Millisecond)
	s.Apply(Event{ID: 7, Kind: KindMember, Subject: "ann", OrganizationID: "acme", At: c.t, Until: c.t.Add(16 * time.Minute)})
	if err := s.Check(adminToken); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the demoted admin's token: %v, want ErrRevoked", err)
	}
	memberToken := Token{Subject: "ann", SessionID: "s1", OrganizationID: "acme", IssuedAt: c.t.Truncate(time.Second).Add(time.Second)}
	c.t = c.t.Add(time.Second)
	if err := s.Check(memberToken); err != nil {
		t.Fatalf("the token minted the next second: %v", err)
	}
	// Removed later: the member token goes too; an older event applied
	// again (a re-read of the feed) does not move the line back.
	c.t = c.t.Add(5 * time.Second)
	removed := Event{ID: 9, Kind: KindMember, Subject: "ann", OrganizationID: "acme", At: c.t, Until: c.t.Add(16 * time.Minute)}
	s.Apply(removed, Event{ID: 7, Kind: KindMember, Subject: "ann", OrganizationID: "acme", At: c.t.Add(-6 * time.Second), Until: c.t.Add(16 * time.Minute)})
	if err := s.Check(memberToken); !errors.Is(err, ErrRevoked) {
		t.Fatalf("after the removal: %v, want ErrRevoked", err)
	}
}

func TestMemberAndOrganizationEntriesAreDroppedAfterUntil(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)}
	until := c.t.Add(16 * time.Minute)
	s := synced(t, c,
		Event{ID: 1, Kind: KindMember, Subject: "ann", OrganizationID: "acme", At: c.t, Until: until},
		Event{ID: 2, Kind: KindOrganizationDeleted, Subject: "acme", At: c.t, Until: until},
		Event{ID: 3, Kind: KindMember, Subject: "bob", OrganizationID: "acme", At: c.t.Add(-time.Hour), Until: c.t.Add(-44 * time.Minute)},
		Event{ID: 4, Kind: KindMember, Subject: "cid", At: c.t, Until: until}, // no organization: matches nothing
	)
	if n := s.Len(); n[KindMember] != 1 || n[KindOrganizationDeleted] != 1 {
		t.Fatalf("entries %v, want 1 member (one past its until, one naming no organization) and 1 organization", n)
	}
	old := Token{Subject: "ann", SessionID: "s", OrganizationID: "acme", IssuedAt: c.t.Add(-time.Minute)}
	c.t = until.Add(-time.Millisecond)
	s.MarkSynced()
	if err := s.Check(old); !errors.Is(err, ErrRevoked) {
		t.Fatalf("just before until: %v", err)
	}
	c.t = until.Add(time.Millisecond)
	s.MarkSynced()
	if err := s.Check(old); err != nil {
		t.Fatalf("after until: %v (no token of it can be valid any more)", err)
	}
	s.Apply() // prunes
	if n := s.Len(); n[KindMember] != 0 || n[KindOrganizationDeleted] != 0 {
		t.Fatalf("entries after until %v, want none", n)
	}
}

// Memory is one entry per (user, organization) however many changes the
// membership goes through, and the same for a deleted organization.
func TestRepeatedChangesOfOneMembershipKeepOneEntry(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)}
	s := synced(t, c)
	for i := range 1000 {
		at := c.t.Add(time.Duration(i) * time.Millisecond)
		s.Apply(Event{ID: int64(2*i + 1), Kind: KindMember, Subject: "ann", OrganizationID: "acme", At: at, Until: at.Add(16 * time.Minute)},
			Event{ID: int64(2*i + 2), Kind: KindOrganizationDeleted, Subject: "gone", At: at, Until: at.Add(16 * time.Minute)})
	}
	if n := s.Len(); n[KindMember] != 1 || n[KindOrganizationDeleted] != 1 {
		t.Fatalf("entries %v, want one of each", n)
	}
}

// The feed's wire form of the two kinds, as docs/revocation.md shows it,
// reaches the set through a Follower.
func TestTheFollowerReadsMemberAndOrganizationEventsFromTheWire(t *testing.T) {
	at := time.Now().UTC().Add(-2 * time.Second)
	body := `{"events":[` +
		`{"id":1,"kind":"member","subject":"ann","organization_id":"acme","at":"` + at.Format(time.RFC3339Nano) + `","until":"` + at.Add(16*time.Minute).Format(time.RFC3339Nano) + `"},` +
		`{"id":2,"kind":"organization_deleted","subject":"gone","at":"` + at.Format(time.RFC3339Nano) + `","until":"` + at.Add(16*time.Minute).Format(time.RFC3339Nano) + `"}` +
		`],"head":2,"more":false}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("after") != "0" {
			<-r.Context().Done() // nothing more: hold the long poll
			return
		}
		_, _ = io.WriteString(w, body)
	}))
	defer srv.Close()
	set := NewSet(time.Minute, nil)
	f, err := Follow(context.Background(), set, FollowerConfig{URL: srv.URL, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}
	old := at.Add(-time.Minute)
	if err := set.Check(Token{Subject: "ann", SessionID: "s", OrganizationID: "acme", IssuedAt: old}); !errors.Is(err, ErrRevoked) {
		t.Errorf("ann's acme token after the wire's member event: %v", err)
	}
	if err := set.Check(Token{Subject: "ann", SessionID: "s", OrganizationID: "other", IssuedAt: old}); err != nil {
		t.Errorf("ann's token for another organization: %v", err)
	}
	if err := set.Check(Token{Subject: "bob", SessionID: "s", OrganizationID: "gone", IssuedAt: time.Now()}); !errors.Is(err, ErrRevoked) {
		t.Errorf("a token naming the deleted organization: %v", err)
	}
}
