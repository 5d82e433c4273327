package identity

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchid/latch/services/auth/audit"
)

// Verification is Better Auth's verification row: a secret identifier
// (e.g. "reset-password:<token>") bound to a value (e.g. a user id) until it
// expires or is consumed.
type Verification struct {
	ID         string
	Identifier string
	Value      string
	ExpiresAt  time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// MailPolicy configures the flows that mail a link: email verification and
// password reset. Defaults follow Better Auth, except RevokeSessionsOnReset.
type MailPolicy struct {
	// APIBaseURL is where links point: the base URL with its path, e.g.
	// http://localhost:3001/api/auth, as Better Auth's ctx.baseURL.
	APIBaseURL string
	// Secret signs email verification tokens (HS256 JWTs, as Better Auth's secret does).
	Secret string
	// VerificationTTL is how long a verification link works (1 h).
	VerificationTTL time.Duration
	// ResetTTL is how long a password reset link works (1 h).
	ResetTTL time.Duration
	// RequireEmailVerification refuses password sign-in until the email is verified.
	RequireEmailVerification bool
	// SendOnSignUp mails a verification link at sign-up.
	SendOnSignUp bool
	// AutoSignInAfterVerification opens a session when a link is followed.
	AutoSignInAfterVerification bool
	// RevokeSessionsOnReset ends every session of the user after a reset, so
	// whoever knew the old password is signed out. Better Auth's default is
	// false; ours is true.
	RevokeSessionsOnReset bool
	// AnonymousFloor is the least time an unauthenticated mail request
	// takes, whether or not the address has an account, so response times do
	// not tell them apart (Better Auth pads send-verification-email to 500 ms).
	AnonymousFloor time.Duration
}

// DefaultMailPolicy is Better Auth's configuration, sessions revoked on reset.
func DefaultMailPolicy() MailPolicy {
	return MailPolicy{
		VerificationTTL: time.Hour, ResetTTL: time.Hour,
		RevokeSessionsOnReset: true, AnonymousFloor: 500 * time.Millisecond,
	}
}

type mailFlows struct {
	mailer Mailer
	MailPolicy
}

// UseMail enables the flows that mail links. Without it they answer
// ErrVerificationEmailNotEnabled and ErrResetPasswordDisabled, as Better
// Auth does without its send functions.
func (s *Service) UseMail(m Mailer, p MailPolicy) {
	s.mail = mailFlows{mailer: m, MailPolicy: p}
}

// Errors of the mailed-link flows.
var (
	ErrVerificationEmailNotEnabled = errors.New("verification email isn't enabled")
	ErrResetPasswordDisabled       = errors.New("reset password isn't enabled")
	ErrEmailMismatch               = errors.New("email mismatch")
	ErrEmailAlreadyVerified        = errors.New("email is already verified")
	ErrEmailNotVerified            = errors.New("email not verified")
	ErrInvalidToken                = errors.New("invalid token")
	ErrTokenExpired                = errors.New("token expired")
	ErrUserNotFound                = errors.New("user not found")
)

// ResetTokenPrefix starts the identifier of a password reset token's
// verification row, whose value is the user's id (Better Auth's shape).
const ResetTokenPrefix = "reset-password:"

const resetPrefix = ResetTokenPrefix

// verificationClaims are Better Auth's email verification token claims.
type verificationClaims struct {
	Email       string `json:"email"`
	UpdateTo    string `json:"updateTo,omitempty"`
	UserID      string `json:"userId,omitempty"`
	RequestType string `json:"requestType,omitempty"`
	jwt.RegisteredClaims
}

// verificationToken signs Better Auth's token: an HS256 JWT keyed with the
// secret, header {"alg":"HS256"}, claims email, userId, iat, exp.
func (s *Service) verificationToken(email, userID string, now time.Time) (string, error) {
	return s.signVerification(verificationClaims{Email: email, UserID: userID}, now)
}

func (s *Service) signVerification(c verificationClaims, now time.Time) (string, error) {
	if len(s.mail.Secret) == 0 {
		return "", errors.New("email verification: no secret to sign tokens with")
	}
	c.Email, c.UpdateTo = strings.ToLower(c.Email), strings.ToLower(c.UpdateTo)
	c.RegisteredClaims = jwt.RegisteredClaims{
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.mail.VerificationTTL)),
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	tok.Header = map[string]any{"alg": "HS256"} // jose writes no typ
	return tok.SignedString([]byte(s.mail.Secret))
}

