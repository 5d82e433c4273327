package organization

import (
	"context"
	"time"
)

// Claims are what a user's JWT says about their active organization:
// its id and the member's role there as stored ("admin,member"); empty
// when the session has none or the user is no longer a member. IssuedAt is
// the token's iat: the moment just before the member row was read, so a
// change the read missed is recorded after it and its event refuses the
// token (a token signed a moment later with a later iat could outlive the
// role it carries).
type Claims struct {
	Organization string
	Role         string
	IssuedAt     time.Time
}

// MaxSameSecondWait bounds the same-second rule's wait.
const MaxSameSecondWait = time.Second

// TokenClaims reads the member row behind a session's active organization
// for a token about to be minted.
//
// The same-second rule: resource servers refuse a token naming org X for
// user U whose iat (whole seconds) is at or before the second of the latest
// member event for (U, X), because iat cannot order a token and a change
// inside one second. A token minted in that second would be refused at
// once, so when the latest change falls in the current second this waits
// for the next second (at most MaxSameSecondWait, or until ctx ends) and
// reads the member row again, so the token carries the role as it is after
// the change. A change stamped further ahead (another replica's clock) is
// waited for once; the token is then refused until the next one is minted.
func (s *Service) TokenClaims(ctx context.Context, userID, activeOrg string) (Claims, error) {
	if activeOrg == "" {
		return Claims{}, nil
	}
	for waited := false; ; waited = true {
		asOf := s.now()
		m, changedAt, changed, err := s.store.MemberForToken(ctx, activeOrg, userID)
		if notFound(err) {
			return Claims{}, nil
		}
		if err != nil {
			return Claims{}, err
		}
		if waited || !changed || changedAt.Unix() < asOf.Unix() {
			return Claims{Organization: activeOrg, Role: m.Role, IssuedAt: asOf}, nil
		}
		wait := time.Unix(changedAt.Unix()+1, 0).Sub(asOf)
		if err := s.sleep(ctx, min(wait, MaxSameSecondWait)); err != nil {
			return Claims{}, err
		}
	}
}
