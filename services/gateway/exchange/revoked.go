package exchange

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/latchid/latch/pkg/revocation"
)

// revoked reports whether a cached token belongs to a session, user or
// client the revocation feed has ended, or carries organization claims a
// member or organization_deleted event made stale (a demoted admin's token
// saying admin): then the next request exchanges a token with the new role. A deny set that is stale says
// nothing here: the gateway adds no trust (tasks verifies, with its own
// deny set and outage policy), so only a known revocation evicts.
func (x *Exchanger) revoked(e entry) bool {
	if x.cfg.Revocations == nil {
		return false
	}
	return errors.Is(x.cfg.Revocations.Check(e.facts), revocation.ErrRevoked)
}

// factsOf reads what the deny set needs from a token's claims, without
// verifying it: the token came from auth (or from the shared cache, whose
// tokens tasks verifies anyway).
func factsOf(jwt string) revocation.Token {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return revocation.Token{}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return revocation.Token{}
	}
	var c struct {
		Sub      string `json:"sub"`
		Sid      string `json:"sid"`
		ClientID string `json:"client_id"`
		Iat      int64  `json:"iat"`
		Org      string `json:"org"`
	}
	if json.Unmarshal(raw, &c) != nil {
		return revocation.Token{}
	}
	t := revocation.Token{Subject: c.Sub, SessionID: c.Sid, ClientID: c.ClientID, OrganizationID: c.Org}
	if c.Iat != 0 {
		t.IssuedAt = time.Unix(c.Iat, 0)
	}
	return t
}
