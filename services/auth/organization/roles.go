// Package organization holds the rules of Better Auth's organization plugin
// (1.7.25, teams and dynamic access control off): the default roles and their
// permission statements, who may do what to whom, invitation lifetimes, and
// the flows that apply them over a Store. No HTTP, no SQL.
package organization

import (
	"slices"
	"strings"
)

// The default roles (dist/plugins/organization/access/statement.mjs).
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
	// CreatorRole is the role the creator of an organization gets, and the
	// one only its holders may grant, remove or take away.
	CreatorRole = RoleOwner
)

// Permissions maps a resource to actions, as Better Auth's statements do.
type Permissions map[string][]string

// statements are the default roles' grants. The team and ac resources are
// kept although teams and dynamic roles are off, so has-permission answers
// for them as Better Auth does.
var statements = map[string]Permissions{
	RoleOwner: {
		"organization": {"update", "delete"},
		"member":       {"create", "update", "delete"},
		"invitation":   {"create", "cancel"},
		"team":         {"create", "update", "delete"},
		"ac":           {"create", "read", "update", "delete"},
	},
	RoleAdmin: {
		"organization": {"update"},
		"invitation":   {"create", "cancel"},
		"member":       {"create", "update", "delete"},
		"team":         {"create", "update", "delete"},
		"ac":           {"create", "read", "update", "delete"},
	},
	RoleMember: {
		"organization": {},
		"member":       {},
		"invitation":   {},
		"team":         {},
		"ac":           {"read"},
	},
}

// KnownRole reports whether name is one of the default roles.
func KnownRole(name string) bool { _, ok := statements[name]; return ok }

// ParseRoles splits a stored or submitted role value ("admin, member") into
// trimmed, non-empty names (Better Auth's parseRoleList).
func ParseRoles(values ...string) []string {
	var out []string
	for _, v := range values {
		for _, r := range strings.Split(v, ",") {
			if r = strings.TrimSpace(r); r != "" {
				out = append(out, r)
			}
		}
	}
	return out
}

// JoinRoles is the stored form of a role list (Better Auth's parseRoles).
func JoinRoles(roles []string) string { return strings.Join(roles, ",") }

// HasRole reports whether the stored role value holds name.
func HasRole(stored, name string) bool { return slices.Contains(ParseRoles(stored), name) }

// Allowed is Better Auth's hasPermission for static roles: some role of the
// member grants every requested action of every requested resource. An
// empty request, a resource asked with no action, or an unknown resource
// is refused.
// creatorAll grants the creator role everything (update-member-role's rule).
func Allowed(stored string, want Permissions, creatorAll bool) bool {
	if len(want) == 0 {
		return false
	}
	roles := ParseRoles(stored)
	if creatorAll && slices.Contains(roles, CreatorRole) {
		return true
	}
	for _, r := range roles {
		if grants(statements[r], want) {
			return true
		}
	}
	return false
}

// grants is access control's authorize: every requested resource is in the
// role's statements and every requested action is among its actions.
func grants(role Permissions, want Permissions) bool {
	if role == nil {
		return false
	}
	for resource, actions := range want {
		have, ok := role[resource]
		if !ok || len(actions) == 0 {
			return false
		}
		for _, a := range actions {
			if !slices.Contains(have, a) {
				return false
			}
		}
	}
	return true
}