func (s *Service) parseVerificationToken(token string) (verificationClaims, error) {
	var claims verificationClaims
	if len(s.mail.Secret) == 0 {
		return claims, ErrInvalidToken
	}
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) {
		return []byte(s.mail.Secret), nil
	}, jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(s.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return claims, ErrTokenExpired
	case err != nil, !ValidEmail(claims.Email):
		return claims, ErrInvalidToken
	}
	return claims, nil
}

// verifyLink is Better Auth's verification URL; callbackURL defaults to "/".
func (s *Service) verifyLink(token, callbackURL string) string {
	if callbackURL == "" {
		callbackURL = "/"
	}
	return s.mail.APIBaseURL + "/verify-email?token=" + token + "&callbackURL=" + encodeURIComponent(callbackURL)
}

// sendVerification mails u a verification link.
func (s *Service) sendVerification(ctx context.Context, u User, callbackURL string) error {
	token, err := s.verificationToken(u.Email, u.ID, s.clock())
	if err != nil {
		return err
	}
	return s.sendMail(ctx, verificationMail(u.Email, s.verifyLink(token, callbackURL)))
}

// SendVerificationEmail mails a verification link. Signed in, it must be the
// session's own unverified address. Signed out, the answer is the same for
// any address and takes at least AnonymousFloor; the mail goes out only to
// an existing, unverified account.
func (s *Service) SendVerificationEmail(ctx context.Context, email, callbackURL string, current *Authenticated) error {
	if s.mail.mailer == nil {
		return ErrVerificationEmailNotEnabled
	}
	if !ValidEmail(email) {
		return ErrInvalidEmail
	}
	email = NormalizeEmail(email)
	if current != nil {
		if NormalizeEmail(current.User.Email) != email {
			return ErrEmailMismatch
		}
		if current.User.EmailVerified {
			return ErrEmailAlreadyVerified
		}
		return s.sendVerification(ctx, current.User, callbackURL)
	}
	return s.padded(ctx, func() error {
		u, err := s.store.UserByEmail(ctx, email)
		switch {
		case errors.Is(err, ErrNotFound) || (err == nil && u.EmailVerified):
			if _, err := s.verificationToken(email, "", s.clock()); err != nil {
				return err
			}
			return s.checkMail(ctx)
		case err != nil:
			return err
		}
		return s.sendVerification(ctx, u, callbackURL)
	})
}

// padded runs fn and then waits out the rest of AnonymousFloor.
func (s *Service) padded(ctx context.Context, fn func() error) error {
	start := time.Now()
	err := fn()
	if wait := s.mail.AnonymousFloor - time.Since(start); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return err
}

// Verified is what following a verification link did.
type Verified struct {
	User User
	// Session is set when AutoSignInAfterVerification opened one.
	Session *Session
	// EmailChanged is set when the link completed a change of address.
	EmailChanged bool
}

// VerifyEmail marks the token's address verified. Tokens are stateless
// JWTs, as in Better Auth: following a link twice verifies once and then
// answers success again, and a link stops working when it expires or its
// account is gone.
func (s *Service) VerifyEmail(ctx context.Context, token string, current *Authenticated, c Client) (Verified, error) {
	claims, err := s.parseVerificationToken(token)
	if err != nil {
		return Verified{}, err
	}
	if claims.UpdateTo != "" {
		return s.changeEmail(ctx, claims, current)
	}
	u, err := s.store.UserByEmail(ctx, NormalizeEmail(claims.Email))
	if errors.Is(err, ErrNotFound) {
		return Verified{}, ErrUserNotFound
	}
	if err != nil {
		return Verified{}, err
	}
	if claims.UserID != "" && claims.UserID != u.ID {
		return Verified{}, ErrInvalidToken
	}
	if u.EmailVerified {
		return Verified{User: u}, nil
	}
	verified := true
	u, err = s.store.UpdateUser(ctx, u.ID, UserPatch{EmailVerified: &verified}, s.clock(), s.event(ctx, c, audit.EmailVerified, u.ID, nil))
	if err != nil {
		return Verified{}, err
	}
	out := Verified{User: u}
	if s.mail.AutoSignInAfterVerification && (current == nil || current.User.Email != u.Email) {
		sess, err := s.newSession(ctx, u.ID, true, c, s.event(ctx, c, audit.SignIn, u.ID, detail(audit.DetailMethod, MethodVerificationLink)))
		if err != nil {
			return Verified{}, err
		}
		out.Session = &sess
	}
	return out, nil
}

