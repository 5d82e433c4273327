package clients_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/clients"
	"github.com/latchid/latch/services/auth/sealedbox"
	"github.com/latchid/latch/services/auth/signing"
	"github.com/latchid/latch/services/auth/sqlstore"
	"github.com/latchid/latch/services/auth/sqlstore/sqlstoretest"
)

// newService is the clients service on a fresh PostgreSQL database, with
// the real signing keys.
func newService(t *testing.T) *clients.Service {
	t.Helper()
	db := sqlstoretest.Open(t, sqldb.Postgres)
	issuer, err := signing.NewIssuer(sqlstore.NewKeyStore(db, time.UTC), sealedbox.SingleSecret("a-test-secret-that-is-long-enough-0123456789"), signing.Config{
		Issuer: "http://auth.test", Audience: "http://auth.test", TokenTTL: 15 * time.Minute, GracePeriod: time.Hour, PublishDelay: time.Minute, CacheTTL: time.Second,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return clients.NewService(sqlstore.NewClientStore(db), issuer, 0, nil)
}

// scopeOf reads the scope claim of a token the service signed.
func scopeOf(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct{ Scope string }
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Scope
}

func TestRegisterValidatesAndHidesTheSecret(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	tests := []struct {
		name, client string
		scopes       []string
		wantErr      string
	}{
		{"a name and scopes register", "reports", []string{"tasks:read", "tasks:read", "tasks:write"}, ""},
		{"no scopes is allowed (the client can do nothing yet)", "idle", nil, ""},
		{"a blank name is refused", "  ", nil, "needs a name"},
		{"a control character in the name is refused", "bad\nname", nil, "control characters"},
		{"a quote in a scope is refused", "x", []string{`tasks"read`}, "does not allow"},
		{"a long scope is refused", "x", []string{strings.Repeat("s", 101)}, "longer than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, secret, err := svc.Register(context.Background(), tc.client, tc.scopes)
			if tc.wantErr != "" {
				var v *clients.ValidationError
				if !errors.As(err, &v) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a ValidationError with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(secret) != 43 || len(c.ID) != 16 || strings.Contains(string(c.SecretHash), secret) {
				t.Fatalf("id %q, secret of %d characters, hash %x", c.ID, len(secret), c.SecretHash)
			}
			if tc.client == "reports" && strings.Join(c.Scopes, " ") != "tasks:read tasks:write" {
				t.Errorf("scopes %v, want them deduplicated", c.Scopes)
			}
		})
	}
}

func TestIssueTokenGrantsOnlyWhatWasRegistered(t *testing.T) {
	t.Parallel()
	svc := newService(t)
	ctx := context.Background()
	c, secret, err := svc.Register(ctx, "reports", []string{"tasks:read", "tasks:write"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, id, secret, scope string
		err                     error
		granted                 string
	}{
		{"no scope asked: everything registered", c.ID, secret, "", nil, "tasks:read tasks:write"},
		{"a subset", c.ID, secret, "tasks:read", nil, "tasks:read"},
		{"more than registered", c.ID, secret, "tasks:read admin", clients.ErrInvalidScope, ""},
		{"a wrong secret", c.ID, secret + "x", "", clients.ErrInvalidClient, ""},
		{"an unknown client", "nobody", secret, "", clients.ErrInvalidClient, ""},
		{"an empty secret", c.ID, "", "", clients.ErrInvalidClient, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := svc.IssueToken(ctx, tc.id, tc.secret, tc.scope)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (strings.Join(tok.Scopes, " ") != tc.granted || scopeOf(t, tok.AccessToken) != tc.granted || tok.ExpiresIn != clients.DefaultTokenTTL) {
				t.Errorf("token %+v, want scope %q", tok, tc.granted)
			}
		})
	}
	if err := svc.Revoke(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IssueToken(ctx, c.ID, secret, ""); !errors.Is(err, clients.ErrInvalidClient) {
		t.Errorf("a revoked client got a token: %v", err)
	}
}
