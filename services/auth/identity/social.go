package identity

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/latchid/latch/services/auth/audit"
)

// OAuthProvider is a social sign-in provider (Google) as the flows need it.
type OAuthProvider interface {
	ID() string
	Issuer() string
	AuthURL(state, codeVerifier string, extraScopes []string, loginHint, nonce string) string
	// Exchange trades a code for tokens and the verified ID token's profile;
	// errors wrap ErrOAuthCode or ErrOAuthIDToken.
	Exchange(ctx context.Context, code, codeVerifier, nonce string) (OAuthTokens, OAuthProfile, error)
	// VerifyIDToken checks an ID token a client obtained itself (signature,
	// iss, aud, exp, age, nonce when given); errors wrap ErrOAuthIDToken.
	VerifyIDToken(ctx context.Context, raw, nonce string) (OAuthProfile, error)
}

// OAuthTokens are what the provider granted, kept on the account row.
type OAuthTokens struct {
	AccessToken, RefreshToken, IDToken string
	AccessTokenExpiresAt               *time.Time
	Scopes                             []string
}

// OAuthProfile is the user as the provider's verified ID token describes them.
type OAuthProfile struct {
	Subject       string
	Email         string
	EmailVerified bool
	Name          string
	Image         *string
}

// LinkingPolicy is Better Auth's account.accountLinking.
type LinkingPolicy struct {
	// Enabled allows signing in to an existing account (same email) with a
	// provider, and link-social. Default true.
	Enabled bool
	// TrustedProviders link even when the provider does not say the email is verified.
	TrustedProviders []string
	// AllowDifferentEmails lets link-social attach an account with another email.
	AllowDifferentEmails bool
}

// Errors of social sign-in. The callback answers each with a redirect
// carrying Better Auth's error code (OAuthError).
var (
	ErrProviderNotFound      = errors.New("provider not found")
	ErrOAuthCode             = errors.New("the provider refused the authorization code")
	ErrOAuthIDToken          = errors.New("the ID token is not valid")
	ErrLastAccount           = errors.New("cannot unlink the last account")
	ErrAccountNotFound       = errors.New("account not found")
	ErrSocialAccountLinked   = errors.New("social account already linked")
	ErrLinkingNotAllowed     = errors.New("linking not allowed")
	ErrLinkingDifferentEmail = errors.New("linking accounts with different emails is not allowed")
)

// ErrUserEmailNotFound: the provider's ID token carries no email.
var ErrUserEmailNotFound = errors.New("user email not found")

// OAuthLinkError is an ID-token sign-in refused by the linking rules;
// Message is Better Auth's ("account not linked", ...).
type OAuthLinkError struct{ Message string }

func (e *OAuthLinkError) Error() string { return e.Message }

// SignInWithIDToken signs in with an ID token the client got from the
// provider itself (Google One Tap, mobile SDKs): verified like the callback's,
// then the same sign-in, sign-up or linking rules, and a session.
func (s *Service) SignInWithIDToken(ctx context.Context, provider, idToken, nonce, accessToken string, c Client) (User, Session, error) {
	p, ok := s.oauth.providers[provider]
	if !ok {
		return User{}, Session{}, ErrProviderNotFound
	}
	prof, err := p.VerifyIDToken(ctx, idToken, nonce)
	if err != nil {
		return User{}, Session{}, err
	}
	if prof.Email == "" {
		return User{}, Session{}, ErrUserEmailNotFound
	}
	prof.Email = NormalizeEmail(prof.Email)
	user, _, code, err := s.signInWithProvider(ctx, p.ID(), OAuthTokens{IDToken: idToken, AccessToken: accessToken}, prof)
	if code != "" {
		return User{}, Session{}, &OAuthLinkError{Message: strings.ReplaceAll(code, "_", " ")}
	}
	if err != nil {
		return User{}, Session{}, err
	}
	sess, err := s.newSession(ctx, user.ID, true, c, s.event(ctx, c, audit.SignIn, user.ID, detail(audit.DetailMethod, p.ID())))
	return user, sess, err
}

// OAuthError is a failed callback: Better Auth redirects to ErrorURL with ?error=Code.
type OAuthError struct {
	Code     string
	ErrorURL string
	Err      error
}

func (e *OAuthError) Error() string { return "oauth callback: " + e.Code }
func (e *OAuthError) Unwrap() error { return e.Err }

// UseOAuth registers the providers and the linking rules.
func (s *Service) UseOAuth(p LinkingPolicy, providers ...OAuthProvider) {
	s.oauth = oauthFlows{linking: p, providers: map[string]OAuthProvider{}}
	for _, pr := range providers {
		s.oauth.providers[pr.ID()] = pr
	}
}

