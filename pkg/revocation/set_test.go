package revocation

import (
	"errors"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func synced(t *testing.T, c *clock, events ...Event) *Set {
	t.Helper()
	s := NewSet(time.Minute, c.now)
	s.MarkSynced()
	s.Apply(events...)
	return s
}

func TestASetIsStaleUntilTheFeedAnswersAndAfterTheBound(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)}
	s := NewSet(time.Minute, c.now)
	if err := s.Check(Token{Subject: "u1", SessionID: "s1", IssuedAt: c.t}); !errors.Is(err, ErrStale) {
		t.Fatalf("before any answer: %v, want ErrStale (an empty set does not mean nothing was revoked)", err)
	}
	s.MarkSynced()
	if err := s.Check(Token{Subject: "u1", SessionID: "s1", IssuedAt: c.t}); err != nil {
		t.Fatalf("after an answer: %v", err)
	}
	c.t = c.t.Add(time.Minute)
	if err := s.Check(Token{Subject: "u1", SessionID: "s1", IssuedAt: c.t}); err != nil {
		t.Fatalf("at the bound: %v, want accepted", err)
	}
	c.t = c.t.Add(time.Millisecond)
	if err := s.Check(Token{Subject: "u1", SessionID: "s1", IssuedAt: c.t}); !errors.Is(err, ErrStale) {
		t.Fatalf("past the bound: %v, want ErrStale", err)
	}
}

func TestEachKindRefusesExactlyItsTokens(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 10, 500e6, time.UTC)} // 01:00:10.5
	until := c.t.Add(16 * time.Minute)
	s := synced(t, c,
		Event{ID: 1, Kind: KindSession, Subject: "s-revoked", UserID: "ann", At: c.t, Until: until},
		Event{ID: 2, Kind: KindUser, Subject: "bob", At: c.t, Until: until},
		Event{ID: 3, Kind: KindUserDeleted, Subject: "cid", At: c.t, Until: until},
		Event{ID: 4, Kind: KindClient, Subject: "svc-1", At: c.t, Until: until},
	)
	sec := c.t.Truncate(time.Second)
	for _, tc := range []struct {
		name string
		tok  Token
		want error
	}{
		{"the revoked session", Token{Subject: "ann", SessionID: "s-revoked", IssuedAt: sec}, ErrRevoked},
		{"another session of the same user", Token{Subject: "ann", SessionID: "s-live", IssuedAt: sec}, nil},
		{"a user-revoked token issued a second earlier", Token{Subject: "bob", SessionID: "s-old", IssuedAt: sec.Add(-time.Second)}, ErrRevoked},
		{"a sid token of the revocation's own second (its session has its own event)", Token{Subject: "bob", SessionID: "s-new", IssuedAt: sec}, nil},
		{"a token without sid of the revocation's own second", Token{Subject: "bob", IssuedAt: sec}, ErrRevoked},
		{"a token without iat of a revoked user", Token{Subject: "bob", SessionID: "s-x"}, ErrRevoked},
		{"a user-revoked user's token issued the second after", Token{Subject: "bob", IssuedAt: sec.Add(time.Second)}, nil},
		{"a deleted user's newest token", Token{Subject: "cid", SessionID: "s", IssuedAt: sec.Add(time.Minute)}, ErrRevoked},
		{"the revoked client", Token{Subject: "client:svc-1", ClientID: "svc-1", IssuedAt: sec}, ErrRevoked},
		{"another client", Token{Subject: "client:svc-2", ClientID: "svc-2", IssuedAt: sec}, nil},
		{"a client named like a revoked user", Token{Subject: "client:bob", ClientID: "bob", IssuedAt: sec.Add(-time.Hour)}, nil},
	} {
		if err := s.Check(tc.tok); !errors.Is(err, tc.want) && !(err == nil && tc.want == nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestEntriesLastUntilTheirTokensCannotLiveAndNoLonger(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)}
	s := synced(t, c, Event{ID: 1, Kind: KindSession, Subject: "s1", At: c.t, Until: c.t.Add(16 * time.Minute)},
		Event{ID: 2, Kind: KindSession, Subject: "s-old", At: c.t.Add(-time.Hour), Until: c.t.Add(-44 * time.Minute)})
	if n := s.Len()[KindSession]; n != 1 {
		t.Fatalf("%d session entries, want 1 (an event past its until is skipped)", n)
	}
	c.t = c.t.Add(16*time.Minute - time.Millisecond)
	s.MarkSynced()
	if err := s.Check(Token{Subject: "u", SessionID: "s1"}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("just before until: %v", err)
	}
	c.t = c.t.Add(2 * time.Millisecond)
	s.MarkSynced()
	if err := s.Check(Token{Subject: "u", SessionID: "s1"}); err != nil {
		t.Fatalf("after until: %v (no token of it can be valid any more)", err)
	}
	s.Apply() // prunes
	if n := s.Len()[KindSession]; n != 0 {
		t.Fatalf("%d session entries after until, want 0", n)
	}
}

func TestApplyingTwiceChangesNothingAndALaterUserRevocationWins(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)}
	first := Event{ID: 1, Kind: KindUser, Subject: "u", At: c.t, Until: c.t.Add(time.Hour)}
	second := Event{ID: 2, Kind: KindUser, Subject: "u", At: c.t.Add(10 * time.Second), Until: c.t.Add(time.Hour)}
	s := synced(t, c, second, first, second)
	if err := s.Check(Token{Subject: "u", SessionID: "x", IssuedAt: c.t.Add(5 * time.Second)}); !errors.Is(err, ErrRevoked) {
		t.Fatalf("token between the two revocations: %v, want revoked by the later one", err)
	}
}

func TestFeedURLIsTheJWKSSibling(t *testing.T) {
	for in, want := range map[string]string{
		"http://auth:3001/api/auth/jwks":       "http://auth:3001/api/auth/revocations",
		"https://id.example.com/auth/jwks?x=1": "https://id.example.com/auth/revocations",
		"http://127.0.0.1:5000":                "http://127.0.0.1:5000/revocations",
	} {
		got, err := FeedURL(in)
		if err != nil || got != want {
			t.Errorf("FeedURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := FeedURL("auth:3001/jwks"); err == nil {
		t.Error("a relative JWKS URL was accepted")
	}
}
