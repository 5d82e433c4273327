package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/twofactor"
)

// Errors of the two-factor plugin. Transports map each to Better Auth's answer.
var (
	ErrTwoFactorNotEnabled    = errors.New("two factor isn't enabled")
	ErrTOTPNotEnabled         = errors.New("totp not enabled")
	ErrTOTPAlreadyEnabled     = errors.New("totp is already enabled")
	ErrBackupCodesNotEnabled  = errors.New("backup codes aren't enabled")
	ErrInvalidCode            = errors.New("invalid code")
	ErrInvalidBackupCode      = errors.New("invalid backup code")
	ErrOTPExpired             = errors.New("otp has expired")
	ErrTooManyAttempts        = errors.New("too many attempts, request a new code")
	ErrAccountLocked          = errors.New("account temporarily locked")
	ErrInvalidTwoFactorCookie = errors.New("invalid two factor cookie")
	ErrFailedToCreateSession  = errors.New("failed to create session")
	ErrBackupCodeConflict     = errors.New("backup code used concurrently")
	ErrTwoFactorOff           = errors.New("two-factor plugin is off")
)

// TwoFactor is a user's two_factor row: the sealed TOTP secret and backup
// codes (Better Auth's symmetricEncrypt), and the lockout counters.
type TwoFactor struct {
	ID          string
	UserID      string
	Secret      string // sealed
	BackupCodes string // sealed JSON array
	Verified    bool
	FailedCount int
	LockedUntil *time.Time
	// LastStep is the last TOTP time step accepted (Latch's own column).
	LastStep *int64
}

// TwoFactorStore keeps two_factor rows and consumes verification rows.
// Implementations return ErrNotFound, or errors wrapping ErrUnavailable.
type TwoFactorStore interface {
	TwoFactorByUser(ctx context.Context, userID string) (TwoFactor, error)
	// SaveTwoFactor inserts the user's row or replaces its secret, codes and verified flag.
	SaveTwoFactor(ctx context.Context, tf TwoFactor) error
	DeleteTwoFactor(ctx context.Context, userID string) error
	SetTwoFactorVerified(ctx context.Context, id string) error
	SetBackupCodes(ctx context.Context, id, sealed string, events ...audit.Event) error
	// SwapBackupCodes replaces old with new only if the row still holds old.
	SwapBackupCodes(ctx context.Context, id, old, new string, events ...audit.Event) (bool, error)
	// UseTOTPStep records step as used if it is later than the last one.
	UseTOTPStep(ctx context.Context, id string, step int64) (bool, error)
	// RecordTwoFactorFailure counts one failure atomically and locks the
	// row until lockUntil once the count reaches maxFailures.
	RecordTwoFactorFailure(ctx context.Context, id string, maxFailures int, lockUntil time.Time) error
	ResetTwoFactorFailures(ctx context.Context, id string) error
	// CreateChallenge writes a sign-in's pending second factor, its
	// challenge and attempt-counter verification rows, and the events, in
	// one transaction.
	CreateChallenge(ctx context.Context, challenge, attempts Verification, events ...audit.Event) error
	// CompleteChallenge consumes the sign-in challenge (the newest row with
	// identifier, which must name sess.UserID) and creates sess with the
	// events, in one transaction: ErrNotFound, and nothing written, when
	// no such challenge is left (a concurrent call took it).
	CompleteChallenge(ctx context.Context, identifier string, sess Session, events ...audit.Event) error
	// ConsumeVerification deletes the newest row with identifier and returns
	// it; ErrNotFound when none is left (a concurrent call took it).
	ConsumeVerification(ctx context.Context, identifier string) (Verification, error)
}

// Sealer seals values as Better Auth's symmetricEncrypt does (sealedbox.Keyring).
type Sealer interface {
	Seal(plaintext []byte) (string, error)
	Open(sealed string) ([]byte, error)
}

