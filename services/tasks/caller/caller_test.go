package caller

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/authn"
)

func TestActsFor(t *testing.T) {
	t.Parallel()
	user := authn.Principal{UserID: "u1"}
	reader := authn.Principal{UserID: "client:svc", ClientID: "svc", Scopes: []string{ScopeRead}}
	writer := authn.Principal{UserID: "client:svc", ClientID: "svc", Scopes: []string{ScopeWrite}}
	bare := authn.Principal{UserID: "client:svc", ClientID: "svc"}
	tests := []struct {
		name   string
		p      authn.Principal
		named  string
		access Access
		want   string
		err    error
	}{
		{"a user acts for themselves", user, "", Write, "u1", nil},
		{"a user may name themselves", user, "u1", Read, "u1", nil},
		{"a user may not name another user", user, "u2", Read, "", ErrOtherUser},
		{"a user token needs no scope", user, "", Write, "u1", nil},
		{"a reader reads for the named user", reader, "u2", Read, "u2", nil},
		{"a reader may not write", reader, "u2", Write, "", ErrMissingScope},
		{"a writer writes for the named user", writer, "u2", Write, "u2", nil},
		{"a writer may not read", writer, "u2", Read, "", ErrMissingScope},
		{"a service without scopes may do nothing", bare, "u2", Read, "", ErrMissingScope},
		{"a service must name a user", reader, "", Read, "", ErrUserRequired},
		{"a service may not name a service", reader, "client:other", Read, "", ErrUserRequired},
		{"a service may not name an absurd user id", reader, strings.Repeat("x", 256), Read, "", ErrUserRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := ActsFor(tc.p, tc.named, tc.access)
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("ActsFor = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
	var se *ScopeError
	if _, err := ActsFor(reader, "u2", Write); !errors.As(err, &se) || se.Scope != ScopeWrite || err.Error() != "this service token needs the tasks:write scope" {
		t.Errorf("scope error = %v", err)
	}
}
