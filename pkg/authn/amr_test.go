package authn

import (
	"context"
	"slices"
	"testing"
)

// A token minted after a second factor carries amr; the principal exposes it
// so a resource server can require it. Anything but strings is dropped.
func TestPrincipalCarriesTheAMRClaim(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	for _, tc := range []struct {
		amr  any
		want []string
	}{
		{[]string{"pwd", "otp"}, []string{"pwd", "otp"}},
		{[]any{"pwd", 7, "mfa"}, []string{"pwd", "mfa"}},
		{"pwd otp", nil},
		{nil, nil},
	} {
		p, err := v.Verify(context.Background(), k1.sign(t, claims(map[string]any{"amr": tc.amr}), nil))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.AMR, tc.want) {
			t.Errorf("amr %v: principal AMR = %v, want %v", tc.amr, p.AMR, tc.want)
		}
	}
}
