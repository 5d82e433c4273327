package sqlstore

import (
	"time"

	"github.com/latchid/latch/services/auth/identity"
)

// Rows mirror the tables column for column. gorm's automatic timestamps are
// off: the domain sets every time, at millisecond precision, as Better Auth
// writes them.

// wallClock converts between instants and the schema's zone-less timestamp
// columns. Better Auth (through node-pg) writes them as the wall-clock time
// of the Node process's time zone, so a database it filled while running
// outside UTC must be read and written in that zone (DATABASE_TIMEZONE).
type wallClock struct{ zone *time.Location }

// put is the value to bind for t: its wall clock in the zone (PostgreSQL's
// driver binds a timestamp column by wall clock).
func (w wallClock) put(t time.Time) time.Time { return t.In(w.zone) }

// get reads a column value back as an instant, in UTC.
func (w wallClock) get(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), w.zone).UTC()
}

func (w wallClock) putPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := w.put(*t)
	return &v
}

func (w wallClock) getPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := w.get(*t)
	return &v
}

type userRow struct {
	ID            string    `gorm:"column:id;primaryKey"`
	Name          string    `gorm:"column:name"`
	Email         string    `gorm:"column:email"`
	EmailVerified bool      `gorm:"column:email_verified"`
	Image         *string   `gorm:"column:image"`
	CreatedAt     time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt     time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
	// TwoFactorEnabled is nullable: Better Auth declares it required:false.
	TwoFactorEnabled *bool `gorm:"column:two_factor_enabled"`
}

func (userRow) TableName() string { return "user" }

func (r userRow) domain(w wallClock) identity.User {
	return identity.User{
		ID: r.ID, Name: r.Name, Email: r.Email, EmailVerified: r.EmailVerified, Image: r.Image,
		CreatedAt: w.get(r.CreatedAt), UpdatedAt: w.get(r.UpdatedAt),
		TwoFactorEnabled: r.TwoFactorEnabled != nil && *r.TwoFactorEnabled,
	}
}

func userRowOf(u identity.User, w wallClock) userRow {
	return userRow{
		ID: u.ID, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Image: u.Image,
		CreatedAt: w.put(u.CreatedAt), UpdatedAt: w.put(u.UpdatedAt), TwoFactorEnabled: &u.TwoFactorEnabled,
	}
}

type sessionRow struct {
	ID        string    `gorm:"column:id;primaryKey"`
	ExpiresAt time.Time `gorm:"column:expires_at"`
	Token     string    `gorm:"column:token"`
	CreatedAt time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
	IPAddress *string   `gorm:"column:ip_address"`
	UserAgent *string   `gorm:"column:user_agent"`
	UserID    string    `gorm:"column:user_id"`
	// AMR is Latch's own column (comma-separated RFC 8176 values).
	AMR *string `gorm:"column:amr"`
	// ActiveOrganizationID is the organization plugin's column.
	ActiveOrganizationID *string `gorm:"column:active_organization_id"`
}

func (sessionRow) TableName() string { return "session" }

func (r sessionRow) domain(w wallClock) identity.Session {
	return identity.Session{
		ID: r.ID, Token: r.Token, UserID: r.UserID,
		ExpiresAt: w.get(r.ExpiresAt), CreatedAt: w.get(r.CreatedAt), UpdatedAt: w.get(r.UpdatedAt),
		IPAddress: deref(r.IPAddress), UserAgent: deref(r.UserAgent), AMR: deref(r.AMR),
		ActiveOrganizationID: deref(r.ActiveOrganizationID),
	}
}

func sessionRowOf(s identity.Session, w wallClock) sessionRow {
	return sessionRow{
		ID: s.ID, ExpiresAt: w.put(s.ExpiresAt), Token: s.Token, CreatedAt: w.put(s.CreatedAt), UpdatedAt: w.put(s.UpdatedAt),
		IPAddress: &s.IPAddress, UserAgent: &s.UserAgent, UserID: s.UserID, AMR: nonEmpty(s.AMR),
		ActiveOrganizationID: nonEmpty(s.ActiveOrganizationID),
	}
}

// nonEmpty stores "" as NULL.
func nonEmpty(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

type accountRow struct {
	ID                    string     `gorm:"column:id;primaryKey"`
	AccountID             string     `gorm:"column:account_id"`
	ProviderID            string     `gorm:"column:provider_id"`
	UserID                string     `gorm:"column:user_id"`
	AccessToken           *string    `gorm:"column:access_token"`
	RefreshToken          *string    `gorm:"column:refresh_token"`
	IDToken               *string    `gorm:"column:id_token"`
	AccessTokenExpiresAt  *time.Time `gorm:"column:access_token_expires_at"`
	RefreshTokenExpiresAt *time.Time `gorm:"column:refresh_token_expires_at"`
	Scope                 *string    `gorm:"column:scope"`
	Password              *string    `gorm:"column:password"`
	CreatedAt             time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt             time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (accountRow) TableName() string { return "account" }

func (r accountRow) domain(w wallClock) identity.Account {
	return identity.Account{
		ID: r.ID, AccountID: r.AccountID, ProviderID: r.ProviderID, UserID: r.UserID,
		Password: r.Password, CreatedAt: w.get(r.CreatedAt), UpdatedAt: w.get(r.UpdatedAt),
		Tokens: identity.AccountTokens{
			AccessToken: r.AccessToken, RefreshToken: r.RefreshToken, IDToken: r.IDToken,
			AccessTokenExpiresAt: w.getPtr(r.AccessTokenExpiresAt), Scope: r.Scope,
		},
	}
}

func accountRowOf(a identity.Account, w wallClock) accountRow {
	return accountRow{
		ID: a.ID, AccountID: a.AccountID, ProviderID: a.ProviderID, UserID: a.UserID, Password: a.Password,
		AccessToken: a.Tokens.AccessToken, RefreshToken: a.Tokens.RefreshToken, IDToken: a.Tokens.IDToken,
		AccessTokenExpiresAt: w.putPtr(a.Tokens.AccessTokenExpiresAt), Scope: a.Tokens.Scope,
		CreatedAt: w.put(a.CreatedAt), UpdatedAt: w.put(a.UpdatedAt),
	}
}

type verificationRow struct {
	ID         string    `gorm:"column:id;primaryKey"`
	Identifier string    `gorm:"column:identifier"`
	Value      string    `gorm:"column:value"`
	ExpiresAt  time.Time `gorm:"column:expires_at"`
	CreatedAt  time.Time `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt  time.Time `gorm:"column:updated_at;autoUpdateTime:false"`
}

func (verificationRow) TableName() string { return "verification" }

func (r verificationRow) domain(w wallClock) identity.Verification {
	return identity.Verification{
		ID: r.ID, Identifier: r.Identifier, Value: r.Value,
		ExpiresAt: w.get(r.ExpiresAt), CreatedAt: w.get(r.CreatedAt), UpdatedAt: w.get(r.UpdatedAt),
	}
}

type keyRow struct {
	ID         string     `gorm:"column:id;primaryKey"`
	PublicKey  string     `gorm:"column:public_key"`
	PrivateKey string     `gorm:"column:private_key"`
	CreatedAt  time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	ExpiresAt  *time.Time `gorm:"column:expires_at"`
	Alg        *string    `gorm:"column:alg"`
	Crv        *string    `gorm:"column:crv"`
}

func (keyRow) TableName() string { return "jwks" }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
