package audit_test

import (
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch/services/auth/audit"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

func TestParseSince(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"", time.Time{}, true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"90m", now.Add(-90 * time.Minute), true},
		{"2026-12-01T08:00:00Z", time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), true},
		{"2026-12-01T08:00:00-03:00", time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC), true},
		{"-1h", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		{"2026-12-01", time.Time{}, false},
	} {
		got, err := audit.ParseSince(tc.in, now)
		if (err == nil) != tc.ok || !got.Equal(tc.want) {
			t.Errorf("ParseSince(%q) = %v, %v; want %v (ok %v)", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseTypes(t *testing.T) {
	got, err := audit.ParseTypes(" sign-in, sign-in-failed ")
	if err != nil || len(got) != 2 || got[0] != audit.SignIn || got[1] != audit.SignInFailed {
		t.Errorf("ParseTypes = %v, %v", got, err)
	}
	if got, err := audit.ParseTypes(""); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"sign-in,", "SIGN-IN", "login"} {
		if _, err := audit.ParseTypes(bad); err == nil {
			t.Errorf("ParseTypes(%q) accepted", bad)
		}
	}
}

func TestQueryCheck(t *testing.T) {
	for _, tc := range []struct {
		q  audit.Query
		ok bool
	}{
		{audit.Query{UserID: "u", Limit: 1}, true},
		{audit.Query{UserID: "u", Limit: 100}, true},
		{audit.Query{UserID: "u", Limit: 101}, false},
		{audit.Query{UserID: "u", Limit: 0}, false},
		{audit.Query{Limit: 10}, false}, // no user and not AllUsers: never every user's events by accident
		{audit.Query{AllUsers: true, Limit: 10}, true},
		{audit.Query{UserID: "u", Limit: 10, Types: []audit.Type{"nope"}}, false},
	} {
		err := tc.q.Check(audit.MaxLimit)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, audit.ErrInvalidQuery)) {
			t.Errorf("%+v: %v, want ok %v", tc.q, err, tc.ok)
		}
	}
}

func TestEveryTypeIsKnownOnce(t *testing.T) {
	seen := map[audit.Type]bool{}
	for _, typ := range audit.Types {
		if seen[typ] || !audit.Known(typ) {
			t.Errorf("type %q listed twice or unknown", typ)
		}
		seen[typ] = true
	}
}
