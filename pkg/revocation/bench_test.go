package revocation

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCheck is the deny set's cost per verified token, empty and with
// 10,000 revoked sessions (bench/revocation measures it end to end).
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("revoked=%d", n), func(b *testing.B) {
			s := NewSet(time.Minute, nil)
			s.MarkSynced()
			now := time.Now()
			events := make([]Event, n)
			for i := range events {
				events[i] = Event{ID: int64(i + 1), Kind: KindSession, Subject: fmt.Sprintf("revoked-%06d", i), At: now, Until: now.Add(time.Hour)}
			}
			s.Apply(events...)
			tok := Token{Subject: "user-0001", SessionID: "sess-user-0001", IssuedAt: now}
			b.ReportAllocs()
			for b.Loop() {
				if err := s.Check(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckOrganizationToken is the same for a token naming an
// organization, with 10,000 changed memberships (other users', and other
// organizations of this user) and 1,000 deleted organizations in the set.
func BenchmarkCheckOrganizationToken(b *testing.B) {
	s := NewSet(time.Minute, nil)
	s.MarkSynced()
	now := time.Now()
	var events []Event
	for i := range 10000 {
		events = append(events, Event{ID: int64(i + 1), Kind: KindMember, Subject: fmt.Sprintf("user-%06d", i%5000), OrganizationID: fmt.Sprintf("org-%d", i%7), At: now, Until: now.Add(time.Hour)})
	}
	for i := range 1000 {
		events = append(events, Event{ID: int64(20000 + i), Kind: KindOrganizationDeleted, Subject: fmt.Sprintf("deleted-%04d", i), At: now, Until: now.Add(time.Hour)})
	}
	s.Apply(events...)
	tok := Token{Subject: "user-000001", SessionID: "sess-user-0001", OrganizationID: "org-live", IssuedAt: now}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Check(tok); err != nil {
			b.Fatal(err)
		}
	}
}
