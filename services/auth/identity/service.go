package identity

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/latchid/latch/services/auth/audit"
)

// Hasher turns passwords into stored hashes and checks them.
type Hasher interface {
	Hash(password string) (string, error)
	Verify(hash, password string) (bool, error)
}

// Policy is the tunable part of the rules; DefaultPolicy matches Better Auth.
type Policy struct {
	SessionTTL time.Duration // lifetime of a remembered session, extended on use
	// ShortSessionTTL is the fixed lifetime of a session signed in with
	// "remember me" off; it is never extended.
	ShortSessionTTL   time.Duration
	UpdateAge         time.Duration // how old a session's expiry must be before use extends it
	FreshAge          time.Duration // sensitive actions need a session younger than this; 0 disables
	MinPasswordLength int
	MaxPasswordLength int
}

// DefaultPolicy is Better Auth's default configuration (session.expiresIn,
// updateAge and freshAge; emailAndPassword.minPasswordLength and
// maxPasswordLength, measured in UTF-16 units). It is the one place these
// defaults are written: the service's configuration starts from it.
func DefaultPolicy() Policy {
	return Policy{
		SessionTTL:        7 * 24 * time.Hour,
		ShortSessionTTL:   24 * time.Hour,
		UpdateAge:         24 * time.Hour,
		FreshAge:          24 * time.Hour,
		MinPasswordLength: 8,
		MaxPasswordLength: 128,
	}
}

// Client describes where a request came from, recorded on its session.
type Client struct {
	IPAddress string
	UserAgent string
}

// Service applies the identity rules over a Store.
type Service struct {
	store  Store
	hasher Hasher
	policy Policy
	now    func() time.Time
	// hashSlots bounds concurrent password hashes: each costs 32 MiB and a
	// core for ~100 ms, so more in flight than cores only adds memory and latency.
	hashSlots chan struct{}
	length    func(string) int
	mail      mailFlows
	account   AccountPolicy
	oauth     oauthFlows
	twoFactor *twoFactorFlows // nil: the two-factor plugin is off
}

// NewService wires the rules to their store and hasher. length measures a
// password the way the policy's limits are meant (Better Auth counts UTF-16 units).
func NewService(store Store, hasher Hasher, length func(string) int, policy Policy, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{
		store:     store,
		hasher:    hasher,
		policy:    policy,
		now:       now,
		hashSlots: make(chan struct{}, runtime.GOMAXPROCS(0)),
		length:    length,
	}
}

// Policy returns the rules the service applies.
func (s *Service) Policy() Policy { return s.policy }

// clock returns the current time at the millisecond precision that the
// database and Better Auth's JSON keep, in UTC.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Millisecond) }

// SignUpInput is what a new user submits.
type SignUpInput struct {
	Name       string
	Email      string
	Password   string
	Image      *string
	RememberMe bool
	Client     Client
	// CallbackURL is where the verification link leads, when one is mailed.
	CallbackURL string
}

// SignUp creates a user with a password and signs them in. With
// SendOnSignUp the verification mail goes out before anything is written,
// so a mail server outage fails the sign-up cleanly instead of leaving an
// account whose owner never got the link. With RequireEmailVerification no
// session is opened (the returned Session is zero).
func (s *Service) SignUp(ctx context.Context, in SignUpInput) (User, Session, error) {
	if !ValidEmail(in.Email) {
		return User{}, Session{}, ErrInvalidEmail
	}
	if err := s.checkNewPassword(in.Password); err != nil {
		return User{}, Session{}, err
	}
	email := NormalizeEmail(in.Email)
	if _, err := s.store.UserByEmail(ctx, email); err == nil {
		if s.mail.RequireEmailVerification {
			return s.genericDuplicate(ctx, in, email)
		}
		return User{}, Session{}, ErrUserExists
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, Session{}, err
	}
	hash, err := s.hash(ctx, in.Password)
	if err != nil {
		return User{}, Session{}, err
	}
	now := s.clock()
	user := User{ID: NewID(), Name: in.Name, Email: email, Image: in.Image, CreatedAt: now, UpdatedAt: now}
	account := Account{
		ID: NewID(), AccountID: user.ID, ProviderID: CredentialProvider, UserID: user.ID,
		Password: &hash, CreatedAt: now, UpdatedAt: now,
	}
	if s.mail.mailer != nil && s.mail.SendOnSignUp {
		if err := s.sendVerification(ctx, user, in.CallbackURL); err != nil {
			return User{}, Session{}, err
		}
	}
	signedUp := s.event(ctx, in.Client, audit.SignUp, user.ID, detail(audit.DetailProvider, CredentialProvider))
	if err := s.store.CreateUser(ctx, user, account, signedUp); err != nil {
		if errors.Is(err, ErrConflict) {
			return User{}, Session{}, ErrUserExists
		}
		return User{}, Session{}, err
	}
	if s.mail.RequireEmailVerification {
		return user, Session{}, nil
	}
	sess, err := s.newSession(ctx, user.ID, in.RememberMe, in.Client)
	return user, sess, err
}

