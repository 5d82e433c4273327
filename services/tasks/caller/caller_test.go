package caller

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/services/tasks/task"
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

func TestResolve(t *testing.T) {
	t.Parallel()
	ann := authn.Principal{UserID: "ann", OrganizationID: "acme", OrganizationRoles: []string{"member"}}
	admin := authn.Principal{UserID: "carl", OrganizationID: "acme", OrganizationRoles: []string{"member", "admin"}}
	loner := authn.Principal{UserID: "lou"}
	svc := func(scopes ...string) authn.Principal {
		return authn.Principal{UserID: "client:svc", ClientID: "svc", Scopes: scopes}
	}
	acmeReader, acmeWriter := svc("tasks:read:org:acme"), svc("tasks:write:org:acme")
	annActor := task.Actor{UserID: "ann", OrganizationID: "acme", Role: task.MemberRole}
	tests := []struct {
		name   string
		p      authn.Principal
		n      Named
		access Access
		actor  task.Actor
		scope  task.Scope
		err    error
	}{
		{"a user's token carries its organization and role", ann, Named{}, Read, annActor, task.Personal, nil},
		{"asking for organization scope", ann, Named{Organization: true}, Write, annActor, task.Organization, nil},
		{"naming the active organization implies its scope", ann, Named{OrganizationID: "acme"}, Read, annActor, task.Organization, nil},
		{"an admin's roles make an admin", admin, Named{}, Write, task.Actor{UserID: "carl", OrganizationID: "acme", Role: task.AdminRole}, task.Personal, nil},
		{"a token without an organization", loner, Named{Organization: true}, Read, task.User("lou"), task.Organization, nil},
		// Attack: a user names an organization that is not the token's active one.
		{"a user may not name another organization", ann, Named{OrganizationID: "globex"}, Read, task.Actor{}, 0, ErrOtherOrganization},
		{"a user without one may not name any", loner, Named{OrganizationID: "acme"}, Read, task.Actor{}, 0, ErrOtherOrganization},
		{"a user may not name another user", ann, Named{UserID: "bob", Organization: true}, Read, task.Actor{}, 0, ErrOtherUser},
		{"an organization reader reads it", acmeReader, Named{OrganizationID: "acme"}, Read,
			task.Actor{UserID: "client:svc", OrganizationID: "acme", Role: task.MemberRole, OrganizationOnly: true}, task.Organization, nil},
		{"an organization writer writes as an admin", acmeWriter, Named{OrganizationID: "acme"}, Write,
			task.Actor{UserID: "client:svc", OrganizationID: "acme", Role: task.AdminRole, OrganizationOnly: true}, task.Organization, nil},
		// Attack: a client scoped to acme names another organization.
		{"acme's writer may not write globex", acmeWriter, Named{OrganizationID: "globex"}, Write, task.Actor{}, 0, ErrMissingScope},
		{"acme's reader may not read globex", acmeReader, Named{OrganizationID: "globex"}, Read, task.Actor{}, 0, ErrMissingScope},
		{"an organization reader may not write", acmeReader, Named{OrganizationID: "acme"}, Write, task.Actor{}, 0, ErrMissingScope},
		{"an organization writer may not read", acmeWriter, Named{OrganizationID: "acme"}, Read, task.Actor{}, 0, ErrMissingScope},
		{"tasks:read grants no organization", svc(ScopeRead), Named{OrganizationID: "acme"}, Read, task.Actor{}, 0, ErrMissingScope},
		{"an organization scope grants no user's tasks", acmeWriter, Named{UserID: "ann"}, Write, task.Actor{}, 0, ErrMissingScope},
		{"a prefix of a scope is not the scope", svc("tasks:read:org:acme"), Named{OrganizationID: "acm"}, Read, task.Actor{}, 0, ErrMissingScope},
		{"organization scope without naming one", acmeReader, Named{Organization: true}, Read, task.Actor{}, 0, ErrOrganizationRequired},
		{"naming a user and an organization", acmeReader, Named{UserID: "ann", OrganizationID: "acme"}, Read, task.Actor{}, 0, ErrOrganizationRequired},
		{"an organization id no scope could hold", svc("tasks:read:org:a b"), Named{OrganizationID: "a b"}, Read, task.Actor{}, 0, ErrOrganizationRequired},
		{"an absurdly long organization id", acmeReader, Named{OrganizationID: strings.Repeat("o", 85)}, Read, task.Actor{}, 0, ErrOrganizationRequired},
		{"a personal service call as before", svc(ScopeRead), Named{UserID: "ann"}, Read, task.User("ann"), task.Personal, nil},
		{"a personal service call must name a user", svc(ScopeRead), Named{}, Read, task.User(""), task.Personal, ErrUserRequired},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			actor, scope, err := Resolve(tc.p, tc.n, tc.access)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Resolve error %v, want %v", err, tc.err)
			}
			if err == nil && (!reflect.DeepEqual(actor, tc.actor) || scope != tc.scope) {
				t.Fatalf("Resolve = %+v, %v; want %+v, %v", actor, scope, tc.actor, tc.scope)
			}
		})
	}
	var se *ScopeError
	if _, _, err := Resolve(acmeReader, Named{OrganizationID: "globex"}, Read); !errors.As(err, &se) || se.Scope != "tasks:read:org:globex" {
		t.Errorf("scope error = %v", err)
	}
}

// What deciding a team-task request costs per call: the claims-only role
// check that sits on every organization read (go test -bench Resolve ./caller/).
func BenchmarkResolve(b *testing.B) {
	p := authn.Principal{UserID: "user-0003", OrganizationID: "org-001", OrganizationRoles: []string{"member"}}
	n := Named{Organization: true}
	for b.Loop() {
		if _, _, err := Resolve(p, n, Read); err != nil {
			b.Fatal(err)
		}
	}
}