type oauthFlows struct {
	linking   LinkingPolicy
	providers map[string]OAuthProvider
}

const stateAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-_"

const (
	statePrefix = "auth-state:"
	stateTTL    = 10 * time.Minute
)

// oauthState is Better Auth's state JSON, stored as the value of the
// verification row auth-state:<state>.
type oauthState struct {
	CallbackURL   string     `json:"callbackURL"`
	CodeVerifier  string     `json:"codeVerifier"`
	ErrorURL      string     `json:"errorURL,omitempty"`
	NewUserURL    string     `json:"newUserURL,omitempty"`
	Link          *stateLink `json:"link,omitempty"`
	ExpiresAt     int64      `json:"expiresAt"` // ms since the epoch
	RequestSignUp *bool      `json:"requestSignUp,omitempty"`
	OAuthState    string     `json:"oauthState"`
}

type stateLink struct {
	Email  string `json:"email"`
	UserID string `json:"userId"`
}

// OAuthStart asks to send the browser to a provider.
type OAuthStart struct {
	Provider              string
	CallbackURL           string // default: the base URL's origin
	ErrorURL, NewUserURL  string
	Scopes                []string
	LoginHint             string
	RequestSignUp         *bool
	LinkUserID, LinkEmail string // set by link-social
}

// StartOAuth records the state and PKCE verifier as Better Auth does (a
// verification row, 10 min) and returns the provider's authorization URL
// and the state, which the transport also keeps in a signed cookie.
func (s *Service) StartOAuth(ctx context.Context, in OAuthStart, defaultCallback string) (authURL, state string, err error) {
	p, ok := s.oauth.providers[in.Provider]
	if !ok {
		return "", "", ErrProviderNotFound
	}
	state = randomFrom(stateAlphabet, 32)
	verifier := randomFrom(stateAlphabet, 128)
	now := s.clock()
	data := oauthState{
		CallbackURL: in.CallbackURL, CodeVerifier: verifier, ErrorURL: in.ErrorURL, NewUserURL: in.NewUserURL,
		ExpiresAt: now.Add(stateTTL).UnixMilli(), RequestSignUp: in.RequestSignUp, OAuthState: state,
	}
	if data.CallbackURL == "" {
		data.CallbackURL = defaultCallback
	}
	if in.LinkUserID != "" {
		data.Link = &stateLink{Email: in.LinkEmail, UserID: in.LinkUserID}
	}
	value, err := json.Marshal(data)
	if err != nil {
		return "", "", err
	}
	if err := s.store.CreateVerification(ctx, Verification{
		ID: NewID(), Identifier: statePrefix + state, Value: string(value),
		ExpiresAt: now.Add(stateTTL), CreatedAt: now, UpdatedAt: now,
	}); err != nil {
		return "", "", err
	}
	return p.AuthURL(state, verifier, in.Scopes, in.LoginHint, ""), state, nil
}

// OAuthCallback is what the provider sent the browser back with.
type OAuthCallback struct {
	Provider    string
	State       string
	CookieState string // the signed state cookie's value, "" when absent or forged
	Code        string
	Error       string // the provider's error parameter
	Issuer      string // the iss parameter, when sent
	Client      Client
	Current     *Authenticated // the session the browser already has, if any
}

// OAuthResult is a completed callback.
type OAuthResult struct {
	User       User
	Session    *Session // nil after linking: the current session stays
	RedirectTo string
}