// genericDuplicate is Better Auth's answer to a sign-up for a taken email
// when verification is required: the same shape as a real sign-up (a
// synthetic, unsaved user, no session), after the same password hash, so
// the form does not reveal who has an account. The owner is not told.
func (s *Service) genericDuplicate(ctx context.Context, in SignUpInput, email string) (User, Session, error) {
	if _, err := s.hash(ctx, in.Password); err != nil {
		return User{}, Session{}, err
	}
	if s.mail.mailer != nil && s.mail.SendOnSignUp {
		// A new address would need the mail server now; so does this one.
		if err := s.checkMail(ctx); err != nil {
			return User{}, Session{}, err
		}
	}
	now := s.clock()
	return User{ID: NewID(), Name: in.Name, Email: email, Image: in.Image, CreatedAt: now, UpdatedAt: now}, Session{}, nil
}

// SignInInput is an email and password sign-in.
type SignInInput struct {
	Email      string
	Password   string
	RememberMe bool
	Client     Client
}

// SignIn checks the password and opens a session, unless SecondFactorDue:
// then the password step ends in BeginSecondFactor. Every failure after the
// input checks costs one password hash, so response time does not reveal
// whether the email has an account.
func (s *Service) SignIn(ctx context.Context, in SignInInput) (User, Session, error) {
	if !ValidEmail(in.Email) {
		return User{}, Session{}, ErrInvalidEmail
	}
	if s.length(in.Password) > s.policy.MaxPasswordLength {
		return User{}, Session{}, ErrPasswordTooLong
	}
	user, err := s.store.UserByEmail(ctx, NormalizeEmail(in.Email))
	if errors.Is(err, ErrNotFound) {
		return User{}, Session{}, s.passwordRefused(ctx, in.Client, "", s.burnHash(ctx, in.Password))
	}
	if err != nil {
		return User{}, Session{}, err
	}
	account, err := s.store.CredentialAccount(ctx, user.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && account.Password == nil) {
		return User{}, Session{}, s.passwordRefused(ctx, in.Client, user.ID, s.burnHash(ctx, in.Password))
	}
	if err != nil {
		return User{}, Session{}, err
	}
	ok, err := s.verify(ctx, *account.Password, in.Password)
	if err != nil || !ok {
		return User{}, Session{}, s.passwordRefused(ctx, in.Client, user.ID, ErrInvalidCredentials)
	}
	if s.mail.RequireEmailVerification && !user.EmailVerified {
		return User{}, Session{}, s.passwordRefused(ctx, in.Client, user.ID, ErrEmailNotVerified)
	}
	if s.SecondFactorDue(user) {
		// The password was right, but no session opens here: the caller
		// goes on with BeginSecondFactor, which records this step.
		return user, Session{}, nil
	}
	sess, err := s.newSession(ctx, user.ID, in.RememberMe, in.Client, s.event(ctx, in.Client, audit.SignIn, user.ID, detail(audit.DetailMethod, audit.MethodEmail)))
	return user, sess, err
}

