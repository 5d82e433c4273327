// Package caller decides whom a request to the tasks service acts as: the
// access model shared by the REST and gRPC transports. What that actor may
// then do to a task is the task domain's rule (task.Actor).
//
//   - A user's token acts for that user, and in the organization the token
//     names as active (claim org) with the roles it carries (org_role). A
//     request may name the user (REST ?user_id=, gRPC user_id) but only as
//     the token's own subject (ErrOtherUser), and an organization (REST
//     organization_id, gRPC organization_id) but only the token's active one
//     (ErrOtherOrganization): a user cannot act in an organization by naming
//     it. Scopes are not consulted.
//   - A service's token (client credentials, sub "client:<id>") acts either
//     for the user the request names, on that user's personal tasks, with
//     the scope tasks:read for reads (get, list) and tasks:write for writes
//     (create, update, toggle, delete); or for the organization the request
//     names in organization_id, with tasks:read:org:<id> (read that
//     organization's tasks) or tasks:write:org:<id> (create, and edit,
//     toggle or delete any of its tasks, as an admin would). No scope
//     implies another, and tasks:read grants no organization's tasks.
//   - A service forwarding a user's token is that user.
package caller

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/services/tasks/task"
)

// The scopes a service token needs here.
const (
	ScopeRead  = "tasks:read"
	ScopeWrite = "tasks:write"
)

// Access is what a request does with tasks.
type Access int

// The kinds of access.
const (
	Read Access = iota
	Write
)

// Scope is the scope a service token needs for a.
func (a Access) Scope() string {
	if a == Write {
		return ScopeWrite
	}
	return ScopeRead
}

// OrganizationScope is the scope a service token needs for access a to
// organization org's tasks: tasks:read:org:<org> or tasks:write:org:<org>.
func (a Access) OrganizationScope(org string) string { return a.Scope() + ":org:" + org }

// maxUserID bounds a named user id (Better Auth's ids are 32 characters).
const maxUserID = 255

// maxOrganizationID bounds a named organization id: it must fit in a scope
// (auth's clients.MaxScopeLength, 100, less "tasks:write:org:").
const maxOrganizationID = 84

// Errors of the access model; each transport maps them to a status once.
var (
	// ErrMissingScope: a service token without the scope the request needs.
	ErrMissingScope = errors.New("the service token lacks the scope")
	// ErrUserRequired: a service token that does not name a valid user to act for.
	ErrUserRequired = errors.New("a service must name the user it acts for")
	// ErrOtherUser: a user's token naming another user.
	ErrOtherUser = errors.New("a user's token acts only for that user")
	// ErrOtherOrganization: a user's token naming an organization that is
	// not its active one.
	ErrOtherOrganization = errors.New("a user's token acts only in its active organization")
	// ErrOrganizationRequired: a service token asking for organization scope
	// without naming a valid organization, or naming a user as well.
	ErrOrganizationRequired = errors.New("a service acting for an organization must name it, and no user")
)

// ScopeError is ErrMissingScope for one scope.
type ScopeError struct{ Scope string }

func (e *ScopeError) Error() string {
	return fmt.Sprintf("this service token needs the %s scope", e.Scope)
}
func (e *ScopeError) Is(err error) bool { return err == ErrMissingScope }

// Named is what a request says about whom it acts for.
type Named struct {
	UserID         string // REST ?user_id=, gRPC user_id
	OrganizationID string // REST organization_id, gRPC organization_id
	// Organization: the request asks for organization scope (REST
	// ?scope=organization, gRPC TASK_SCOPE_ORGANIZATION); naming an
	// organization implies it.
	Organization bool
}

// Resolve returns the actor a request with access a acts as, from p (the
// verified caller) and what the request names, and the scope it asked for
// (which only create and list use: a task by id is judged by its owner).
func Resolve(p authn.Principal, n Named, a Access) (task.Actor, task.Scope, error) {
	scope := task.Personal
	if n.Organization || n.OrganizationID != "" {
		scope = task.Organization
	}
	if !p.IsService() {
		if n.UserID != "" && n.UserID != p.UserID {
			return task.Actor{}, 0, ErrOtherUser
		}
		if n.OrganizationID != "" && n.OrganizationID != p.OrganizationID {
			return task.Actor{}, 0, ErrOtherOrganization
		}
		actor := task.User(p.UserID)
		if p.OrganizationID != "" {
			actor.OrganizationID, actor.Role = p.OrganizationID, task.RoleOf(p.OrganizationRoles)
		}
		return actor, scope, nil
	}
	if scope == task.Personal {
		uid, err := ActsFor(p, n.UserID, a)
		return task.User(uid), scope, err
	}
	org := n.OrganizationID
	if org == "" || n.UserID != "" || !validOrganizationID(org) {
		return task.Actor{}, 0, ErrOrganizationRequired
	}
	if need := a.OrganizationScope(org); !p.HasScope(need) {
		return task.Actor{}, 0, &ScopeError{Scope: need}
	}
	role := task.MemberRole
	if a == Write {
		role = task.AdminRole
	}
	return task.Actor{UserID: p.UserID, OrganizationID: org, Role: role, OrganizationOnly: true}, scope, nil
}

// validOrganizationID: short enough for a scope, and only the characters a
// scope token may hold (RFC 6749 §3.3), so the scope named in an error is
// the one a client could be granted.
func validOrganizationID(org string) bool {
	if len(org) > maxOrganizationID {
		return false
	}
	for i := 0; i < len(org); i++ {
		if c := org[i]; c < 0x21 || c == 0x22 || c == 0x5C || c > 0x7E {
			return false
		}
	}
	return true
}

// ActsFor returns the user id whose tasks the request may touch with access
// a: p is the verified caller, named the user the request names ("" for none).
func ActsFor(p authn.Principal, named string, a Access) (string, error) {
	if !p.IsService() {
		if named != "" && named != p.UserID {
			return "", ErrOtherUser
		}
		return p.UserID, nil
	}
	if !p.HasScope(a.Scope()) {
		return "", &ScopeError{Scope: a.Scope()}
	}
	if named == "" || utf8.RuneCountInString(named) > maxUserID || strings.HasPrefix(named, authn.ServiceSubjectPrefix) {
		return "", ErrUserRequired
	}
	return named, nil
}