// FinishOAuth completes the callback: the state is checked against the
// cookie and consumed (a replayed callback finds nothing), the code is
// exchanged with the PKCE verifier, the ID token verified, and the user
// signed in, signed up or linked by Better Auth's rules.
func (s *Service) FinishOAuth(ctx context.Context, cb OAuthCallback, defaultErrorURL string) (OAuthResult, error) {
	fail := func(code, errorURL string, err error) (OAuthResult, error) {
		if errorURL == "" {
			errorURL = defaultErrorURL
		}
		return OAuthResult{}, &OAuthError{Code: code, ErrorURL: errorURL, Err: err}
	}
	if cb.State == "" {
		return fail("state_not_found", "", nil)
	}
	v, err := s.store.Verification(ctx, statePrefix+cb.State)
	if errors.Is(err, ErrNotFound) {
		return fail("state_mismatch", "", nil)
	}
	if err != nil {
		return OAuthResult{}, err
	}
	var st oauthState
	if err := json.Unmarshal([]byte(v.Value), &st); err != nil || st.CallbackURL == "" || st.CodeVerifier == "" {
		return fail("state_invalid", "", err)
	}
	if (st.OAuthState != "" && st.OAuthState != cb.State) || cb.CookieState != cb.State {
		return fail("state_mismatch", st.ErrorURL, nil)
	}
	if err := s.store.DeleteVerifications(ctx, statePrefix+cb.State); err != nil {
		return OAuthResult{}, err
	}
	if st.ExpiresAt < s.clock().UnixMilli() {
		return fail("state_mismatch", st.ErrorURL, nil)
	}
	errURL := st.ErrorURL
	if cb.Error != "" {
		return fail(cb.Error, errURL, nil)
	}
	if cb.Code == "" {
		return fail("no_code", errURL, nil)
	}
	p, ok := s.oauth.providers[cb.Provider]
	if !ok {
		return fail("oauth_provider_not_found", errURL, nil)
	}
	if cb.Issuer != "" && cb.Issuer != p.Issuer() {
		return fail("issuer_mismatch", errURL, nil)
	}
	tokens, prof, err := p.Exchange(ctx, cb.Code, st.CodeVerifier, "")
	switch {
	case errors.Is(err, ErrOAuthCode):
		return fail("invalid_code", errURL, err)
	case err != nil:
		return fail("unable_to_get_user_info", errURL, err)
	}
	if prof.Email == "" {
		return fail("email_not_found", errURL, nil)
	}
	prof.Email = NormalizeEmail(prof.Email)
	if st.Link != nil {
		return s.finishLink(ctx, p.ID(), st, tokens, prof, cb.Current, fail)
	}
	user, isNew, code, err := s.signInWithProvider(ctx, p.ID(), tokens, prof)
	if code != "" {
		return fail(code, errURL, err)
	}
	if err != nil {
		return OAuthResult{}, err
	}
	sess, err := s.newSession(ctx, user.ID, true, cb.Client, s.event(ctx, cb.Client, audit.SignIn, user.ID, detail(audit.DetailMethod, p.ID())))
	if err != nil {
		return fail("unable_to_create_session", errURL, err)
	}
	to := st.CallbackURL
	if isNew && st.NewUserURL != "" {
		to = st.NewUserURL
	}
	return OAuthResult{User: user, Session: &sess, RedirectTo: to}, nil
}

// signInWithProvider is Better Auth's handleOAuthUserInfo: the account by
// (provider, sub) signs in; else a user with the same email is linked only
// when the provider is trusted or vouches for the email AND the local email
// is verified; else a new user is created with the account.
func (s *Service) signInWithProvider(ctx context.Context, provider string, t OAuthTokens, prof OAuthProfile) (User, bool, string, error) {
	now := s.clock()
	acct, err := s.store.AccountByProvider(ctx, provider, prof.Subject)
	switch {
	case err == nil:
		u, err := s.store.UserByID(ctx, acct.UserID)
		if errors.Is(err, ErrNotFound) {
			return User{}, false, "unable_to_link_account", err
		}
		if err != nil {
			return User{}, false, "", err
		}
		// Fresh tokens; the scope is kept on sign-in, as Better Auth does.
		if err := s.store.UpdateAccountTokens(ctx, acct.ID, accountTokens(t, nil), now); err != nil {
			return User{}, false, "", err
		}
		if prof.EmailVerified && !u.EmailVerified && u.Email == prof.Email {
			yes := true
			if u, err = s.store.UpdateUser(ctx, u.ID, UserPatch{EmailVerified: &yes}, now); err != nil {
				return User{}, false, "", err
			}
		}
		return u, false, "", nil
	case !errors.Is(err, ErrNotFound):
		return User{}, false, "", err
	}
	u, err := s.store.UserByEmail(ctx, prof.Email)
	switch {
	case err == nil:
		trusted := slices.Contains(s.oauth.linking.TrustedProviders, provider)
		if !s.oauth.linking.Enabled || !(trusted || prof.EmailVerified) || !u.EmailVerified {
			return User{}, false, "account_not_linked", nil
		}
		if err := s.store.CreateAccount(ctx, s.socialAccount(u.ID, provider, prof.Subject, t, now)); err != nil {
			return User{}, false, "unable_to_link_account", err
		}
		return u, false, "", nil
	case !errors.Is(err, ErrNotFound):
		return User{}, false, "", err
	}
	name := prof.Name
	u = User{ID: NewID(), Name: name, Email: prof.Email, EmailVerified: prof.EmailVerified, Image: prof.Image, CreatedAt: now, UpdatedAt: now}
	signedUp := s.event(ctx, Client{}, audit.SignUp, u.ID, detail(audit.DetailProvider, provider))
	if err := s.store.CreateUser(ctx, u, s.socialAccount(u.ID, provider, prof.Subject, t, now), signedUp); err != nil {
		return User{}, false, "unable_to_create_user", err
	}
	return u, true, "", nil
}