// SecondFactorDue reports whether a password sign-in of user stops at the
// second factor: SignIn then answers a zero Session and the caller must
// call BeginSecondFactor.
func (s *Service) SecondFactorDue(user User) bool {
	return user.TwoFactorEnabled && s.twoFactor != nil
}

// passwordRefused records a refused password sign-in (userID "" for an
// unknown address) and answers cause; other errors pass unrecorded.
func (s *Service) passwordRefused(ctx context.Context, c Client, userID string, cause error) error {
	reason := "invalid-credentials"
	switch {
	case errors.Is(cause, ErrInvalidCredentials):
	case errors.Is(cause, ErrEmailNotVerified):
		reason = "email-not-verified"
	default:
		return cause
	}
	return s.failed(ctx, c, userID, detail(audit.DetailMethod, audit.MethodEmail, audit.DetailReason, reason), cause)
}

// burnHash spends the time of one hash and reports invalid credentials.
func (s *Service) burnHash(ctx context.Context, password string) error {
	if _, err := s.hash(ctx, password); err != nil {
		return err
	}
	return ErrInvalidCredentials
}

// SessionOptions tunes how Authenticate treats the session it finds.
type SessionOptions struct {
	// NoRefresh keeps the expiry as it is: "remember me" was off, or the
	// caller asked not to extend it.
	NoRefresh bool
}

// Authenticated is a live session with its user.
type Authenticated struct {
	Session Session
	User    User
	// Refreshed is set when this call extended the session's expiry, so the
	// transport re-sends the cookie with the new lifetime.
	Refreshed bool
}

// Authenticate resolves a session token. Expired sessions are deleted and
// answer ErrUnauthenticated; a live one older than UpdateAge is extended.
func (s *Service) Authenticate(ctx context.Context, token string, opt SessionOptions) (Authenticated, error) {
	if token == "" {
		return Authenticated{}, ErrUnauthenticated
	}
	sess, user, err := s.store.SessionByToken(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return Authenticated{}, ErrUnauthenticated
	}
	if err != nil {
		return Authenticated{}, err
	}
	now := s.clock()
	if sess.ExpiresAt.Before(now) {
		if err := s.store.DeleteSession(ctx, token); err != nil && !errors.Is(err, ErrNotFound) {
			return Authenticated{}, err
		}
		return Authenticated{}, ErrUnauthenticated
	}
	auth := Authenticated{Session: sess, User: user}
	if opt.NoRefresh || !s.dueForRefresh(sess, now) {
		return auth, nil
	}
	expires := now.Add(s.policy.SessionTTL)
	if err := s.store.ExtendSession(ctx, token, expires, now); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Authenticated{}, ErrUnauthenticated
		}
		return Authenticated{}, err
	}
	auth.Session.ExpiresAt, auth.Session.UpdatedAt, auth.Refreshed = expires, now, true
	return auth, nil
}

// dueForRefresh is Better Auth's rule: the expiry was last set at least
// UpdateAge ago.
func (s *Service) dueForRefresh(sess Session, now time.Time) bool {
	lastSet := sess.ExpiresAt.Add(-s.policy.SessionTTL)
	return !lastSet.Add(s.policy.UpdateAge).After(now)
}

// RequireFresh refuses sessions created longer ago than FreshAge.
func (s *Service) RequireFresh(sess Session) error {
	if s.policy.FreshAge > 0 && s.clock().Sub(sess.CreatedAt) >= s.policy.FreshAge {
		return ErrSessionNotFresh
	}
	return nil
}

