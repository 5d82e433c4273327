// Package revocation is the resource servers' side of Latch's revocation
// feed (docs/revocation.md): the feed's wire format, a deny set that refuses
// tokens of ended sessions, users and clients in memory, and a Follower that
// keeps the set current by long-polling the auth service.
//
// The auth service writes an event in the same transaction as every change
// that ends a session, a user or a client, and serves them in order at
// GET <feed>?after=<cursor>&wait=<seconds>. Events carry ids and times only,
// never a token.
package revocation

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The kinds of event.
const (
	// KindSession: the session Subject ended (sign-out, revoke-session, or
	// one of a user's sessions ended by a revocation of many); tokens whose
	// sid is Subject are refused. UserID names the session's user.
	KindSession = "session"
	// KindUser: every token of user Subject issued before At is refused
	// (revoke-sessions, change-password or reset-password revoking sessions).
	// Tokens of sessions created afterwards keep working.
	KindUser = "user"
	// KindUserDeleted: user Subject was deleted; all their tokens are refused,
	// and services delete what they hold for them.
	KindUserDeleted = "user_deleted"
	// KindClient: service client Subject was revoked; tokens with that
	// client_id are refused.
	KindClient = "client"
	// KindMember: user Subject's membership of organization OrganizationID
	// changed (role changed, removed, left, or the organization deleted);
	// that user's tokens naming the organization in their org claim and
	// issued before At are refused. Tokens without it keep working, and
	// tokens minted afterwards carry the new role (or none).
	KindMember = "member"
	// KindOrganizationDeleted: organization Subject was deleted; every
	// token naming it in org is refused, whoever it was issued to and
	// whenever (until Until: tokens issued after the deletion cannot name
	// it), and services delete what they hold for it (team tasks).
	KindOrganizationDeleted = "organization_deleted"
)

// Event is one revocation.
type Event struct {
	// ID is the event's cursor: events are served in increasing ID order,
	// and an event with a smaller ID is never committed after a larger one.
	ID      int64  `json:"id"`
	Kind    string `json:"kind"`
	Subject string `json:"subject"`
	// UserID is the user a session event's session belonged to.
	UserID string `json:"user_id,omitempty"`
	// OrganizationID is the organization a member event is about.
	OrganizationID string `json:"organization_id,omitempty"`
	// At is when the revocation was committed (millisecond precision).
	At time.Time `json:"at"`
	// Until is when the last token the event can affect has expired, leeway
	// included: deny entries are dropped after it.
	Until time.Time `json:"until"`
}

// Page is the feed's answer.
type Page struct {
	Events []Event `json:"events"`
	// Head is the newest event id the feed holds (0 when it holds none). A
	// Head below the cursor a follower sent means the feed was reset (a new
	// database): the follower starts again from 0.
	Head int64 `json:"head"`
	// More is set when events after the last one returned were left for the
	// next request (a page holds at most MaxPage events).
	More bool `json:"more"`
}

// MaxPage is the most events one answer holds.
const MaxPage = 1000

// MaxWait is the longest a request for new events is held open when there
// are none (a request whose cursor is beyond Head is answered at once); a follower asks for it, so a revocation is answered the moment
// it commits.
const MaxWait = 25 * time.Second

// Path is the feed's last path segment, beside the JWKS's ("jwks").
const Path = "revocations"

// FeedURL derives the feed's URL from the JWKS URL a resource server already
// has: the sibling path "revocations" (http://auth:3001/api/auth/jwks →
// http://auth:3001/api/auth/revocations), as a relative reference resolves.
func FeedURL(jwksURL string) (string, error) {
	u, err := url.Parse(jwksURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("revocation: JWKS URL %q is not an absolute http(s) URL", jwksURL)
	}
	u.RawQuery, u.Fragment = "", ""
	if !strings.HasPrefix(u.Path, "/") {
		u.Path = "/" + u.Path
	}
	return u.ResolveReference(&url.URL{Path: Path}).String(), nil
}