// TwoFactorPolicy tunes the plugin; DefaultTwoFactorPolicy is Better Auth's.
type TwoFactorPolicy struct {
	Issuer  string
	TOTP    twofactor.TOTP
	Lockout twofactor.Lockout
}

// DefaultTwoFactorPolicy is Better Auth's plugin with default options.
func DefaultTwoFactorPolicy() TwoFactorPolicy {
	return TwoFactorPolicy{Issuer: "Better Auth", TOTP: twofactor.DefaultTOTP(), Lockout: twofactor.DefaultLockout()}
}

type twoFactorFlows struct {
	store  TwoFactorStore
	sealer Sealer
	policy TwoFactorPolicy
}

// UseTwoFactor switches the two-factor plugin on.
func (s *Service) UseTwoFactor(store TwoFactorStore, sealer Sealer, policy TwoFactorPolicy) {
	s.twoFactor = &twoFactorFlows{store: store, sealer: sealer, policy: policy}
}

// RFC 8176 methods recorded on sessions opened through a second factor.
const (
	// AMROTP: password, then a TOTP or a mailed one-time code.
	AMROTP = "pwd,otp"
	// AMRBackupCode: password, then a backup code. "mfa" (RFC 8176: several
	// factors) rather than "otp": a backup code is neither RFC 4226 nor 6238.
	AMRBackupCode = "pwd,mfa"
)

// checkPassword is Better Auth's checkPassword: no credential account or a
// wrong password is ErrInvalidPassword.
func (s *Service) checkPassword(ctx context.Context, userID, password string) error {
	if s.length(password) > s.policy.MaxPasswordLength {
		return ErrPasswordTooLong
	}
	account, err := s.store.CredentialAccount(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && account.Password == nil) || (err == nil && password == "") {
		if password != "" {
			if _, err := s.hash(ctx, password); err != nil {
				return err
			}
		}
		return ErrInvalidPassword
	}
	if err != nil {
		return err
	}
	ok, err := s.verify(ctx, *account.Password, password)
	if err != nil || !ok {
		return ErrInvalidPassword
	}
	return nil
}

// EnableResult is enable's answer: a TOTP enrolment to confirm, or (method
// otp) 2FA switched on and the session replaced.
type EnableResult struct {
	Method      string
	TOTPURI     string
	BackupCodes []string
	Session     *Session
	User        User
}

// EnableTwoFactor checks the password, then either starts a TOTP enrolment
// (2FA turns on at the first verified code) or, with method "otp", turns
// 2FA on at once with mailed codes. Turning it on ends the user's other sessions.
func (s *Service) EnableTwoFactor(ctx context.Context, auth Authenticated, password, method, issuer string, c Client) (EnableResult, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return EnableResult{}, err
	}
	if err := s.checkPassword(ctx, auth.User.ID, password); err != nil {
		return EnableResult{}, err
	}
	if method == "otp" {
		user, sess, err := s.switchTwoFactor(ctx, auth, true, c, audit.MethodOTP)
		if err != nil {
			return EnableResult{}, err
		}
		return EnableResult{Method: "otp", Session: &sess, User: user}, nil
	}
	existing, err := tf.store.TwoFactorByUser(ctx, auth.User.ID)
	switch {
	case err == nil && existing.Verified:
		return EnableResult{}, ErrTOTPAlreadyEnabled
	case err != nil && !errors.Is(err, ErrNotFound):
		return EnableResult{}, err
	}
	secret := twofactor.NewSecret()
	codes := twofactor.NewBackupCodes()
	sealedSecret, err := tf.sealer.Seal([]byte(secret))
	if err != nil {
		return EnableResult{}, err
	}
	sealedCodes, err := sealCodes(tf.sealer, codes)
	if err != nil {
		return EnableResult{}, err
	}
	row := TwoFactor{ID: existing.ID, UserID: auth.User.ID, Secret: sealedSecret, BackupCodes: sealedCodes}
	if row.ID == "" {
		row.ID = NewID()
	}
	if err := tf.store.SaveTwoFactor(ctx, row); err != nil {
		return EnableResult{}, err
	}
	key, _ := secret.Key()
	if issuer == "" {
		issuer = tf.policy.Issuer
	}
	return EnableResult{Method: "totp", TOTPURI: twofactor.URI(key, issuer, auth.User.Email, tf.policy.TOTP), BackupCodes: codes}, nil
}