func (s *Service) finishLink(ctx context.Context, provider string, st oauthState, t OAuthTokens, prof OAuthProfile,
	current *Authenticated, fail func(string, string, error) (OAuthResult, error)) (OAuthResult, error) {
	errURL := st.ErrorURL
	// The browser that started the link must still hold that user's session.
	if current == nil || current.User.ID != st.Link.UserID {
		return fail("unable_to_link_account", errURL, nil)
	}
	if prof.Email != NormalizeEmail(st.Link.Email) && !s.oauth.linking.AllowDifferentEmails {
		return fail("email_does_not_match", errURL, nil)
	}
	trusted := slices.Contains(s.oauth.linking.TrustedProviders, provider)
	if !s.oauth.linking.Enabled || !(trusted || prof.EmailVerified) {
		return fail("unable_to_link_account", errURL, nil)
	}
	now := s.clock()
	acct, err := s.store.AccountByProvider(ctx, provider, prof.Subject)
	switch {
	case err == nil && acct.UserID != current.User.ID:
		return fail("account_already_linked_to_different_user", errURL, nil)
	case err == nil:
		merged := mergeScopes(acct.Tokens.Scope, t.Scopes)
		if err := s.store.UpdateAccountTokens(ctx, acct.ID, accountTokens(t, &merged), now); err != nil {
			return OAuthResult{}, err
		}
	case errors.Is(err, ErrNotFound):
		if err := s.store.CreateAccount(ctx, s.socialAccount(current.User.ID, provider, prof.Subject, t, now)); err != nil {
			return fail("unable_to_link_account", errURL, err)
		}
	default:
		return OAuthResult{}, err
	}
	return OAuthResult{User: current.User, RedirectTo: st.CallbackURL}, nil
}

func (s *Service) socialAccount(userID, provider, subject string, t OAuthTokens, now time.Time) Account {
	a := Account{ID: NewID(), AccountID: subject, ProviderID: provider, UserID: userID, CreatedAt: now, UpdatedAt: now}
	a.Tokens = accountTokens(t, nil)
	scope := strings.Join(t.Scopes, ",")
	if scope != "" {
		a.Tokens.Scope = &scope
	}
	return a
}

// accountTokens converts granted tokens to the stored columns; scope is set
// only when given (link merges scopes, sign-in keeps them).
func accountTokens(t OAuthTokens, scope *string) AccountTokens {
	out := AccountTokens{AccessTokenExpiresAt: t.AccessTokenExpiresAt, Scope: scope}
	if t.AccessToken != "" {
		out.AccessToken = &t.AccessToken
	}
	if t.RefreshToken != "" {
		out.RefreshToken = &t.RefreshToken
	}
	if t.IDToken != "" {
		out.IDToken = &t.IDToken
	}
	return out
}

func mergeScopes(stored *string, granted []string) string {
	var all []string
	if stored != nil {
		for _, s := range strings.Split(*stored, ",") {
			if s = strings.TrimSpace(s); s != "" {
				all = append(all, s)
			}
		}
	}
	for _, g := range granted {
		if !slices.Contains(all, g) {
			all = append(all, g)
		}
	}
	return strings.Join(all, ",")
}

// ListAccounts returns the user's accounts (credential and social).
func (s *Service) ListAccounts(ctx context.Context, userID string) ([]Account, error) {
	return s.store.Accounts(ctx, userID)
}

// UnlinkAccount removes one of the user's accounts by row id, never the last.
func (s *Service) UnlinkAccount(ctx context.Context, userID, accountRowID string) error {
	accts, err := s.store.Accounts(ctx, userID)
	if err != nil {
		return err
	}
	if len(accts) == 1 {
		return ErrLastAccount
	}
	if !slices.ContainsFunc(accts, func(a Account) bool { return a.ID == accountRowID }) {
		return ErrAccountNotFound
	}
	return s.store.DeleteAccount(ctx, userID, accountRowID)
}

// HasProvider reports whether provider is configured.
func (s *Service) HasProvider(provider string) bool {
	_, ok := s.oauth.providers[provider]
	return ok
}
