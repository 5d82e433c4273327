package signing

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// generateEd25519 returns the public and private JWKs of a new key as JSON,
// in the members Better Auth (jose) writes: crv, x, kty (and d).
func generateEd25519() (public, private []byte, err error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	privJWK, err := jwk.FromRaw(priv)
	if err != nil {
		return nil, nil, err
	}
	pubJWK, err := privJWK.PublicKey()
	if err != nil {
		return nil, nil, err
	}
	if public, err = json.Marshal(pubJWK); err != nil {
		return nil, nil, err
	}
	if private, err = json.Marshal(privJWK); err != nil {
		return nil, nil, err
	}
	return public, private, nil
}

// KeyState says what a key does now.
type KeyState string

// The states of a key, in the order of its life.
const (
	KeyPending   KeyState = "pending"   // published, not yet signing (publish delay)
	KeySigning   KeyState = "signing"   // signs new tokens
	KeyVerifying KeyState = "verifying" // live, published, but another key signs
	KeyRetired   KeyState = "retired"   // stopped signing; published until its grace period ends
	KeyExpired   KeyState = "expired"   // past its grace period; no longer published
)

// KeyInfo describes a key for operators, never its private half.
type KeyInfo struct {
	ID        string
	Alg       string
	CreatedAt time.Time
	ExpiresAt *time.Time
	State     KeyState
}

// List describes every key in the table, newest first.
func (i *Issuer) List(ctx context.Context) ([]KeyInfo, error) {
	keys, err := i.store.Keys(ctx)
	if err != nil {
		return nil, err
	}
	now := i.clock()
	chosen := i.choose(keys, now)
	sort.SliceStable(keys, func(a, b int) bool { return keys[a].CreatedAt.After(keys[b].CreatedAt) })
	out := make([]KeyInfo, 0, len(keys))
	for _, k := range keys {
		info := KeyInfo{ID: k.ID, Alg: algOf(k), CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
		switch {
		case chosen != nil && chosen.ID == k.ID:
			info.State = KeySigning
		case !i.published(k, now):
			info.State = KeyExpired
		case !live(k, now):
			info.State = KeyRetired
		case chosen != nil && k.CreatedAt.After(chosen.CreatedAt):
			info.State = KeyPending
		default:
			info.State = KeyVerifying
		}
		out = append(out, info)
	}
	return out, nil
}

// Rotate publishes a new key and retires the others: they keep signing for
// PublishDelay (while the new key reaches every cache), then stop, and stay
// published for GracePeriod after that so their tokens still verify.
func (i *Issuer) Rotate(ctx context.Context) (KeyInfo, error) {
	now := i.clock()
	k, err := i.newKey(now)
	if err != nil {
		return KeyInfo{}, err
	}
	if err := i.store.ReplaceKeys(ctx, k, now.Add(i.cfg.PublishDelay)); err != nil {
		return KeyInfo{}, fmt.Errorf("rotate keys: %w", err)
	}
	i.Invalidate()
	return KeyInfo{ID: k.ID, Alg: algOf(k), CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, State: KeyPending}, nil
}