// DisableTwoFactor checks the password, turns 2FA off, deletes the secret
// and backup codes and the device trust named by trustID, replaces the
// session and ends the user's other sessions.
func (s *Service) DisableTwoFactor(ctx context.Context, auth Authenticated, password, trustID string, c Client) (User, Session, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return User{}, Session{}, err
	}
	if err := s.checkPassword(ctx, auth.User.ID, password); err != nil {
		return User{}, Session{}, err
	}
	if err := tf.store.DeleteTwoFactor(ctx, auth.User.ID); err != nil {
		return User{}, Session{}, err
	}
	user, sess, err := s.switchTwoFactor(ctx, auth, false, c, "")
	if err != nil {
		return User{}, Session{}, err
	}
	if trustID != "" {
		if err := s.store.DeleteVerifications(ctx, trustID); err != nil {
			return User{}, Session{}, err
		}
	}
	return user, sess, nil
}

// switchTwoFactor sets the user's flag, opens a new session in place of the
// current one and ends every other session. The two-factor event records
// the change; the sessions it ends get no session-revoked event of their own.
func (s *Service) switchTwoFactor(ctx context.Context, auth Authenticated, on bool, c Client, via string) (User, Session, error) {
	ev := s.event(ctx, c, audit.TwoFactorDisabled, auth.User.ID, nil)
	if on {
		ev = s.event(ctx, c, audit.TwoFactorEnabled, auth.User.ID, detail(audit.DetailVia, via))
	}
	user, err := s.store.UpdateUser(ctx, auth.User.ID, UserPatch{TwoFactorEnabled: &on}, s.clock(), ev)
	if err != nil {
		return User{}, Session{}, err
	}
	sess, err := s.newSession(ctx, user.ID, true, c)
	if err != nil {
		return User{}, Session{}, err
	}
	if err := s.store.DeleteOtherSessions(ctx, user.ID, sess.Token); err != nil {
		return User{}, Session{}, err
	}
	return user, sess, nil
}

// TOTPURI answers the enrolled secret's URI again, after the password.
func (s *Service) TOTPURI(ctx context.Context, user User, password string) (string, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return "", err
	}
	row, err := tf.store.TwoFactorByUser(ctx, user.ID)
	if errors.Is(err, ErrNotFound) {
		return "", ErrTOTPNotEnabled
	}
	if err != nil {
		return "", err
	}
	key, err := tf.key(row)
	if err != nil {
		return "", err
	}
	if err := s.checkPassword(ctx, user.ID, password); err != nil {
		return "", err
	}
	return twofactor.URI(key, tf.policy.Issuer, user.Email, tf.policy.TOTP), nil
}

// GenerateBackupCodes replaces the backup codes, after the password.
func (s *Service) GenerateBackupCodes(ctx context.Context, user User, password string) ([]string, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return nil, err
	}
	if !user.TwoFactorEnabled {
		return nil, ErrTwoFactorNotEnabled
	}
	if err := s.checkPassword(ctx, user.ID, password); err != nil {
		return nil, err
	}
	row, err := tf.store.TwoFactorByUser(ctx, user.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrTwoFactorNotEnabled
	}
	if err != nil {
		return nil, err
	}
	codes := twofactor.NewBackupCodes()
	sealed, err := sealCodes(tf.sealer, codes)
	if err != nil {
		return nil, err
	}
	return codes, tf.store.SetBackupCodes(ctx, row.ID, sealed, s.event(ctx, Client{}, audit.BackupCodesRegenerated, user.ID, nil))
}

