package clients

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchid/latch/services/auth/audit"
)

// TokenSigner signs a service's access token (signing.Issuer).
type TokenSigner interface {
	SignClient(ctx context.Context, clientID string, scopes []string, ttl time.Duration) (string, error)
}

// DefaultTokenTTL is the lifetime of an access token.
const DefaultTokenTTL = 5 * time.Minute

// Service registers clients and issues their tokens.
type Service struct {
	store  Store
	signer TokenSigner
	ttl    time.Duration
	now    func() time.Time
}

// NewService returns the clients service; ttl 0 means DefaultTokenTTL.
func NewService(store Store, signer TokenSigner, ttl time.Duration, now func() time.Time) *Service {
	if ttl <= 0 {
		ttl = DefaultTokenTTL
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, signer: signer, ttl: ttl, now: now}
}

// Register creates a client and returns it with its secret, which is
// stored only as a hash: the caller shows it once.
func (s *Service) Register(ctx context.Context, name string, scopes []string) (Client, string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return Client{}, "", &ValidationError{"a client needs a name (--name)"}
	case utf8.RuneCountInString(name) > MaxNameLength:
		return Client{}, "", &ValidationError{fmt.Sprintf("the name must be at most %d characters", MaxNameLength)}
	case strings.ContainsFunc(name, unicode.IsControl):
		return Client{}, "", &ValidationError{"the name must not contain control characters"}
	}
	parsed, err := ParseScope(strings.Join(scopes, " "))
	if err != nil {
		return Client{}, "", &ValidationError{err.Error()}
	}
	id, secret := newID(), newSecret()
	c := Client{ID: id, Name: name, Scopes: parsed, SecretHash: hashSecret(secret), CreatedAt: s.now().UTC().Truncate(time.Microsecond)}
	created := s.event(audit.ClientCreated, c.CreatedAt, id)
	created.Detail[audit.DetailClientName] = name
	if err := s.store.CreateClient(ctx, c, created); err != nil {
		return Client{}, "", err
	}
	return c, secret, nil
}

// List returns every client, revoked ones included.
func (s *Service) List(ctx context.Context) ([]Client, error) { return s.store.Clients(ctx) }

// Revoke stops the client from getting new tokens; tokens already issued
// live out their (short) lifetime.
func (s *Service) Revoke(ctx context.Context, id string) error {
	at := s.now().UTC().Truncate(time.Microsecond)
	return s.store.RevokeClient(ctx, id, at, s.event(audit.ClientRevoked, at, id))
}

// OperatorActor is the audit trail's actor for changes made with the
// operator's command line, the only way clients are managed.
const OperatorActor = "operator:cli"

// event is the audit event of an operator's change to client id; the
// command line has no address, user agent or request id.
func (s *Service) event(t audit.Type, at time.Time, id string) audit.Event {
	return audit.Event{
		ID: newID() + newID(), Type: t, ActorID: OperatorActor, CreatedAt: at,
		Detail: map[string]string{audit.DetailClientID: id},
	}
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   time.Duration
	Scopes      []string
}

// IssueToken authenticates the client and signs a token for the requested
// scope (space-delimited; empty: every scope the client has).
func (s *Service) IssueToken(ctx context.Context, clientID, secret, scope string) (Token, error) {
	c, err := s.authenticate(ctx, clientID, secret)
	if err != nil {
		return Token{}, err
	}
	granted := c.Scopes
	if strings.TrimSpace(scope) != "" {
		requested, err := ParseScope(scope)
		if err != nil {
			return Token{}, fmt.Errorf("%w: %v", ErrInvalidScope, err)
		}
		for _, r := range requested {
			if !slices.Contains(c.Scopes, r) {
				return Token{}, fmt.Errorf("%w: %q was not granted to this client", ErrInvalidScope, r)
			}
		}
		granted = requested
	}
	tok, err := s.signer.SignClient(ctx, c.ID, granted, s.ttl)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return Token{AccessToken: tok, ExpiresIn: s.ttl, Scopes: granted}, nil
}

// unknownClientHash is compared against when the id is unknown, so a
// missing client takes as long as a wrong secret.
var unknownClientHash = hashSecret("no client has this secret")

func (s *Service) authenticate(ctx context.Context, clientID, secret string) (Client, error) {
	if clientID == "" || len(clientID) > 64 || secret == "" || len(secret) > 256 {
		return Client{}, ErrInvalidClient
	}
	c, err := s.store.Client(ctx, clientID)
	switch {
	case errors.Is(err, ErrNotFound):
		subtle.ConstantTimeCompare(hashSecret(secret), unknownClientHash)
		return Client{}, ErrInvalidClient
	case err != nil:
		return Client{}, err
	}
	if subtle.ConstantTimeCompare(hashSecret(secret), c.SecretHash) != 1 || c.Revoked() {
		return Client{}, ErrInvalidClient
	}
	return c, nil
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// newID is 80 random bits in lowercase base32: 16 characters, easy to copy.
func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// newSecret is 256 random bits, base64url: 43 characters.
func newSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
