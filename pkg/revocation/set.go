package revocation

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrRevoked: the token belongs to a session, user or client that was
// revoked, or names an organization its user's membership of changed.
var ErrRevoked = errors.New("revocation: token revoked")

// ErrStale: the feed has not been heard from for longer than the set's
// bound (or never), so whether a token was revoked is unknown. Callers
// refuse the token as unavailable, not as the client's fault.
var ErrStale = errors.New("revocation: feed unreachable; revocation status unknown")

// Token is what the set needs to know of a verified token.
type Token struct {
	Subject   string    // sub
	SessionID string    // sid; empty on client tokens and tokens minted before sid existed
	ClientID  string    // client_id of a client-credentials token
	IssuedAt  time.Time // iat (zero when absent: refused by any user or member revocation)
	// OrganizationID is the org claim: the organization the token's role
	// claims are about (empty when the session had none active).
	OrganizationID string
}

// Set is the deny set: the revocations whose tokens may still be alive,
// each kept until its event's Until. Check costs a few map lookups under a
// read lock and never touches the network. Safe for concurrent use.
type Set struct {
	now      func() time.Time
	maxStale time.Duration

	mu       sync.RWMutex
	sessions map[string]time.Time     // sid → until
	users    map[string]userRevoked   // user id → tokens issued before
	deleted  map[string]time.Time     // user id → until
	clients  map[string]time.Time     // client id → until
	members  map[member]revokedBefore // (user, org) → tokens issued up to
	orgs     map[string]time.Time     // deleted organization id → until
	pruneAt  time.Time

	// synced is the unix nanos of the last answer from the feed; 0: never.
	synced atomic.Int64
}

type userRevoked struct {
	before time.Time // whole seconds: tokens with an earlier iat are refused
	until  time.Time
}

// member names one user's membership of one organization.
type member struct{ user, org string }

type revokedBefore struct {
	last  time.Time // whole seconds: tokens with an iat up to it are refused
	until time.Time
}

// DefaultMaxStale is how long a set keeps accepting tokens after it last
// heard from the feed; past it, Check answers ErrStale (fail closed).
const DefaultMaxStale = 60 * time.Second

// NewSet returns an empty set. maxStale is the bound of the outage policy
// (DefaultMaxStale when 0); now is the clock (time.Now when nil). Until the
// first MarkSynced, Check answers ErrStale: an empty set is not the same as
// knowing nothing was revoked.
func NewSet(maxStale time.Duration, now func() time.Time) *Set {
	if maxStale <= 0 {
		maxStale = DefaultMaxStale
	}
	if now == nil {
		now = time.Now
	}
	return &Set{
		now: now, maxStale: maxStale,
		sessions: map[string]time.Time{}, users: map[string]userRevoked{},
		deleted: map[string]time.Time{}, clients: map[string]time.Time{},
		members: map[member]revokedBefore{}, orgs: map[string]time.Time{},
	}
}

// MaxStale is the set's outage bound.
func (s *Set) MaxStale() time.Duration { return s.maxStale }

