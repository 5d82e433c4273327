package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/services/auth/identity"
)

// clientAddress says who a request's client is, by one rule for the rate
// limits and the address recorded with sessions: pkg/forwarded's (the
// right-most X-Forwarded-For entry that is not a trusted proxy), or a
// single-address header (RATE_LIMIT_IP_HEADER, such as X-Real-IP) when the
// peer is a trusted proxy. A peer that is not trusted is the client,
// whatever it sends.
type clientAddress struct {
	proxies forwarded.Proxies
	header  string // "" unless a header other than X-Forwarded-For is configured

	warnPrivate sync.Once
}

func newClientAddress(proxies forwarded.Proxies, header string) *clientAddress {
	header = http.CanonicalHeaderKey(strings.TrimSpace(header))
	if header == forwarded.Header {
		header = "" // the chain is read by pkg/forwarded's rule anyway
	}
	return &clientAddress{proxies: proxies, header: header}
}

func (ca *clientAddress) of(r *http.Request) (netip.Addr, bool) {
	if ca.header != "" && ca.proxies.FromTrustedPeer(r) {
		v := r.Header.Get(ca.header)
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:] // the entry our proxy wrote; earlier ones are the client's say-so
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			return a.Unmap(), true
		}
	}
	return ca.proxies.Client(r)
}

type clientKey struct{}

// resolveClient finds the request's client once, for the rate limit and
// the handlers (clientOf). With limiting on and no proxy trusted, the
// first request from a private address is warned about: that peer is
// most likely a proxy, and then every client behind it shares one bucket.
func (h *handler) resolveClient(c *gin.Context) {
	r := c.Request
	a, ok := h.clients.of(r)
	if ok {
		c.Request = r.WithContext(context.WithValue(r.Context(), clientKey{}, a))
	}
	// The audit trail records the same address and user agent for every
	// event of the request (identity.WithClient).
	c.Request = c.Request.WithContext(identity.WithClient(c.Request.Context(), clientOf(c.Request)))
	if h.limit != nil && h.clients.proxies.Empty() {
		if peer, ok := forwarded.Peer(r); ok && forwarded.Private(peer) {
			h.clients.warnPrivate.Do(func() {
				h.log.WarnContext(r.Context(), "rate limiting is on, TRUSTED_PROXIES is empty and requests come from a private address: "+
					"if a proxy or the gateway is in front of this service, every client behind it shares one rate-limit bucket; "+
					"set TRUSTED_PROXIES to the proxies' CIDRs", slog.String("peer", peer.String()))
			})
		}
	}
}

// clientAddr is the address resolveClient found.
func clientAddr(r *http.Request) (netip.Addr, bool) {
	a, ok := r.Context().Value(clientKey{}).(netip.Addr)
	if !ok {
		return forwarded.Peer(r)
	}
	return a, true
}

// strictTransportSecurity is sent on every answer when the base URL is
// https: browsers then never try plain http for this host for a year. No
// includeSubDomains: the service does not speak for its siblings.
const strictTransportSecurity = "max-age=31536000"

// StrictTransport adds Strict-Transport-Security to every answer of next
// (main wraps the whole service with it when BETTER_AUTH_URL is https).
func StrictTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", strictTransportSecurity)
		next.ServeHTTP(w, r)
	})
}