// SignInChallenge is what a password sign-in of a 2FA user leads to: either
// a trusted device (Session opened; NewTrustID replaces the old trust), or
// a pending challenge (no session).
type SignInChallenge struct {
	Trusted    bool
	NewTrustID string
	// Session is the session a trusted device signs in to.
	Session *Session
	// ChallengeID names the pending second factor (the two_factor cookie).
	ChallengeID string
	Methods     []string
}

// BeginSecondFactor finishes the password step of a user SignIn answered
// SecondFactorDue for. trustID is the trust_device cookie's identifier when
// its MAC checked out for this user ("" otherwise): a live trust record
// opens the session at once. Otherwise the challenge, its attempt counter
// and the step's sign-in event are written in one transaction and no
// session is opened: Better Auth opens one and deletes it again, which
// the client never sees, and which here would cost a session row, its
// deletion and a revocation event on every 2FA sign-in.
func (s *Service) BeginSecondFactor(ctx context.Context, user User, remember bool, c Client, trustID string) (SignInChallenge, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return SignInChallenge{}, err
	}
	now := s.clock()
	// The password was right; the second factor records its own sign-in.
	passed := s.event(ctx, c, audit.SignIn, user.ID, detail(audit.DetailMethod, audit.MethodEmail, audit.DetailSecondFactor, audit.SecondFactorRequired))
	if trustID != "" {
		v, err := s.store.Verification(ctx, trustID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return SignInChallenge{}, err
		}
		if err == nil && v.Value == user.ID && v.ExpiresAt.After(now) {
			// A session opens on the password alone: the trail says why.
			passed.Detail[audit.DetailSecondFactor] = audit.SecondFactorTrustedDevice
			sess, err := s.newSession(ctx, user.ID, remember, c, passed)
			if err != nil {
				return SignInChallenge{}, err
			}
			if err := s.store.DeleteVerifications(ctx, trustID); err != nil {
				return SignInChallenge{}, err
			}
			next := twofactor.NewTrustID()
			if err := s.createVerification(ctx, next, user.ID, now.Add(twofactor.TrustDeviceTTL)); err != nil {
				return SignInChallenge{}, err
			}
			return SignInChallenge{Trusted: true, NewTrustID: next, Session: &sess}, nil
		}
	}
	methods := []string{}
	row, err := tf.store.TwoFactorByUser(ctx, user.ID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return SignInChallenge{}, err
	}
	if err == nil && row.Verified {
		methods = append(methods, "totp")
	}
	if s.mail.mailer != nil {
		methods = append(methods, "otp")
	}
	id := twofactor.NewChallengeID()
	expires := now.Add(twofactor.ChallengeTTL)
	challenge := Verification{ID: NewID(), Identifier: id, Value: user.ID, ExpiresAt: expires, CreatedAt: now, UpdatedAt: now}
	attempts := Verification{ID: NewID(), Identifier: attemptsID(id), Value: "0", ExpiresAt: expires, CreatedAt: now, UpdatedAt: now}
	if err := tf.store.CreateChallenge(ctx, challenge, attempts, passed); err != nil {
		return SignInChallenge{}, err
	}
	return SignInChallenge{ChallengeID: id, Methods: methods}, nil
}

func attemptsID(challenge string) string { return "2fa-attempts-" + challenge }

func (s *Service) createVerification(ctx context.Context, identifier, value string, expires time.Time) error {
	now := s.clock()
	return s.store.CreateVerification(ctx, Verification{
		ID: NewID(), Identifier: identifier, Value: value, ExpiresAt: expires, CreatedAt: now, UpdatedAt: now,
	})
}

// Factor is who a second factor is being verified for: a pending sign-in
// (Challenge set, Session nil) or a signed-in user (Session set).
type Factor struct {
	User      User
	Session   *Session
	Challenge string
	// RememberMe: the sign-in had "remember me" on (no dont_remember cookie).
	RememberMe bool
	// TrustDevice asks for a trust_device record on success.
	TrustDevice bool
	Client      Client
}

