package signing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jws"
)

// ClientSubjectPrefix starts the sub of a service's token: "client:<id>".
// Better Auth's user ids never contain a colon.
const ClientSubjectPrefix = "client:"

// ClientClaims are a service's access token claims (client credentials):
// no user, a client_id and the granted scope (RFC 9068's shape).
type ClientClaims struct {
	IssuedAt int64  `json:"iat"`
	Subject  string `json:"sub"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Expiry   int64  `json:"exp"`
	Issuer   string `json:"iss"`
	Audience string `json:"aud"`
	TokenID  string `json:"jti"`
}

// SignClient issues a service's access token with the same keys, issuer
// and audience as users' tokens, valid for ttl.
func (i *Issuer) SignClient(ctx context.Context, clientID string, scopes []string, ttl time.Duration) (string, error) {
	if clientID == "" || ttl <= 0 {
		return "", errors.New("sign client token: a client id and a positive lifetime are required")
	}
	s, err := i.current(ctx)
	if err != nil {
		return "", err
	}
	iat := i.now().Unix()
	payload, err := json.Marshal(ClientClaims{
		IssuedAt: iat, Subject: ClientSubjectPrefix + clientID, ClientID: clientID, Scope: strings.Join(scopes, " "),
		Expiry: iat + int64(ttl/time.Second), Issuer: i.cfg.Issuer, Audience: i.cfg.Audience, TokenID: NewTokenID(),
	})
	if err != nil {
		return "", err
	}
	token, err := jws.Sign(payload, jws.WithKey(s.signer.alg, s.signer.key, jws.WithProtectedHeaders(s.signer.headers)))
	if err != nil {
		return "", fmt.Errorf("sign client token: %w", err)
	}
	return string(token), nil
}
