package authn

import (
	"slices"
	"testing"
)

func TestPrincipalCarriesTheOrganizationClaims(t *testing.T) {
	cases := []struct {
		name      string
		claims    map[string]any
		wantOrg   string
		wantRoles []string
	}{
		{"none", map[string]any{}, "", nil},
		{"one role", map[string]any{"org": "o1", "org_role": "admin"}, "o1", []string{"admin"}},
		{"several roles", map[string]any{"org": "o1", "org_role": "admin, member"}, "o1", []string{"admin", "member"}},
		{"role without org is ignored", map[string]any{"org_role": "owner"}, "", nil},
		{"empty org is none", map[string]any{"org": "", "org_role": "owner"}, "", nil},
		{"wrong types", map[string]any{"org": 7, "org_role": []any{"owner"}}, "", nil},
		{"org without role", map[string]any{"org": "o1"}, "o1", nil},
	}
	for _, tc := range cases {
		p := principalFrom(tc.claims, "u1")
		if p.OrganizationID != tc.wantOrg || !slices.Equal(p.OrganizationRoles, tc.wantRoles) {
			t.Errorf("%s: org %q roles %v, want %q %v", tc.name, p.OrganizationID, p.OrganizationRoles, tc.wantOrg, tc.wantRoles)
		}
	}
	p := principalFrom(map[string]any{"org": "o1", "org_role": "admin,member"}, "u1")
	if !p.HasOrganizationRole("o1", "admin") || p.HasOrganizationRole("o2", "admin") || p.HasOrganizationRole("o1", "owner") || p.HasOrganizationRole("", "admin") {
		t.Error("HasOrganizationRole answers wrongly")
	}
}