func (f Factor) signIn() bool { return f.Session == nil }

// otpKey is Better Auth's key for a mailed code.
func (f Factor) otpKey() string {
	if f.signIn() {
		return f.Challenge
	}
	return f.User.ID + "!" + f.Session.ID
}

// ResolveChallenge finds the user a live two_factor cookie's challenge is for.
func (s *Service) ResolveChallenge(ctx context.Context, challenge string) (User, error) {
	if _, err := s.twoFactorOn(); err != nil {
		return User{}, err
	}
	v, err := s.store.Verification(ctx, challenge)
	if errors.Is(err, ErrNotFound) || (err == nil && !v.ExpiresAt.After(s.clock())) {
		return User{}, ErrInvalidTwoFactorCookie
	}
	if err != nil {
		return User{}, err
	}
	user, err := s.store.UserByID(ctx, v.Value)
	if errors.Is(err, ErrNotFound) {
		return User{}, ErrInvalidTwoFactorCookie
	}
	return user, err
}

// FactorResult is a successful second factor: the session to use (new at sign-in
// or when the session was replaced), and the trust record when asked for.
type FactorResult struct {
	User    User
	Session *Session // nil: verify-backup-code with disableSession at sign-in
	// NewSession: the transport sets the session cookie.
	NewSession bool
	TrustID    string
}

// attempt is one try against a sign-in challenge's budget of wrong codes.
type attempt struct {
	s         *Service
	id        string
	failed    int
	expiresAt time.Time
}

// beginAttempt consumes the challenge's counter; a spent budget kills the
// challenge (ErrTooManyAttempts, even for a right code).
func (s *Service) beginAttempt(ctx context.Context, f Factor) (*attempt, error) {
	if !f.signIn() {
		return nil, nil
	}
	v, err := s.twoFactor.store.ConsumeVerification(ctx, attemptsID(f.Challenge))
	if errors.Is(err, ErrNotFound) {
		return nil, ErrInvalidTwoFactorCookie
	}
	if err != nil {
		return nil, err
	}
	failed, perr := strconv.Atoi(v.Value)
	if perr != nil || failed < 0 {
		failed = twofactor.AttemptsPerChallenge
	}
	if twofactor.AttemptsSpent(failed) {
		if _, err := s.twoFactor.store.ConsumeVerification(ctx, f.Challenge); err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		return nil, ErrTooManyAttempts
	}
	return &attempt{s: s, id: attemptsID(f.Challenge), failed: failed, expiresAt: v.ExpiresAt}, nil
}

func (a *attempt) rearm(ctx context.Context, failed int) error {
	if a == nil {
		return nil
	}
	return a.s.createVerification(ctx, a.id, strconv.Itoa(failed), a.expiresAt)
}

// checkLock refuses a locked account and clears an expired lock.
func (s *Service) checkLock(ctx context.Context, f Factor, row TwoFactor) error {
	if !f.signIn() || row.LockedUntil == nil {
		return nil
	}
	if twofactor.Locked(row.LockedUntil, s.clock()) {
		return ErrAccountLocked
	}
	return s.twoFactor.store.ResetTwoFactorFailures(ctx, row.ID)
}

// clearFailures resets the row's failure count after a right code. A row
// read with no failures and no lock is left alone: most sign-ins then save
// a write and its commit.
func (s *Service) clearFailures(ctx context.Context, row TwoFactor) error {
	if row.FailedCount == 0 && row.LockedUntil == nil {
		return nil
	}
	return s.twoFactor.store.ResetTwoFactorFailures(ctx, row.ID)
}

func (s *Service) recordFailure(ctx context.Context, f Factor, row TwoFactor) error {
	if !f.signIn() {
		return nil
	}
	lock := s.twoFactor.policy.Lockout
	return s.twoFactor.store.RecordTwoFactorFailure(ctx, row.ID, lock.MaxFailures, s.clock().Add(lock.Duration))
}

