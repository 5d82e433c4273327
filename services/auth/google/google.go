// Package google signs users in with Google (or any OpenID Connect provider
// at configured URLs): the authorization URL with PKCE, the code exchange
// with golang.org/x/oauth2, and the ID token verified against the
// provider's JWKS (signature, iss, aud, exp, nonce).
package google

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"

	"github.com/latchid/latch/services/auth/identity"
)

// Google's endpoints, the defaults.
const (
	DefaultIssuer  = "https://accounts.google.com"
	DefaultAuthURL = "https://accounts.google.com/o/oauth2/v2/auth"
	//nolint:gosec // a URL, not a credential
	DefaultTokenURL = "https://oauth2.googleapis.com/token"
	DefaultJWKSURL  = "https://www.googleapis.com/oauth2/v3/certs"
)

// Config locates the provider and identifies this client to it.
type Config struct {
	ClientID     string
	ClientSecret string
	// RedirectURL is this service's callback: <base URL>/callback/google.
	RedirectURL string
	Issuer      string
	AuthURL     string
	TokenURL    string
	JWKSURL     string
	// HTTPClient makes the token and JWKS requests (a timeout-bound default).
	HTTPClient *http.Client
}

// Provider is Google as an identity.OAuthProvider.
type Provider struct {
	oauth   oauth2.Config
	issuers []string
	keys    keyfunc.Keyfunc
	client  *http.Client
}

// New builds the provider. The JWKS is fetched in the background (refreshed
// hourly and on an unknown kid) until ctx ends; an unreachable JWKS at
// start does not stop the service, sign-ins fail until it answers.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Provider, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("google: GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET are both required")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	keys, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{cfg.JWKSURL}, keyfunc.Override{
		Client:      client,
		HTTPTimeout: 10 * time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(ctx context.Context, err error) {
				log.WarnContext(ctx, "google: JWKS refresh failed", "url", u, "err", err)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("google: JWKS %s: %w", cfg.JWKSURL, err)
	}
	issuers := []string{cfg.Issuer}
	if cfg.Issuer == DefaultIssuer {
		issuers = append(issuers, "accounts.google.com") // Google signs either form
	}
	return &Provider{
		oauth: oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			// client_secret_post, as Better Auth sends it.
			Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		issuers: issuers,
		keys:    keys,
		client:  client,
	}, nil
}

// ID is Better Auth's provider id.
func (p *Provider) ID() string { return "google" }

// Issuer is the provider's issuer, for the callback's iss parameter.
func (p *Provider) Issuer() string { return p.issuers[0] }

// AuthURL is where the browser goes to consent: scopes email profile openid
// plus extra, PKCE S256, include_granted_scopes, as Better Auth asks Google.
func (p *Provider) AuthURL(state, codeVerifier string, extraScopes []string, loginHint, nonce string) string {
	cfg := p.oauth
	cfg.Scopes = append([]string{"email", "profile", "openid"}, extraScopes...)
	opts := []oauth2.AuthCodeOption{
		oauth2.S256ChallengeOption(codeVerifier),
		oauth2.SetAuthURLParam("include_granted_scopes", "true"),
	}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	if nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce))
	}
	return cfg.AuthCodeURL(state, opts...)
}

// Exchange trades the code (with its PKCE verifier) for tokens and returns
// the verified ID token's profile.
func (p *Provider) Exchange(ctx context.Context, code, codeVerifier, nonce string) (identity.OAuthTokens, identity.OAuthProfile, error) {
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.client)
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(codeVerifier))
	if err != nil {
		return identity.OAuthTokens{}, identity.OAuthProfile{}, fmt.Errorf("%w: %w", identity.ErrOAuthCode, err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return identity.OAuthTokens{}, identity.OAuthProfile{}, fmt.Errorf("%w: no id_token in the token response", identity.ErrOAuthIDToken)
	}
	profile, err := p.VerifyIDToken(ctx, rawID, nonce)
	if err != nil {
		return identity.OAuthTokens{}, identity.OAuthProfile{}, err
	}
	out := identity.OAuthTokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: rawID}
	if !tok.Expiry.IsZero() {
		exp := tok.Expiry.UTC().Truncate(time.Millisecond)
		out.AccessTokenExpiresAt = &exp
	}
	if scope, _ := tok.Extra("scope").(string); scope != "" {
		out.Scopes = strings.Fields(scope)
	}
	return out, profile, nil
}

// googleClaims are the ID token claims a sign-in uses.
type googleClaims struct {
	Email         string `json:"email"`
	EmailVerified any    `json:"email_verified"` // Google sends a boolean; some providers the string "true"
	Name          string `json:"name"`
	Picture       string `json:"picture"`
	Nonce         string `json:"nonce"`
	jwt.RegisteredClaims
}

// VerifyIDToken checks an ID token: signed by a key in the provider's JWKS
// with an asymmetric algorithm, issued by the provider, for this client,
// unexpired, and carrying nonce when one was sent.
func (p *Provider) VerifyIDToken(ctx context.Context, raw, nonce string) (identity.OAuthProfile, error) {
	var c googleClaims
	_, err := jwt.ParseWithClaims(raw, &c, p.keys.KeyfuncCtx(ctx),
		jwt.WithValidMethods([]string{"RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "EdDSA"}),
		jwt.WithAudience(p.oauth.ClientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(30*time.Second))
	if err != nil {
		return identity.OAuthProfile{}, fmt.Errorf("%w: %w", identity.ErrOAuthIDToken, err)
	}
	okIssuer := false
	for _, iss := range p.issuers {
		okIssuer = okIssuer || c.Issuer == iss
	}
	if !okIssuer {
		return identity.OAuthProfile{}, fmt.Errorf("%w: issuer %q", identity.ErrOAuthIDToken, c.Issuer)
	}
	if nonce != "" && c.Nonce != nonce {
		return identity.OAuthProfile{}, fmt.Errorf("%w: nonce mismatch", identity.ErrOAuthIDToken)
	}
	if c.Subject == "" {
		return identity.OAuthProfile{}, fmt.Errorf("%w: no sub", identity.ErrOAuthIDToken)
	}
	// Better Auth accepts Google ID tokens up to an hour old.
	if c.IssuedAt == nil || time.Since(c.IssuedAt.Time) > time.Hour+30*time.Second {
		return identity.OAuthProfile{}, fmt.Errorf("%w: issued more than an hour ago", identity.ErrOAuthIDToken)
	}
	prof := identity.OAuthProfile{
		Subject: c.Subject, Email: c.Email, Name: c.Name,
		EmailVerified: c.EmailVerified == true || c.EmailVerified == "true",
	}
	if c.Picture != "" {
		prof.Image = &c.Picture
	}
	return prof, nil
}
