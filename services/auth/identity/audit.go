package identity

import (
	"context"

	"github.com/latchid/latch/pkg/requestid"
	"github.com/latchid/latch/services/auth/audit"
)

type clientKey struct{}

// WithClient returns ctx carrying where its request came from. Transports
// set it once per request (as pkg/requestid does for the request id), so
// every audit event of the request names the same address and user agent
// without each rule taking a Client it needs only for the trail.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// clientFrom is the Client WithClient stored, or none.
func clientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientKey{}).(Client)
	return c
}

// event builds an audit event of the current request: c when the rule was
// given one, else the request's (WithClient), and the request id.
func (s *Service) event(ctx context.Context, c Client, t audit.Type, userID string, detail map[string]string) audit.Event {
	if c == (Client{}) {
		c = clientFrom(ctx)
	}
	return audit.Event{
		ID: NewID(), Type: t, UserID: userID,
		IPAddress: c.IPAddress, UserAgent: c.UserAgent, RequestID: requestid.From(ctx),
		Detail: detail, CreatedAt: s.clock(),
	}
}

// failed records a failure that changed nothing, in its own transaction,
// and answers cause. When the trail cannot be written the store's error
// wins: an unrecorded failure must not look like an ordinary one.
func (s *Service) failed(ctx context.Context, c Client, userID string, detail map[string]string, cause error) error {
	if err := s.store.RecordAudit(ctx, s.event(ctx, c, audit.SignInFailed, userID, detail)); err != nil {
		return err
	}
	return cause
}

// SecurityActivity lists the user's own most recent events, newest first
// (the account page's "recent security activity"). limit 0 means
// audit.DefaultLimit; above audit.MaxLimit is refused.
func (s *Service) SecurityActivity(ctx context.Context, userID string, limit int) ([]audit.Event, error) {
	if limit == 0 {
		limit = audit.DefaultLimit
	}
	q := audit.Query{UserID: userID, Limit: limit}
	if err := q.Check(audit.MaxLimit); err != nil {
		return nil, err
	}
	return s.store.AuditEvents(ctx, q)
}

func detail(kv ...string) map[string]string {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}