// Check says whether a verified token may be used: nil, ErrRevoked or ErrStale.
func (s *Set) Check(t Token) error {
	now := s.now()
	if err := s.Fresh(now); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t.SessionID != "" {
		if until, ok := s.sessions[t.SessionID]; ok && now.Before(until) {
			return ErrRevoked
		}
	}
	if t.OrganizationID != "" {
		if until, ok := s.orgs[t.OrganizationID]; ok && now.Before(until) {
			return ErrRevoked
		}
	}
	if t.ClientID != "" {
		if until, ok := s.clients[t.ClientID]; ok && now.Before(until) {
			return ErrRevoked
		}
		return nil // user revocations never name a client's subject
	}
	if until, ok := s.deleted[t.Subject]; ok && now.Before(until) {
		return ErrRevoked
	}
	if u, ok := s.users[t.Subject]; ok && now.Before(u.until) {
		// iat has whole seconds: a token of the revocation's own second may
		// be older or newer than it. One with a sid is judged by its
		// session's own event (every session a user revocation ended has
		// one), so a session created right after (change-password's new
		// one) keeps working; one without a sid is refused to be safe.
		iat := t.IssuedAt.Unix()
		if iat < u.before.Unix() || (t.SessionID == "" && iat == u.before.Unix()) {
			return ErrRevoked
		}
	}
	if t.OrganizationID != "" && len(s.members) > 0 {
		// The token's org and org_role claims were true when it was issued;
		// a membership change makes them stale. The change's own second is
		// refused too: auth never mints a token naming the organization for
		// that user in the second of a change (it waits for the next), so
		// a token of that second is one minted before the change.
		if m, ok := s.members[member{t.Subject, t.OrganizationID}]; ok && now.Before(m.until) && t.IssuedAt.Unix() <= m.last.Unix() {
			return ErrRevoked
		}
	}
	return nil
}

// Fresh returns ErrStale when the feed was never heard from, or not for
// longer than MaxStale.
func (s *Set) Fresh(now time.Time) error {
	at := s.synced.Load()
	if at == 0 || now.Sub(time.Unix(0, at)) > s.maxStale {
		return ErrStale
	}
	return nil
}

// LastSync is when the feed last answered (zero: never).
func (s *Set) LastSync() time.Time {
	if at := s.synced.Load(); at != 0 {
		return time.Unix(0, at)
	}
	return time.Time{}
}

// MarkSynced records an answer from the feed: the set is current as of now.
func (s *Set) MarkSynced() { s.synced.Store(s.now().UnixNano()) }

// Apply adds events to the set; events whose Until has passed are skipped.
// Applying an event twice changes nothing.
func (s *Set) Apply(events ...Event) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range events {
		if !now.Before(e.Until) || e.Subject == "" {
			continue
		}
		switch e.Kind {
		case KindSession:
			s.sessions[e.Subject] = later(s.sessions[e.Subject], e.Until)
		case KindUser:
			u := s.users[e.Subject]
			before := e.At.Truncate(time.Second)
			if before.After(u.before) {
				u.before = before
			}
			u.until = later(u.until, e.Until)
			s.users[e.Subject] = u
		case KindUserDeleted:
			s.deleted[e.Subject] = later(s.deleted[e.Subject], e.Until)
		case KindClient:
			s.clients[e.Subject] = later(s.clients[e.Subject], e.Until)
		case KindMember:
			if e.OrganizationID == "" {
				continue // names no organization: no token can match it
			}
			k := member{e.Subject, e.OrganizationID}
			m := s.members[k]
			m.last = later(m.last, e.At.Truncate(time.Second))
			m.until = later(m.until, e.Until)
			s.members[k] = m
		case KindOrganizationDeleted:
			s.orgs[e.Subject] = later(s.orgs[e.Subject], e.Until)
		}
	}
	if now.After(s.pruneAt) {
		s.prune(now)
		s.pruneAt = now.Add(time.Minute)
	}
}

// prune drops the entries no live token can match any more.
func (s *Set) prune(now time.Time) {
	for _, m := range []map[string]time.Time{s.sessions, s.deleted, s.clients, s.orgs} {
		for k, until := range m {
			if !now.Before(until) {
				delete(m, k)
			}
		}
	}
	for k, u := range s.users {
		if !now.Before(u.until) {
			delete(s.users, k)
		}
	}
	for k, m := range s.members {
		if !now.Before(m.until) {
			delete(s.members, k)
		}
	}
}

// Len counts the entries by kind, for metrics.
func (s *Set) Len() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return map[string]int{
		KindSession: len(s.sessions), KindUser: len(s.users),
		KindUserDeleted: len(s.deleted), KindClient: len(s.clients),
		KindMember: len(s.members), KindOrganizationDeleted: len(s.orgs),
	}
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
