package router

import (
	"bytes"
	"context"
	"io"
	"net/http"

	"github.com/latchid/latch/services/gateway/exchange"
)

// maxReplayBody is the largest request body kept for a second try: the
// tasks service's own body limit (64 KiB). A larger body is sent once,
// streamed, and a refusal of its token is the client's answer.
const maxReplayBody = 64 << 10

type exchangedKey struct{}

// withExchanged marks a request whose Authorization the gateway made from
// session's cookie, and keeps its body (up to maxReplayBody) so it can be
// sent again.
func withExchanged(r *http.Request, s exchange.Session) (*http.Request, error) {
	r = r.WithContext(context.WithValue(r.Context(), exchangedKey{}, s))
	if r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	head, err := io.ReadAll(io.LimitReader(r.Body, maxReplayBody+1))
	if err != nil {
		return r, err
	}
	if len(head) > maxReplayBody {
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		return r, nil
	}
	_ = r.Body.Close()
	r.Body = io.NopCloser(bytes.NewReader(head))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(head)), nil }
	return r, nil
}

// staleTokenRetry sends a request with a token the gateway exchanged once
// more, with a fresh token, when tasks refuses the first one (401).
//
// Why: the gateway drops a cached token when the revocation feed says it is
// stale (a demoted admin's role, a switched organization), but tasks
// replicas follow the same feed on their own and may hear an event a few
// milliseconds before the gateway does. A request sent with the cached token
// in that window would be refused as revoked although the session is fine
// and its next token is good: the browser would see "signed out" for a
// role change. A 401 means tasks applied nothing (authentication comes
// before any change), so sending the request again is safe whatever its
// method. The session itself is asked for again at auth: a session that
// really ended gets no new token, and the first 401 is the answer. One retry
// at most, only for exchanged tokens, never for a client's own Authorization.
type staleTokenRetry struct {
	next   http.RoundTripper
	tokens Tokens
}

func (t staleTokenRetry) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(r)
	s, exchanged := r.Context().Value(exchangedKey{}).(exchange.Session)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || !exchanged {
		return resp, err
	}
	hasBody := r.Body != nil && r.Body != http.NoBody
	if hasBody && r.GetBody == nil {
		return resp, nil // too large to have been kept
	}
	ctx := r.Context()
	t.tokens.Evict(ctx, s)
	token, terr := t.tokens.Token(ctx, s)
	if terr != nil {
		return resp, nil // the session ended (or auth is away): the refusal stands
	}
	again := r.Clone(ctx)
	again.Header.Set("Authorization", "Bearer "+token)
	if hasBody {
		body, berr := r.GetBody()
		if berr != nil {
			return resp, nil
		}
		again.Body = body
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return t.next.RoundTrip(again)
}