// VerifyTOTP checks an authenticator code. A code is accepted once: its
// time step must be later than the last accepted one (Better Auth accepts
// replays). The first good code after enable turns 2FA on.
func (s *Service) VerifyTOTP(ctx context.Context, f Factor, code string) (FactorResult, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return FactorResult{}, err
	}
	row, err := tf.store.TwoFactorByUser(ctx, f.User.ID)
	if errors.Is(err, ErrNotFound) || (err == nil && f.signIn() && !row.Verified) {
		return FactorResult{}, ErrTOTPNotEnabled
	}
	if err != nil {
		return FactorResult{}, err
	}
	if err := s.checkLock(ctx, f, row); err != nil {
		return FactorResult{}, err
	}
	att, err := s.beginAttempt(ctx, f)
	if err != nil {
		return FactorResult{}, err
	}
	key, err := tf.key(row)
	if err != nil {
		_ = att.rearm(ctx, att.failedOr0())
		return FactorResult{}, err
	}
	step, ok := tf.policy.TOTP.Verify(key, code, s.clock())
	if ok {
		if ok, err = tf.store.UseTOTPStep(ctx, row.ID, step); err != nil {
			_ = att.rearm(ctx, att.failedOr0())
			return FactorResult{}, err
		}
	}
	if !ok {
		if err := att.rearm(ctx, att.failedOr0()+1); err != nil {
			return FactorResult{}, err
		}
		if err := s.recordFailure(ctx, f, row); err != nil {
			return FactorResult{}, err
		}
		return FactorResult{}, s.factorRefused(ctx, f, audit.MethodTOTP, ErrInvalidCode)
	}
	if f.signIn() {
		if err := s.clearFailures(ctx, row); err != nil {
			return FactorResult{}, err
		}
	}
	if !row.Verified {
		if err := tf.store.SetTwoFactorVerified(ctx, row.ID); err != nil {
			return FactorResult{}, err
		}
	}
	// A signed-in user with the flag off turns 2FA on here. Better Auth
	// does so only while the row is unverified; Latch also when it is
	// verified, so a retry finishes an enrolment a database outage cut short.
	if !f.signIn() && !f.User.TwoFactorEnabled {
		user, sess, err := s.switchTwoFactor(ctx, Authenticated{Session: *f.Session, User: f.User}, true, f.Client, audit.MethodTOTP)
		if err != nil {
			return FactorResult{}, err
		}
		return FactorResult{User: user, Session: &sess, NewSession: true}, nil
	}
	return s.completeFactor(ctx, f, AMROTP, audit.MethodTOTP, false)
}

// factorRefused records a wrong code at sign-in's second step and answers
// cause; a wrong code from a signed-in user (enrolment) changes no sign-in
// and is not recorded.
func (s *Service) factorRefused(ctx context.Context, f Factor, method string, cause error) error {
	if !f.signIn() {
		return cause
	}
	return s.failed(ctx, f.Client, f.User.ID, detail(audit.DetailMethod, method, audit.DetailReason, "invalid-code"), cause)
}

func (a *attempt) failedOr0() int {
	if a == nil {
		return 0
	}
	return a.failed
}

