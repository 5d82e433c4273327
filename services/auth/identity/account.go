package identity

import (
	"context"
	"errors"

	"github.com/latchid/latch/services/auth/audit"
)

// AccountPolicy switches the account changes Better Auth keeps off by default.
type AccountPolicy struct {
	// ChangeEmail enables change-email (user.changeEmail.enabled). The new
	// address gets a verification link; the email changes when it is followed.
	ChangeEmail bool
	// ChangeEmailWithoutVerification lets a user whose current address is
	// unverified switch at once (user.changeEmail.updateEmailWithoutVerification).
	ChangeEmailWithoutVerification bool
	// DeleteUser enables delete-user (user.deleteUser.enabled).
	DeleteUser bool
}

// UseAccountPolicy sets which account changes are allowed.
func (s *Service) UseAccountPolicy(p AccountPolicy) { s.account = p }

// Errors of the account changes.
var (
	ErrChangeEmailDisabled = errors.New("change email is disabled")
	ErrEmailIsTheSame      = errors.New("email is the same")
	// ErrNoEmailChangeFlow: no way to confirm a new address is configured.
	ErrNoEmailChangeFlow  = errors.New("verification email isn't enabled")
	ErrDeleteUserDisabled = errors.New("delete user is disabled")
	ErrSessionExpired     = errors.New("session expired: re-authenticate")
	ErrInvalidUser        = errors.New("invalid user")
	ErrDeleteTokenInvalid = errors.New("invalid account deletion token")
)

const changeEmailVerification = "change-email-verification"

// ChangeEmail starts moving the signed-in user to newEmail. An address that
// already has an account gets the same answer and no mail, as in Better Auth.
// Returns the user when the email changed at once (unverified user with
// ChangeEmailWithoutVerification).
func (s *Service) ChangeEmail(ctx context.Context, auth Authenticated, newEmail, callbackURL string) (*User, error) {
	if !s.account.ChangeEmail {
		return nil, ErrChangeEmailDisabled
	}
	if !ValidEmail(newEmail) {
		return nil, ErrInvalidEmail
	}
	newEmail = NormalizeEmail(newEmail)
	if newEmail == auth.User.Email {
		return nil, ErrEmailIsTheSame
	}
	direct := !auth.User.EmailVerified && s.account.ChangeEmailWithoutVerification
	if !direct && s.mail.mailer == nil {
		return nil, ErrNoEmailChangeFlow
	}
	// A request to a taken address is recorded like any other: the trail
	// must not tell its reader who else has an account.
	requested := s.event(ctx, Client{}, audit.EmailChangeRequested, auth.User.ID, nil)
	if _, err := s.store.UserByEmail(ctx, newEmail); err == nil {
		if s.mail.mailer != nil {
			if err := s.checkMail(ctx); err != nil { // the same dependency as the mailing path
				return nil, err
			}
		}
		return nil, s.store.RecordAudit(ctx, requested)
	} else if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	now := s.clock()
	if direct {
		changed := s.event(ctx, Client{}, audit.EmailChanged, auth.User.ID, detail(audit.DetailVia, "direct"))
		u, err := s.store.UpdateUser(ctx, auth.User.ID, UserPatch{Email: &newEmail}, now, changed)
		if errors.Is(err, ErrConflict) {
			return nil, nil // taken meanwhile: the same answer as above
		}
		if err != nil {
			return nil, err
		}
		if s.mail.mailer != nil {
			if err := s.sendVerification(ctx, u, callbackURL); err != nil {
				return &u, err
			}
		}
		return &u, nil
	}
	token, err := s.signVerification(verificationClaims{
		Email: auth.User.Email, UpdateTo: newEmail, UserID: auth.User.ID, RequestType: changeEmailVerification,
	}, now)
	if err != nil {
		return nil, err
	}
	to := auth.User
	to.Email = newEmail
	if err := s.sendMail(ctx, verificationMail(to.Email, s.verifyLink(token, callbackURL))); err != nil {
		return nil, err
	}
	return nil, s.store.RecordAudit(ctx, requested)
}

// changeEmail completes a change-email link: the token is bound to the
// user and the old address; the signed-in user, if any, must be that user.
func (s *Service) changeEmail(ctx context.Context, claims verificationClaims, current *Authenticated) (Verified, error) {
	if claims.UserID == "" {
		return Verified{}, ErrInvalidToken
	}
	u, err := s.store.UserByID(ctx, claims.UserID)
	if errors.Is(err, ErrNotFound) {
		return Verified{}, ErrUserNotFound
	}
	if err != nil {
		return Verified{}, err
	}
	if NormalizeEmail(u.Email) != NormalizeEmail(claims.Email) {
		return Verified{}, ErrInvalidToken // already changed, or changed since: the link is stale
	}
	if current != nil && current.User.ID != u.ID {
		return Verified{}, ErrInvalidUser
	}
	if claims.RequestType != changeEmailVerification {
		return Verified{}, ErrInvalidToken // other Better Auth flows (confirmation mails) are not issued here
	}
	to := NormalizeEmail(claims.UpdateTo)
	if !ValidEmail(to) {
		return Verified{}, ErrInvalidToken
	}
	// The link was followed from the new address; Better Auth keeps the
	// verified flag the user had.
	verified := u.EmailVerified
	changed := s.event(ctx, Client{}, audit.EmailChanged, u.ID, detail(audit.DetailVia, "link"))
	u, err = s.store.UpdateUser(ctx, u.ID, UserPatch{Email: &to, EmailVerified: &verified}, s.clock(), changed)
	if errors.Is(err, ErrConflict) {
		return Verified{}, ErrUserExists
	}
	if err != nil {
		return Verified{}, err
	}
	return Verified{User: u, EmailChanged: true}, nil
}

// DeleteUser deletes the signed-in user with their sessions and accounts. It
// takes the password, or else a session younger than FreshAge. Deletion by
// a mailed token (Better Auth's sendDeleteAccountVerification) is not
// offered, so a token, checked after the password as there, is never valid.
func (s *Service) DeleteUser(ctx context.Context, auth Authenticated, password *string, token string) error {
	if !s.account.DeleteUser {
		return ErrDeleteUserDisabled
	}
	if password != nil && *password != "" {
		if s.length(*password) > s.policy.MaxPasswordLength {
			return ErrPasswordTooLong
		}
		acct, err := s.store.CredentialAccount(ctx, auth.User.ID)
		if errors.Is(err, ErrNotFound) || (err == nil && acct.Password == nil) {
			return ErrCredentialAccountNotFound
		}
		if err != nil {
			return err
		}
		ok, err := s.verify(ctx, *acct.Password, *password)
		if err != nil || !ok {
			return ErrInvalidPassword
		}
	}
	if token != "" {
		return ErrDeleteTokenInvalid
	}
	if (password == nil || *password == "") && s.policy.FreshAge > 0 && s.clock().Sub(auth.Session.CreatedAt) >= s.policy.FreshAge {
		return ErrSessionExpired
	}
	return s.store.DeleteUser(ctx, auth.User.ID, s.event(ctx, Client{}, audit.AccountDeleted, auth.User.ID, nil))
}
