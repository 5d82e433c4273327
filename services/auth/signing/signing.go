// Package signing issues Latch's JWTs and publishes the keys that verify
// them. Keys live in Better Auth's jwks table, private halves sealed the way
// Better Auth seals them, so keys either one made keep signing and verifying.
package signing

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/latchid/latch/services/auth/identity"
)

// StoredKey is one row of the jwks table.
type StoredKey struct {
	ID         string
	PublicKey  string // JSON of the public JWK
	PrivateKey string // a sealed JSON string ("…"), or the private JWK's JSON when stored unsealed
	CreatedAt  time.Time
	ExpiresAt  *time.Time // when the key stops signing; nil: never
	Alg        *string    // nil on rows older than Better Auth 1.7: means EdDSA
	Crv        *string
}

// KeyStore persists signing keys.
type KeyStore interface {
	Keys(ctx context.Context) ([]StoredKey, error)
	// InsertKeyUnlessCovered inserts k unless some key already lives past
	// at (expires_at null or later), so replicas racing to create the first
	// key, or a successor, create one between them.
	InsertKeyUnlessCovered(ctx context.Context, k StoredKey, at time.Time) (bool, error)
	// ReplaceKeys inserts k and, in the same transaction, sets expires_at =
	// retireAt on every other key that would otherwise sign past retireAt.
	ReplaceKeys(ctx context.Context, k StoredKey, retireAt time.Time) error
}

// Sealer encrypts private keys at rest (sealedbox.Keyring).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// Config sets the issuer's claims and key lifecycle.
type Config struct {
	Issuer   string
	Audience string
	TokenTTL time.Duration
	// GracePeriod keeps a key in the JWKS after it stops signing, so tokens
	// it signed still verify; at least TokenTTL.
	GracePeriod time.Duration
	// RotationInterval, when set, gives each new key that lifetime, and a
	// successor is made before it ends. Zero: keys sign until rotated by hand.
	RotationInterval time.Duration
	// PublishDelay is how long a new key is published before it signs, so
	// every replica's and verifier's cached JWKS holds it first. It is also
	// the JWKS's Cache-Control max-age.
	PublishDelay time.Duration
	// CacheTTL bounds how long a replica trusts its in-memory copy of the key table.
	CacheTTL time.Duration
}

// DefaultAlg is the algorithm of new keys and of rows whose alg is null.
const DefaultAlg = "EdDSA"

// ErrNoKey is returned when no key can sign (the table could not be read or written).
var ErrNoKey = errors.New("no signing key")

// Issuer signs tokens and serves the JWKS, from a cached snapshot of the keys.
type Issuer struct {
	store  KeyStore
	sealer Sealer
	cfg    Config
	now    func() time.Time

	snap   atomic.Pointer[snapshot]
	loadMu sync.Mutex
}

// NewIssuer returns an issuer over the key table.
func NewIssuer(store KeyStore, sealer Sealer, cfg Config, now func() time.Time) (*Issuer, error) {
	if cfg.TokenTTL <= 0 {
		return nil, errors.New("token lifetime must be positive")
	}
	if cfg.GracePeriod < cfg.TokenTTL {
		return nil, fmt.Errorf("JWKS grace period (%s) must be at least the token lifetime (%s), or tokens outlive their key", cfg.GracePeriod, cfg.TokenTTL)
	}
	if cfg.RotationInterval != 0 && cfg.RotationInterval <= cfg.PublishDelay {
		return nil, fmt.Errorf("rotation interval (%s) must exceed the publish delay (%s)", cfg.RotationInterval, cfg.PublishDelay)
	}
	if now == nil {
		now = time.Now
	}
	return &Issuer{store: store, sealer: sealer, cfg: cfg, now: now}, nil
}

// Config returns the issuer's settings.
func (i *Issuer) Config() Config { return i.cfg }

// snapshot is what one read of the key table decides: the signing key and
// the published set, valid until the first of loadedAt+CacheTTL or the next
// moment a key starts or stops signing or drops out of the JWKS.
type snapshot struct {
	validUntil time.Time
	jwks       []byte
	signer     *signer
	keys       []StoredKey
}

type signer struct {
	kid     string
	alg     jwa.SignatureAlgorithm
	key     jwk.Key
	expires *time.Time
	headers jws.Headers
}

