package clients_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/latchid/latch/services/auth/clients"
)

// The tasks service's organization scopes (docs/team-tasks.md) are plain
// scope tokens: registrable and grantable as any other, up to
// MaxScopeLength, which bounds the organization id they can name.
func TestParseScopeAcceptsOrganizationScopes(t *testing.T) {
	t.Parallel()
	orgID := strings.Repeat("a", 32) // Better Auth's ids are 32 characters
	got, err := clients.ParseScope("tasks:read tasks:read:org:" + orgID + " tasks:write:org:" + orgID)
	if err != nil || !slices.Equal(got, []string{"tasks:read", "tasks:read:org:" + orgID, "tasks:write:org:" + orgID}) {
		t.Fatalf("ParseScope = %v, %v", got, err)
	}
	longest := "tasks:write:org:" + strings.Repeat("o", clients.MaxScopeLength-len("tasks:write:org:"))
	if _, err := clients.ParseScope(longest); err != nil {
		t.Errorf("a scope of %d characters: %v", len(longest), err)
	}
	if _, err := clients.ParseScope(longest + "o"); err == nil {
		t.Error("a scope over MaxScopeLength was accepted")
	}
}
