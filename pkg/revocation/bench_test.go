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