func (i *Issuer) clock() time.Time { return i.now().UTC().Truncate(time.Millisecond) }

// current returns a snapshot that is still valid, loading one when needed.
func (i *Issuer) current(ctx context.Context) (*snapshot, error) {
	if s := i.snap.Load(); s != nil && i.clock().Before(s.validUntil) {
		return s, nil
	}
	i.loadMu.Lock()
	defer i.loadMu.Unlock()
	if s := i.snap.Load(); s != nil && i.clock().Before(s.validUntil) {
		return s, nil
	}
	s, err := i.load(ctx)
	if err != nil {
		return nil, err
	}
	i.snap.Store(s)
	return s, nil
}

// Invalidate drops the cached snapshot so the next use reads the table.
func (i *Issuer) Invalidate() { i.snap.Store(nil) }

func (i *Issuer) load(ctx context.Context) (*snapshot, error) {
	now := i.clock()
	keys, err := i.store.Keys(ctx)
	if err != nil {
		return nil, fmt.Errorf("read signing keys: %w", err)
	}
	chosen := i.choose(keys, now)
	if chosen == nil {
		// No key can sign: make the first one, as Better Auth does on first need.
		if _, err := i.create(ctx, now, now); err != nil {
			return nil, err
		}
		if keys, err = i.store.Keys(ctx); err != nil {
			return nil, fmt.Errorf("read signing keys: %w", err)
		}
		if chosen = i.choose(keys, now); chosen == nil {
			return nil, ErrNoKey
		}
	} else if i.cfg.RotationInterval > 0 && chosen.ExpiresAt != nil && !hasSuccessor(keys, *chosen) &&
		!chosen.ExpiresAt.After(now.Add(i.cfg.PublishDelay)) {
		// The signing key ends within the publish delay: publish its successor
		// now so it is everywhere by the time it must sign.
		if _, err := i.create(ctx, now, *chosen.ExpiresAt); err != nil {
			return nil, err
		}
		if keys, err = i.store.Keys(ctx); err != nil {
			return nil, fmt.Errorf("read signing keys: %w", err)
		}
		chosen = i.choose(keys, now)
	}
	sg, err := i.unseal(*chosen)
	if err != nil {
		return nil, err
	}
	doc, err := i.publish(keys, now)
	if err != nil {
		return nil, err
	}
	return &snapshot{validUntil: i.validUntil(keys, now), jwks: doc, signer: sg, keys: keys}, nil
}

func hasSuccessor(keys []StoredKey, k StoredKey) bool {
	for _, o := range keys {
		if o.CreatedAt.After(k.CreatedAt) && (o.ExpiresAt == nil || o.ExpiresAt.After(*k.ExpiresAt)) {
			return true
		}
	}
	return false
}

func algOf(k StoredKey) string {
	if k.Alg == nil || *k.Alg == "" {
		return DefaultAlg
	}
	return *k.Alg
}

func live(k StoredKey, now time.Time) bool { return k.ExpiresAt == nil || k.ExpiresAt.After(now) }

// choose picks the signing key: Better Auth's rule (the newest live key of
// the default algorithm, else the newest live key), but only among keys
// published for at least PublishDelay. When no live key has been published
// that long, the one published longest signs: a brand-new key signs at once
// only when it is the only one.
func (i *Issuer) choose(keys []StoredKey, now time.Time) *StoredKey {
	sorted := append([]StoredKey(nil), keys...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].CreatedAt.After(sorted[b].CreatedAt) })
	settled := now.Add(-i.cfg.PublishDelay)
	pick := func(ok func(StoredKey) bool) *StoredKey {
		var oldest *StoredKey
		for idx := range sorted {
			k := &sorted[idx]
			if !live(*k, now) || !ok(*k) {
				continue
			}
			if !k.CreatedAt.After(settled) {
				return k
			}
			oldest = k
		}
		return oldest
	}
	if k := pick(func(k StoredKey) bool { return algOf(k) == DefaultAlg }); k != nil {
		return k
	}
	return pick(func(StoredKey) bool { return true })
}

// published reports whether k belongs in the JWKS: it still signs, or
// stopped less than GracePeriod ago.
func (i *Issuer) published(k StoredKey, now time.Time) bool {
	return k.ExpiresAt == nil || k.ExpiresAt.Add(i.cfg.GracePeriod).After(now)
}

