package task

import "slices"

// Role is what an actor may do with its organization's tasks. Roles come
// from the token alone (its org_role claim, or a service client's
// organization scope): the tasks service never asks auth.
type Role int

// The roles, weakest first.
const (
	// NoRole: not a member the tasks service knows of; no organization task.
	NoRole Role = iota
	// MemberRole reads every task of the organization and creates, edits,
	// toggles and deletes the ones it created.
	MemberRole
	// AdminRole (Better Auth's owner and admin) also edits, toggles and
	// deletes every other task of the organization.
	AdminRole
)

// RoleOf is the strongest role among an organization member's roles, as
// Better Auth names them ("owner", "admin", "member"). A role the tasks
// service does not know grants nothing: with the organization plugin's
// dynamic roles off, only these three exist.
func RoleOf(roles []string) Role {
	switch {
	case slices.Contains(roles, "owner"), slices.Contains(roles, "admin"):
		return AdminRole
	case slices.Contains(roles, "member"):
		return MemberRole
	}
	return NoRole
}

// Actor is who a request acts as, decided from its token by the transport
// (package caller): the rules below decide what it may do to which task.
type Actor struct {
	// UserID owns the actor's personal tasks and is recorded as the creator
	// of tasks it creates.
	UserID string
	// OrganizationID is the organization the actor acts in (the token's
	// active organization, or the one a service client's scope names);
	// empty for none. Role is the actor's role there.
	OrganizationID string
	Role           Role
	// OrganizationOnly marks an actor with no personal tasks: a service
	// client acting for an organization, whose UserID ("client:<id>") only
	// names it as the creator of what it creates.
	OrganizationOnly bool
}

// User is a user acting on their personal tasks only (a token naming no
// organization, or a service acting for a named user).
func User(userID string) Actor { return Actor{UserID: userID} }

// Scope says whose tasks a list shows and whom a created task belongs to.
type Scope int

// The scopes.
const (
	// Personal: the actor's own tasks (the default, as before organizations).
	Personal Scope = iota
	// Organization: the tasks of the actor's organization.
	Organization
)

// Owner selects one owner's tasks in a store: a user's personal tasks, or
// an organization's tasks when OrganizationID is set.
type Owner struct {
	UserID         string
	OrganizationID string
}

// PersonalOf selects userID's personal tasks.
func PersonalOf(userID string) Owner { return Owner{UserID: userID} }

// OrganizationOf selects the organization's tasks.
func OrganizationOf(orgID string) Owner { return Owner{OrganizationID: orgID} }

// member reports whether a acts in organization org with some role.
func (a Actor) member(org string) bool {
	return org != "" && a.OrganizationID == org && a.Role >= MemberRole
}

// canRead: a personal task by its owner; an organization's by any member.
func (a Actor) canRead(t Task) error {
	if t.OrganizationID == "" {
		if a.OrganizationOnly || a.UserID == "" || t.UserID != a.UserID {
			return ErrForbidden
		}
		return nil
	}
	if !a.member(t.OrganizationID) {
		return ErrForbidden
	}
	return nil
}

// canChange (edit, toggle, delete): a personal task by its owner; an
// organization's by an admin or owner, or by the member who created it.
func (a Actor) canChange(t Task) error {
	if err := a.canRead(t); err != nil || t.OrganizationID == "" {
		return err
	}
	if a.Role == AdminRole || (!a.OrganizationOnly && t.UserID == a.UserID) {
		return nil
	}
	return ErrForbidden
}

// owner is whose tasks scope means for a: for Organization, the actor's
// organization, which it must be a member of.
func (a Actor) owner(scope Scope) (Owner, error) {
	if scope == Organization {
		if !a.member(a.OrganizationID) {
			return Owner{}, ErrNoOrganization
		}
		return OrganizationOf(a.OrganizationID), nil
	}
	if a.OrganizationOnly || a.UserID == "" {
		return Owner{}, ErrForbidden // an organization's client has no personal tasks
	}
	return PersonalOf(a.UserID), nil
}
