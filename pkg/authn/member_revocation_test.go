package authn

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
)

// Attack: an admin demoted to member keeps a token that still says
// org_role=admin for minutes. The verifier (cached or not) must refuse it
// the moment the member event is in the deny set, while tokens of other
// organizations, of other users, and the one minted after the change work.
func TestADemotedAdminsTokenWithTheOldRoleIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	set := revocation.NewSet(time.Minute, nil)
	set.MarkSynced()
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.Revocations = set })
	before := time.Now().Add(-time.Minute).Unix()
	admin := k1.sign(t, claims(map[string]any{"sid": "s-ann", "iat": before, "org": "org-x", "org_role": "admin"}), nil)
	annOtherOrg := k1.sign(t, claims(map[string]any{"sid": "s-ann2", "iat": before, "org": "org-y", "org_role": "owner"}), nil)
	annNoOrg := k1.sign(t, claims(map[string]any{"sid": "s-ann3", "iat": before}), nil)
	bob := k1.sign(t, claims(map[string]any{"sub": "user_2", "id": "user_2", "sid": "s-bob", "iat": before, "org": "org-x", "org_role": "admin"}), nil)
	p, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasOrganizationRole("org-x", "admin") {
		t.Fatalf("principal %+v: want admin of org-x before the change", p)
	}
	for _, tok := range []string{admin, annOtherOrg, annNoOrg, bob} {
		mustVerify(t, v, tok) // remembered by the verifier's cache now
	}

	now := time.Now()
	set.Apply(revocation.Event{ID: 1, Kind: revocation.KindMember, Subject: "user_1", OrganizationID: "org-x", At: now, Until: now.Add(time.Hour)})
	if _, err := v.Verify(context.Background(), admin); !errors.Is(err, ErrRevoked) {
		t.Fatalf("the demoted admin's cached token: %v, want ErrRevoked", err)
	}
	mustVerify(t, v, annOtherOrg) // a member event for org-x says nothing of org-y
	mustVerify(t, v, annNoOrg)    // nor of a token without an organization
	mustVerify(t, v, bob)         // nor of another user's org-x token

	member := k1.sign(t, claims(map[string]any{"sid": "s-ann", "iat": now.Unix() + 1, "org": "org-x", "org_role": "member"}), nil)
	p, err = v.Verify(context.Background(), member)
	if err != nil {
		t.Fatalf("the token minted the second after the change: %v", err)
	}
	if p.HasOrganizationRole("org-x", "admin") || !p.HasOrganizationRole("org-x", "member") {
		t.Fatalf("principal after the change: %+v", p)
	}
}

// Attack: a token naming a deleted organization is refused whoever holds it.
func TestATokenNamingADeletedOrganizationIsRefused(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	set := revocation.NewSet(time.Minute, nil)
	set.MarkSynced()
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", func(c *Config) { c.Revocations = set })
	gone := k1.sign(t, claims(map[string]any{"sid": "s1", "org": "org-x", "org_role": "owner"}), nil)
	kept := k1.sign(t, claims(map[string]any{"sid": "s1", "org": "org-y", "org_role": "owner"}), nil)
	mustVerify(t, v, gone)
	now := time.Now()
	set.Apply(revocation.Event{ID: 1, Kind: revocation.KindOrganizationDeleted, Subject: "org-x", At: now, Until: now.Add(time.Hour)})
	if _, err := v.Verify(context.Background(), gone); !errors.Is(err, ErrRevoked) {
		t.Fatalf("a token naming the deleted organization: %v, want ErrRevoked", err)
	}
	mustVerify(t, v, kept)
}