func (i *Issuer) validUntil(keys []StoredKey, now time.Time) time.Time {
	until := now.Add(i.cfg.CacheTTL)
	consider := func(t time.Time) {
		if t.After(now) && t.Before(until) {
			until = t
		}
	}
	for _, k := range keys {
		consider(k.CreatedAt.Add(i.cfg.PublishDelay))
		if k.ExpiresAt != nil {
			consider(*k.ExpiresAt)
			consider(k.ExpiresAt.Add(i.cfg.GracePeriod))
			consider(k.ExpiresAt.Add(-i.cfg.PublishDelay))
		}
	}
	return until
}

// publish renders the JWKS as Better Auth does: each public JWK with its
// alg (the row's, else the default) and kid (the row id).
func (i *Issuer) publish(keys []StoredKey, now time.Time) ([]byte, error) {
	out := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	sorted := append([]StoredKey(nil), keys...)
	sort.SliceStable(sorted, func(a, b int) bool { return sorted[a].CreatedAt.After(sorted[b].CreatedAt) })
	for _, k := range sorted {
		if !i.published(k, now) {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(k.PublicKey), &m); err != nil {
			return nil, fmt.Errorf("key %s: public key is not JSON: %w", k.ID, err)
		}
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			delete(m, private) // a misfiled row must never publish secret material
		}
		m["alg"] = algOf(k)
		m["kid"] = k.ID
		out.Keys = append(out.Keys, m)
	}
	return json.Marshal(out)
}