// RequestPasswordReset mails a single-use reset link to the account with
// this email. Every address gets the same answer in at least AnonymousFloor.
// When the mail server is down the answer is ErrMailUnavailable for every
// address too: an unknown address checks the server instead of sending, so
// an outage neither loses a reset silently nor reveals who has an account.
func (s *Service) RequestPasswordReset(ctx context.Context, email, redirectTo string) error {
	if s.mail.mailer == nil {
		return ErrResetPasswordDisabled
	}
	if !ValidEmail(email) {
		return ErrInvalidEmail
	}
	return s.padded(ctx, func() error {
		u, err := s.store.UserByEmail(ctx, NormalizeEmail(email))
		if errors.Is(err, ErrNotFound) {
			// The same work as the known-address path: a token, a lookup, the mail server.
			_, err := s.store.Verification(ctx, resetPrefix+randomString(24))
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			return s.checkMail(ctx)
		}
		if err != nil {
			return err
		}
		token := randomString(24)
		now := s.clock()
		v := Verification{
			ID: NewID(), Identifier: resetPrefix + token, Value: u.ID,
			ExpiresAt: now.Add(s.mail.ResetTTL), CreatedAt: now, UpdatedAt: now,
		}
		if err := s.store.CreateVerification(ctx, v); err != nil {
			return err
		}
		link := s.mail.APIBaseURL + "/reset-password/" + token + "?callbackURL=" + encodeURIComponent(redirectTo)
		if err := s.sendMail(ctx, resetPasswordMail(u.Email, link)); err != nil {
			// Nobody holds this token; don't leave it behind.
			if derr := s.store.DeleteVerifications(context.WithoutCancel(ctx), v.Identifier); derr != nil {
				return errors.Join(err, derr)
			}
			return err
		}
		return nil
	})
}

// CheckResetToken reports whether a reset token is live (not used, not expired).
func (s *Service) CheckResetToken(ctx context.Context, token string) error {
	_, err := s.liveResetToken(ctx, token)
	return err
}

// liveResetToken is the reset token's verification row: ErrInvalidToken when
// there is none or it has expired.
func (s *Service) liveResetToken(ctx context.Context, token string) (Verification, error) {
	if token == "" {
		return Verification{}, ErrInvalidToken
	}
	v, err := s.store.Verification(ctx, resetPrefix+token)
	switch {
	case errors.Is(err, ErrNotFound):
		return Verification{}, ErrInvalidToken
	case err != nil:
		return Verification{}, err
	case v.ExpiresAt.Before(s.clock()):
		return Verification{}, ErrInvalidToken
	}
	return v, nil
}

// ResetPassword sets a new password with a reset token, consuming it. The
// user's sessions end too unless RevokeSessionsOnReset is off.
func (s *Service) ResetPassword(ctx context.Context, token, newPassword string) error {
	if token == "" {
		return ErrInvalidToken
	}
	if err := s.checkNewPassword(newPassword); err != nil {
		return err
	}
	id := resetPrefix + token
	v, err := s.liveResetToken(ctx, token)
	if err != nil {
		return err
	}
	if _, err := s.store.UserByID(ctx, v.Value); errors.Is(err, ErrNotFound) {
		return ErrUserNotFound
	} else if err != nil {
		return err
	}
	hash, err := s.hash(ctx, newPassword)
	if err != nil {
		return err
	}
	d := detail()
	if s.mail.RevokeSessionsOnReset {
		d[audit.DetailSessionsEnded] = "true"
	}
	reset := s.event(ctx, Client{}, audit.PasswordReset, v.Value, d)
	err = s.store.ResetPassword(ctx, id, v.Value, hash, s.clock(), s.mail.RevokeSessionsOnReset, reset)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidToken // another request consumed it first
	}
	return err
}

// MethodVerificationLink is the sign-in method of a session that following
// a verification link opened (AutoSignInAfterVerification).
const MethodVerificationLink = "verification-link"

// encodeURIComponent is JavaScript's, which Better Auth uses on callback URLs.
func encodeURIComponent(s string) string {
	const keep = "-_.!~*'()"
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
