package router

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// DownFor is how long a replica is passed over after it refused a
// connection or answered Connection: close (it is leaving).
const DownFor = 3 * time.Second

// Balancer is one upstream's replicas behind a single RoundTripper: each
// request goes to the next replica in turn, skipping the ones marked down,
// and a request that provably never reached a replica goes to another one.
//
// The retry rule, once, on a different replica:
//
//   - The dial failed (connection refused, unreachable, dial timeout): the
//     replica never saw the request, whatever its method. A body is still
//     whole then, because the Transport reads it only on a connection; the
//     balancer checks that it was not read and keeps the Transport's Close
//     (which comes even on a failed dial) from discarding it.
//   - GET, HEAD or OPTIONS without a body failed before any response, for
//     any reason but a timeout: repeating a safe request changes nothing.
//     (A timeout means the replica has the request and is slow; a second
//     wait would double the client's.)
//   - Anything else is answered 502 as before. A POST, PATCH, PUT or DELETE
//     that was written to a connection may have been applied even when the
//     connection broke before the answer (RFC 9110 9.2.2), so it is never
//     sent twice. Go's Transport itself resends, on a fresh connection to
//     the same replica, a request that failed on a reused keep-alive
//     connection when it has no body and nothing of it was written, or when
//     it is a bodiless GET/HEAD/OPTIONS that got no response byte; when that
//     replica is gone the fresh dial fails, which is the first case.
//
// The remaining race is a keep-alive connection the replica closes as idle
// while a POST is being written to it: that is why pkg/serve, after SIGTERM,
// serves on for SHUTDOWN_DELAY answering Connection: close, and why the
// balancer passes over a replica that answers Connection: close for DownFor.
// By the time the replica closes its listener and idle connections, the
// gateway has stopped sending it anything.
//
// With one replica the Balancer is the next RoundTripper, untouched.
type Balancer struct {
	name     string
	origin   *url.URL
	replicas []*replica
	next     http.RoundTripper
	log      *slog.Logger
	retried  func(upstream string)
	turn     atomic.Uint64
}

type replica struct {
	scheme, host string
	downUntil    atomic.Int64 // unix nanoseconds; passed over until then
}

// NewBalancer spreads upstream name's requests across replicas (origins,
// at least one) through next; retried, if set, is told of every second try.
func NewBalancer(name string, replicas []*url.URL, next http.RoundTripper, log *slog.Logger, retried func(upstream string)) *Balancer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Balancer{name: name, origin: replicas[0], next: next, log: log, retried: retried}
	for _, u := range replicas {
		b.replicas = append(b.replicas, &replica{scheme: u.Scheme, host: u.Host})
	}
	return b
}

// URL is the origin the upstream's requests are addressed to; RoundTrip
// sends each to the replica it picks.
func (b *Balancer) URL() *url.URL { return b.origin }

func (b *Balancer) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(b.replicas) == 1 {
		return b.next.RoundTrip(r)
	}
	var body *heldBody
	if r.Body != nil && r.Body != http.NoBody {
		body = &heldBody{rc: r.Body, held: true}
	}
	firstBody := r.Body
	if body != nil {
		firstBody = body
	}
	first := b.pick(nil)
	resp, err := b.send(r, first, firstBody)
	if err == nil || !b.retryable(r, err, body) {
		body.release()
		return resp, err
	}
	if b.retried != nil {
		b.retried(b.name)
	}
	// The second try is the last: it gets the body itself, to read and close.
	return b.send(r, b.pick(first), r.Body)
}

// send sends r to rep, with body in place of r's, and marks rep down when
// it refused the connection or said it is leaving.
func (b *Balancer) send(r *http.Request, rep *replica, body io.ReadCloser) (*http.Response, error) {
	out := *r // shallow: only the URL, Host and Body differ
	u := *r.URL
	u.Scheme, u.Host = rep.scheme, rep.host
	out.URL = &u
	if r.Host == r.URL.Host { // addressed to the upstream, not to a virtual host
		out.Host = ""
	}
	out.Body = body
	resp, err := b.next.RoundTrip(&out)
	switch {
	case err != nil && dialFailed(err):
		b.markDown(rep, "refused a connection", err)
	case err == nil && resp.Close:
		b.markDown(rep, "is closing its connections", nil)
	}
	return resp, err
}

func (b *Balancer) retryable(r *http.Request, err error, body *heldBody) bool {
	if r.Context().Err() != nil {
		return false // the client left or gave up: nobody waits for a second answer
	}
	if body != nil && body.wasRead() {
		return false
	}
	if dialFailed(err) {
		return true
	}
	return body == nil && safeMethod(r.Method) && !isTimeout(err) && !errors.Is(err, context.Canceled)
}

// pick returns the next replica in turn that is not down, other than
// skip; when every other one is down it tries one anyway, so an upstream
// whose replicas all failed recently is still asked (and a request fails
// the same way it did before balancing: 502).
func (b *Balancer) pick(skip *replica) *replica {
	n := uint64(len(b.replicas))
	start := b.turn.Add(1) - 1
	now := time.Now().UnixNano()
	var fallback *replica
	for i := range n {
		rep := b.replicas[(start+i)%n]
		if rep == skip {
			continue
		}
		if rep.downUntil.Load() <= now {
			return rep
		}
		if fallback == nil {
			fallback = rep
		}
	}
	return fallback
}

func (b *Balancer) markDown(rep *replica, why string, err error) {
	now := time.Now()
	if rep.downUntil.Swap(now.Add(DownFor).UnixNano()) <= now.UnixNano() {
		b.log.Warn("upstream replica passed over", "upstream", b.name, "replica", rep.host, "why", why, "for", DownFor.String(), "err", err)
	}
}

// dialFailed: no connection was made, so the replica got nothing.
func dialFailed(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// heldBody is a request body lent to a first try: it records whether the
// Transport read it and withholds the Transport's Close (which comes even
// when no connection was made) until the balancer knows there is no second
// try; a second try gets the body itself.
type heldBody struct {
	rc   io.ReadCloser
	read atomic.Bool

	mu         sync.Mutex
	held       bool
	closeAsked bool
}

func (b *heldBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.rc.Read(p)
}

func (b *heldBody) Close() error {
	b.mu.Lock()
	if b.held {
		b.closeAsked = true
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	return b.rc.Close()
}

func (b *heldBody) wasRead() bool { return b.read.Load() }

// release passes on a Close the Transport asked for, and any later one.
func (b *heldBody) release() {
	if b == nil {
		return
	}
	b.mu.Lock()
	b.held = false
	asked := b.closeAsked
	b.mu.Unlock()
	if asked {
		_ = b.rc.Close()
	}
}