func (i *Issuer) unseal(k StoredKey) (*signer, error) {
	raw := []byte(k.PrivateKey)
	if len(raw) > 0 && raw[0] == '"' {
		var sealed string
		if err := json.Unmarshal(raw, &sealed); err != nil {
			return nil, fmt.Errorf("key %s: private key is neither a sealed string nor a JWK", k.ID)
		}
		opened, err := i.sealer.Open(sealed)
		if err != nil {
			// The usual cause: BETTER_AUTH_SECRET differs from the one that sealed it.
			return nil, fmt.Errorf("key %s: cannot decrypt the private key with the configured secret: %w", k.ID, err)
		}
		raw = opened
	}
	key, err := jwk.ParseKey(raw)
	if err != nil {
		return nil, fmt.Errorf("key %s: parse private key: %w", k.ID, err)
	}
	var alg jwa.SignatureAlgorithm
	if err := alg.Accept(algOf(k)); err != nil {
		return nil, fmt.Errorf("key %s: %w", k.ID, err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, k.ID); err != nil {
		return nil, err
	}
	return &signer{kid: k.ID, alg: alg, key: key, expires: k.ExpiresAt, headers: hdr}, nil
}

// create makes a new Ed25519 key, sealed, unless a key already covers at.
func (i *Issuer) create(ctx context.Context, now, at time.Time) (StoredKey, error) {
	k, err := i.newKey(now)
	if err != nil {
		return StoredKey{}, err
	}
	if _, err := i.store.InsertKeyUnlessCovered(ctx, k, at); err != nil {
		return StoredKey{}, fmt.Errorf("store signing key: %w", err)
	}
	return k, nil
}

func (i *Issuer) newKey(now time.Time) (StoredKey, error) {
	pub, priv, err := generateEd25519()
	if err != nil {
		return StoredKey{}, err
	}
	sealed, err := i.sealer.Seal(priv)
	if err != nil {
		return StoredKey{}, fmt.Errorf("seal private key: %w", err)
	}
	quoted, err := json.Marshal(sealed) // Better Auth stores the sealed text as a JSON string
	if err != nil {
		return StoredKey{}, err
	}
	alg, crv := DefaultAlg, "Ed25519"
	k := StoredKey{
		ID: identity.NewID(), PublicKey: string(pub), PrivateKey: string(quoted),
		CreatedAt: now, Alg: &alg, Crv: &crv,
	}
	if i.cfg.RotationInterval > 0 {
		exp := now.Add(i.cfg.RotationInterval)
		k.ExpiresAt = &exp
	}
	return k, nil
}

// JWKS returns the published key set as JSON.
func (i *Issuer) JWKS(ctx context.Context) ([]byte, error) {
	s, err := i.current(ctx)
	if err != nil {
		return nil, err
	}
	return s.jwks, nil
}

// Claims are the JWT's claims in Better Auth's order: the user object, then
// sub, exp, iss and aud.
type Claims struct {
	IssuedAt      int64   `json:"iat"`
	Name          string  `json:"name"`
	Email         string  `json:"email"`
	EmailVerified bool    `json:"emailVerified"`
	Image         *string `json:"image"`
	CreatedAt     string  `json:"createdAt"`
	UpdatedAt     string  `json:"updatedAt"`
	// TwoFactorEnabled is the two-factor plugin's user field: present only
	// with the plugin on, as in Better Auth's payload.
	TwoFactorEnabled *bool  `json:"twoFactorEnabled,omitempty"`
	ID               string `json:"id"`
	Subject          string `json:"sub"`
	Expiry           int64  `json:"exp"`
	Issuer           string `json:"iss"`
	Audience         string `json:"aud"`
	// SessionID, TokenID and AMR are Latch's additions after Better Auth's
	// claims: sid names the session the token speaks for, so a resource
	// server can refuse it once that session ends (docs/revocation.md);
	// jti names the token itself; amr (RFC 8176) the methods that opened
	// the session when a second factor did, e.g. ["pwd","otp"].
	SessionID string   `json:"sid,omitempty"`
	TokenID   string   `json:"jti"`
	AMR       []string `json:"amr,omitempty"`
	// Organization and OrganizationRole are the organization plugin's
	// additions (docs/organizations.md): the session's active organization
	// and the member's role in it, as Better Auth stores member.role (one
	// role, or several comma-separated). Both absent without an active
	// organization.
	Organization     string `json:"org,omitempty"`
	OrganizationRole string `json:"org_role,omitempty"`
}

// Extra is what a user's token carries beyond the user: the session it is
// bound to, the plugin fields and amr.
type Extra struct {
	SessionID        string
	TwoFactorEnabled *bool
	AMR              []string
	// Organization and OrganizationRole: the active organization and the
	// member's role there (empty without one).
	Organization     string
	OrganizationRole string
	// IssuedAt, when set, is the token's iat instead of the signing time:
	// the moment the claims were read (organization.Claims.IssuedAt).
	IssuedAt time.Time
}

// TimeFormat is JavaScript's Date.toISOString(), the form Better Auth's JSON uses.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Sign issues a JWT for the user, bound to the session sessionID.
func (i *Issuer) Sign(ctx context.Context, u identity.User, sessionID string) (string, error) {
	return i.SignWith(ctx, u, Extra{SessionID: sessionID})
}

// SignWith issues a JWT for the user with extra claims; extra.SessionID is required.
func (i *Issuer) SignWith(ctx context.Context, u identity.User, extra Extra) (string, error) {
	if extra.SessionID == "" {
		return "", errors.New("sign token: a session id is required")
	}
	s, err := i.current(ctx)
	if err != nil {
		return "", err
	}
	iat := i.now().Unix()
	if !extra.IssuedAt.IsZero() {
		iat = extra.IssuedAt.Unix()
	}
	payload, err := json.Marshal(Claims{
		IssuedAt: iat, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Image: u.Image,
		CreatedAt: u.CreatedAt.UTC().Format(TimeFormat), UpdatedAt: u.UpdatedAt.UTC().Format(TimeFormat),
		ID: u.ID, Subject: u.ID, Expiry: iat + int64(i.cfg.TokenTTL/time.Second),
		Issuer: i.cfg.Issuer, Audience: i.cfg.Audience, SessionID: extra.SessionID, TokenID: NewTokenID(),
		TwoFactorEnabled: extra.TwoFactorEnabled, AMR: extra.AMR,
		Organization: extra.Organization, OrganizationRole: extra.OrganizationRole,
	})
	if err != nil {
		return "", err
	}
	token, err := jws.Sign(payload, jws.WithKey(s.signer.alg, s.signer.key, jws.WithProtectedHeaders(s.signer.headers)))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(token), nil
}

// NewTokenID returns a jti: 128 random bits, base64url.
func NewTokenID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand never fails
	return base64.RawURLEncoding.EncodeToString(b)
}