// SignOut ends the session with this token, if there is one.
func (s *Service) SignOut(ctx context.Context, token string) error {
	// The store names the user and session the token ended.
	if err := s.store.DeleteSession(ctx, token, s.event(ctx, Client{}, audit.SignOut, "", nil)); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// ListSessions returns the user's unexpired sessions.
func (s *Service) ListSessions(ctx context.Context, userID string) ([]Session, error) {
	return s.store.ActiveSessions(ctx, userID, s.clock())
}

// RevokeSession ends one of the user's sessions; a token that is not theirs
// is silently ignored, as Better Auth does, so it reveals nothing.
func (s *Service) RevokeSession(ctx context.Context, userID, token string) error {
	ev := s.event(ctx, Client{}, audit.SessionRevoked, userID, detail(audit.DetailScope, "one"))
	if err := s.store.DeleteUserSession(ctx, userID, token, ev); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// RevokeSessions ends every session of the user.
func (s *Service) RevokeSessions(ctx context.Context, userID string) error {
	return s.store.DeleteUserSessions(ctx, userID, s.event(ctx, Client{}, audit.SessionRevoked, userID, detail(audit.DetailScope, "all")))
}

// RevokeOtherSessions ends every session of the user but the current one.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, currentToken string) error {
	ev := s.event(ctx, Client{}, audit.SessionRevoked, userID, detail(audit.DetailScope, "others"))
	return s.store.DeleteOtherSessions(ctx, userID, currentToken, ev)
}

// UpdateUser changes the user's profile.
func (s *Service) UpdateUser(ctx context.Context, userID string, patch UserPatch) (User, error) {
	if patch.Empty() {
		return User{}, ErrNoFieldsToUpdate
	}
	return s.store.UpdateUser(ctx, userID, patch, s.clock())
}

// ChangePasswordInput asks to replace the signed-in user's password.
type ChangePasswordInput struct {
	CurrentPassword     string
	NewPassword         string
	RevokeOtherSessions bool
	Client              Client
}

// ChangePassword replaces the password after checking the current one. With
// RevokeOtherSessions every session ends and a new one is returned.
func (s *Service) ChangePassword(ctx context.Context, userID string, in ChangePasswordInput) (*Session, error) {
	if err := s.checkNewPassword(in.NewPassword); err != nil {
		return nil, err
	}
	if s.length(in.CurrentPassword) > s.policy.MaxPasswordLength {
		return nil, ErrPasswordTooLong
	}
	account, err := s.store.CredentialAccount(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && account.Password == nil) {
		return nil, ErrCredentialAccountNotFound
	}
	if err != nil {
		return nil, err
	}
	ok, err := s.verify(ctx, *account.Password, in.CurrentPassword)
	if err != nil || !ok {
		return nil, ErrInvalidPassword
	}
	hash, err := s.hash(ctx, in.NewPassword)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var replacement *Session
	d := detail()
	if in.RevokeOtherSessions {
		sess := s.sessionFor(userID, true, in.Client, now)
		replacement = &sess
		d[audit.DetailSessionsEnded] = "true"
	}
	changed := s.event(ctx, in.Client, audit.PasswordChanged, userID, d)
	if err := s.store.ChangePassword(ctx, account.ID, hash, now, replacement, changed); err != nil {
		return nil, err
	}
	return replacement, nil
}

func (s *Service) checkNewPassword(pw string) error {
	n := s.length(pw)
	if n < s.policy.MinPasswordLength {
		return ErrPasswordTooShort
	}
	if n > s.policy.MaxPasswordLength {
		return ErrPasswordTooLong
	}
	return nil
}

func (s *Service) newSession(ctx context.Context, userID string, remember bool, c Client, events ...audit.Event) (Session, error) {
	sess := s.sessionFor(userID, remember, c, s.clock())
	if err := s.store.CreateSession(ctx, sess, events...); err != nil {
		return Session{}, err
	}
	return sess, nil
}

func (s *Service) sessionFor(userID string, remember bool, c Client, now time.Time) Session {
	ttl := s.policy.SessionTTL
	if !remember {
		ttl = s.policy.ShortSessionTTL
	}
	return Session{
		ID: NewID(), Token: NewID(), UserID: userID,
		ExpiresAt: now.Add(ttl), CreatedAt: now, UpdatedAt: now,
		IPAddress: c.IPAddress, UserAgent: c.UserAgent,
	}
}

func (s *Service) hash(ctx context.Context, pw string) (string, error) {
	release, err := s.acquireHashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	h, err := s.hasher.Hash(pw)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return h, nil
}

func (s *Service) verify(ctx context.Context, hash, pw string) (bool, error) {
	release, err := s.acquireHashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	return s.hasher.Verify(hash, pw)
}

func (s *Service) acquireHashSlot(ctx context.Context) (func(), error) {
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