// completeFactor ends a successful verification: at sign-in it consumes the
// challenge and opens the session (with amr); otherwise the session stands.
// endOthers ends the user's other sessions (a backup code was spent).
func (s *Service) completeFactor(ctx context.Context, f Factor, amr, method string, endOthers bool) (FactorResult, error) {
	if !f.signIn() {
		if endOthers {
			if err := s.store.DeleteOtherSessions(ctx, f.User.ID, f.Session.Token); err != nil {
				return FactorResult{}, err
			}
		}
		return FactorResult{User: f.User, Session: f.Session}, nil
	}
	sess := s.sessionFor(f.User.ID, f.RememberMe, f.Client, s.clock())
	sess.AMR = amr
	err := s.twoFactor.store.CompleteChallenge(ctx, f.Challenge, sess, s.event(ctx, f.Client, audit.SignIn, f.User.ID, detail(audit.DetailMethod, method)))
	if errors.Is(err, ErrNotFound) {
		return FactorResult{}, ErrInvalidTwoFactorCookie
	}
	if err != nil {
		return FactorResult{}, err
	}
	if endOthers {
		if err := s.store.DeleteOtherSessions(ctx, f.User.ID, sess.Token); err != nil {
			return FactorResult{}, err
		}
	}
	out := FactorResult{User: f.User, Session: &sess, NewSession: true}
	if f.TrustDevice {
		out.TrustID = twofactor.NewTrustID()
		if err := s.createVerification(ctx, out.TrustID, f.User.ID, s.clock().Add(twofactor.TrustDeviceTTL)); err != nil {
			return FactorResult{}, err
		}
	}
	return out, nil
}

// VerifyBackupCode spends a backup code; the user's other sessions end.
// With disableSession at sign-in no session is opened (Better Auth's option).
func (s *Service) VerifyBackupCode(ctx context.Context, f Factor, code string, disableSession bool) (FactorResult, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return FactorResult{}, err
	}
	row, err := tf.store.TwoFactorByUser(ctx, f.User.ID)
	if errors.Is(err, ErrNotFound) {
		return FactorResult{}, ErrBackupCodesNotEnabled
	}
	if err != nil {
		return FactorResult{}, err
	}
	if err := s.checkLock(ctx, f, row); err != nil {
		return FactorResult{}, err
	}
	att, err := s.beginAttempt(ctx, f)
	if err != nil {
		return FactorResult{}, err
	}
	codes, err := openCodes(tf.sealer, row.BackupCodes)
	if err != nil {
		_ = att.rearm(ctx, att.failedOr0())
		return FactorResult{}, err
	}
	left, ok := twofactor.UseBackupCode(codes, code)
	if !ok {
		if err := att.rearm(ctx, att.failedOr0()+1); err != nil {
			return FactorResult{}, err
		}
		if err := s.recordFailure(ctx, f, row); err != nil {
			return FactorResult{}, err
		}
		return FactorResult{}, s.factorRefused(ctx, f, audit.MethodBackupCode, ErrInvalidBackupCode)
	}
	sealed, err := sealCodes(tf.sealer, left)
	if err != nil {
		return FactorResult{}, err
	}
	swapped, err := tf.store.SwapBackupCodes(ctx, row.ID, row.BackupCodes, sealed, s.event(ctx, f.Client, audit.BackupCodeUsed, f.User.ID, nil))
	if err != nil {
		return FactorResult{}, err
	}
	if !swapped {
		return FactorResult{}, ErrBackupCodeConflict
	}
	if f.signIn() {
		if err := s.clearFailures(ctx, row); err != nil {
			return FactorResult{}, err
		}
		if disableSession {
			return FactorResult{User: f.User}, nil
		}
	}
	return s.completeFactor(ctx, f, AMRBackupCode, audit.MethodBackupCode, true)
}

// SendOTP mails a one-time code for f, good for OTPTTL.
func (s *Service) SendOTP(ctx context.Context, f Factor) error {
	if _, err := s.twoFactorOn(); err != nil {
		return err
	}
	if s.mail.mailer == nil {
		return ErrOTPNotConfigured
	}
	code := twofactor.NewOTP()
	if err := s.createVerification(ctx, "2fa-otp-"+f.otpKey(), code+":0", s.clock().Add(twofactor.OTPTTL)); err != nil {
		return err
	}
	return s.sendMail(ctx, Mail{
		To:      f.User.Email,
		Subject: "Your verification code",
		Text:    fmt.Sprintf("Your verification code is %s. It expires in %d minutes.", code, int(twofactor.OTPTTL/time.Minute)),
		OTP:     code,
	})
}

