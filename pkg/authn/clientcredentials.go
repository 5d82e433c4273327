package authn

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// DefaultRefreshBefore is how long before expiry a cached client-credentials
// token is replaced (at most a quarter of the token's lifetime).
const DefaultRefreshBefore = 30 * time.Second

// ClientCredentialsConfig configures a service's token source: the auth
// service's OAuth2 client-credentials grant (RFC 6749 §4.4).
type ClientCredentialsConfig struct {
	// TokenURL is the auth service's token endpoint, e.g.
	// http://auth:3001/api/auth/oauth2/token.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// Scopes to ask for; empty asks for every scope the client was given.
	Scopes []string
	// RefreshBefore replaces a token this long before it expires, capped at
	// a quarter of its lifetime; default DefaultRefreshBefore.
	RefreshBefore time.Duration
	// AuthStyle is how the secret is sent; default client_secret_basic.
	AuthStyle oauth2.AuthStyle
	// HTTPClient calls the token endpoint; default a client with a 10 s timeout.
	HTTPClient *http.Client
}

// ClientCredentials returns a token source for a service calling as itself:
// it asks the token endpoint for a token once and hands out that token
// until shortly before it expires; concurrent callers share one request.
func ClientCredentials(cfg ClientCredentialsConfig) (oauth2.TokenSource, error) {
	switch {
	case cfg.TokenURL == "":
		return nil, errors.New("authn: client credentials: TokenURL is required")
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("authn: client credentials: ClientID and ClientSecret are required")
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	if cfg.AuthStyle == oauth2.AuthStyleAutoDetect {
		cfg.AuthStyle = oauth2.AuthStyleInHeader
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: fetchTimeout}
	}
	cc := &clientcredentials.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, TokenURL: cfg.TokenURL,
		Scopes: cfg.Scopes, AuthStyle: cfg.AuthStyle,
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, client)
	// clientcredentials' own source caches with a fixed 10 s margin; Token
	// fetches every time, so the margin is ours to choose.
	return &cachedTokenSource{fetch: func() (*oauth2.Token, error) { return cc.Token(ctx) }, early: cfg.RefreshBefore, now: time.Now}, nil
}

// cachedTokenSource holds one token and fetches the next under its lock, so
// a burst of callers costs the token endpoint one request.
type cachedTokenSource struct {
	fetch func() (*oauth2.Token, error)
	early time.Duration
	now   func() time.Time

	mu        sync.Mutex
	token     *oauth2.Token
	refreshAt time.Time // zero: the token does not expire
}

func (s *cachedTokenSource) Token() (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.token != nil && (s.refreshAt.IsZero() || now.Before(s.refreshAt)) {
		return s.token, nil
	}
	tok, err := s.fetch()
	if err != nil {
		return nil, err
	}
	s.token, s.refreshAt = tok, time.Time{}
	if !tok.Expiry.IsZero() {
		s.refreshAt = tok.Expiry.Add(-min(s.early, tok.Expiry.Sub(now)/4))
	}
	return tok, nil
}
