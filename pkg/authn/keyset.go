package authn

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/MicahParks/jwkset"
)

var errNoUsableKeys = errors.New("JWKS has no usable signature keys")

// parseJWKS turns a JWKS document into the keys this verifier may use and a
// canonical JSON form of exactly those keys (what is shared through Redis).
//
// It keeps only public signature keys: keys marked use "enc", key_ops
// without "verify", symmetric (oct) keys, keys without kid, duplicate kids
// and keys jwkset cannot parse are dropped. Private members and certificate
// fields (x5c, x5u) are never read. The algorithm allow-list is not applied
// here, because the shared copy serves verifiers with different lists; a key
// whose alg is not allowed can never match a token whose alg is.
func parseJWKS(data []byte) (canonical []byte, keys []jwkset.JWK, skipped []string, err error) {
	var doc jwkset.JWKSMarshal
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, nil, nil, fmt.Errorf("decode JWKS: %w", err)
	}
	var kept []jwkset.JWKMarshal
	seen := map[string]bool{}
	for _, m := range doc.Keys {
		why := unusable(m, seen)
		if why == "" {
			clean := jwkset.JWKMarshal{
				KTY: m.KTY, USE: m.USE, KEYOPS: m.KEYOPS, ALG: m.ALG, KID: m.KID,
				CRV: m.CRV, X: m.X, Y: m.Y, N: m.N, E: m.E,
			}
			jwk, err := jwkset.NewJWKFromMarshal(clean, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
			if err == nil {
				seen[m.KID] = true
				kept = append(kept, clean)
				keys = append(keys, jwk)
				continue
			}
			why = "unparsable: " + err.Error()
		}
		skipped = append(skipped, fmt.Sprintf("%.64q: %s", m.KID, why))
	}
	if len(keys) == 0 {
		return nil, nil, skipped, errNoUsableKeys
	}
	canonical, err = json.Marshal(jwkset.JWKSMarshal{Keys: kept})
	if err != nil {
		return nil, nil, skipped, fmt.Errorf("encode JWKS: %w", err)
	}
	return canonical, keys, skipped, nil
}

func unusable(m jwkset.JWKMarshal, seen map[string]bool) string {
	switch {
	case m.KID == "":
		return "no kid"
	case seen[m.KID]:
		return "duplicate kid"
	case m.USE != "" && m.USE != jwkset.UseSig:
		return "use is " + string(m.USE)
	case len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify):
		return "key_ops lacks verify"
	case m.KTY != jwkset.KtyOKP && m.KTY != jwkset.KtyRSA && m.KTY != jwkset.KtyEC:
		return "key type " + string(m.KTY) + " is not an asymmetric signature key"
	}
	return ""
}

// keyFits reports whether key can verify a token signed with alg, so a
// key never serves an algorithm of another family or curve.
func keyFits(alg string, key any) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return alg == "EdDSA"
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return alg == "ES256"
		case 384:
			return alg == "ES384"
		case 521:
			return alg == "ES512"
		}
	}
	return false
}