// ErrOTPNotConfigured: no mailer to send codes with.
var ErrOTPNotConfigured = errors.New("otp isn't configured")

// VerifyOTP checks a mailed code (five wrong tries per code). A signed-in
// user without 2FA turns it on this way; unlike Better Auth (which asks
// nothing), Latch asks for a fresh session or the password, as enable does.
func (s *Service) VerifyOTP(ctx context.Context, f Factor, code, password string) (FactorResult, error) {
	tf, err := s.twoFactorOn()
	if err != nil {
		return FactorResult{}, err
	}
	var row *TwoFactor
	if f.signIn() {
		r, err := tf.store.TwoFactorByUser(ctx, f.User.ID)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return FactorResult{}, err
		}
		if err == nil {
			row = &r
			if err := s.checkLock(ctx, f, r); err != nil {
				return FactorResult{}, err
			}
		}
	}
	key := "2fa-otp-" + f.otpKey()
	v, err := tf.store.ConsumeVerification(ctx, key)
	if errors.Is(err, ErrNotFound) || (err == nil && !v.ExpiresAt.After(s.clock())) {
		return FactorResult{}, ErrOTPExpired
	}
	if err != nil {
		return FactorResult{}, err
	}
	stored, counter, _ := strings.Cut(v.Value, ":")
	failed, _ := strconv.Atoi(counter)
	if twofactor.AttemptsSpent(failed) {
		return FactorResult{}, ErrTooManyAttempts
	}
	if !twofactor.SameOTP(stored, code) {
		if err := s.createVerification(ctx, key, stored+":"+strconv.Itoa(failed+1), v.ExpiresAt); err != nil {
			return FactorResult{}, err
		}
		if row != nil {
			if err := s.recordFailure(ctx, f, *row); err != nil {
				return FactorResult{}, err
			}
		}
		return FactorResult{}, s.factorRefused(ctx, f, audit.MethodOTP, ErrInvalidCode)
	}
	if row != nil {
		if err := s.clearFailures(ctx, *row); err != nil {
			return FactorResult{}, err
		}
	}
	if !f.User.TwoFactorEnabled {
		if f.signIn() {
			return FactorResult{}, ErrFailedToCreateSession
		}
		if s.RequireFresh(*f.Session) != nil {
			if err := s.checkPassword(ctx, f.User.ID, password); err != nil {
				return FactorResult{}, ErrSessionNotFresh
			}
		}
		user, sess, err := s.switchTwoFactor(ctx, Authenticated{Session: *f.Session, User: f.User}, true, f.Client, audit.MethodOTP)
		if err != nil {
			return FactorResult{}, err
		}
		return FactorResult{User: user, Session: &sess, NewSession: true}, nil
	}
	return s.completeFactor(ctx, f, AMROTP, audit.MethodOTP, false)
}

func (s *Service) twoFactorOn() (*twoFactorFlows, error) {
	if s.twoFactor == nil {
		return nil, ErrTwoFactorOff
	}
	return s.twoFactor, nil
}

func (tf *twoFactorFlows) key(row TwoFactor) ([]byte, error) {
	plain, err := tf.sealer.Open(row.Secret)
	if err != nil {
		return nil, fmt.Errorf("open totp secret: %w", err)
	}
	return twofactor.Secret(plain).Key()
}

func sealCodes(sealer Sealer, codes []string) (string, error) {
	b, err := json.Marshal(codes)
	if err != nil {
		return "", err
	}
	return sealer.Seal(b)
}

func openCodes(sealer Sealer, sealed string) ([]string, error) {
	plain, err := sealer.Open(sealed)
	if err != nil {
		return nil, fmt.Errorf("open backup codes: %w", err)
	}
	var codes []string
	if err := json.Unmarshal(plain, &codes); err != nil {
		return nil, nil // Better Auth's safeJSONParse: unreadable codes match nothing
	}
	return codes, nil
}
