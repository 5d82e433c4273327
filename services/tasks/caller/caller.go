// Package caller decides which user a request to the tasks service acts
// for: the access model shared by the REST and gRPC transports.
//
//   - A user's token acts for that user only. A request may name the user
//     (REST ?user_id=, gRPC user_id) but only as the token's own subject;
//     naming anyone else is ErrOtherUser. Scopes are not consulted: a user
//     may do everything to their own tasks, nothing to anyone else's.
//   - A service's token (client credentials, sub "client:<id>") acts for the
//     user the request names, which it must do (ErrUserRequired). Reads
//     (get, list) need the scope tasks:read, writes (create, update, toggle,
//     delete) tasks:write; neither implies the other (ErrMissingScope).
//     Ownership rules then apply as for that user: a task of another user is
//     still ErrForbidden.
//   - A service forwarding a user's token is that user.
package caller

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/latchid/latch/pkg/authn"
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

// maxUserID bounds a named user id (Better Auth's ids are 32 characters).
const maxUserID = 255

// Errors of the access model; each transport maps them to a status once.
var (
	// ErrMissingScope: a service token without the scope the request needs.
	ErrMissingScope = errors.New("the service token lacks the scope")
	// ErrUserRequired: a service token that does not name a valid user to act for.
	ErrUserRequired = errors.New("a service must name the user it acts for")
	// ErrOtherUser: a user's token naming another user.
	ErrOtherUser = errors.New("a user's token acts only for that user")
)

// ScopeError is ErrMissingScope for one scope.
type ScopeError struct{ Scope string }

func (e *ScopeError) Error() string {
	return fmt.Sprintf("this service token needs the %s scope", e.Scope)
}
func (e *ScopeError) Is(err error) bool { return err == ErrMissingScope }

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
