package organization

import (
	"context"
	"time"
)

// Claims are what a user's JWT says about their active organization:
// its id and the member's role there as stored ("admin,member"); empty
// when the session has none or the user is no longer a member.
type Claims struct {
	Organization string
	Role         string
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
// the change.
func (s *Service) TokenClaims(ctx context.Context, userID, activeOrg string) (Claims, error) {
	if activeOrg == "" {
		return Claims{}, nil
	}
	changed, ok, err := s.store.LatestMemberChange(ctx, userID, activeOrg)
	if err != nil {
		return Claims{}, err
	}
	if ok {
		now := s.now()
		if changed.Unix() >= now.Unix() {
			next := time.Unix(changed.Unix()+1, 0)
			if wait := next.Sub(now); wait > 0 {
				if err := s.sleep(ctx, min(wait, MaxSameSecondWait)); err != nil {
					return Claims{}, err
				}
			}
		}
	}
	m, err := s.store.Member(ctx, activeOrg, userID)
	if notFound(err) {
		return Claims{}, nil
	}
	if err != nil {
		return Claims{}, err
	}
	return Claims{Organization: activeOrg, Role: m.Role}, nil
}
