package router

import (
	"context"
	"net/http"
	"strings"

	"github.com/latchid/latch/pkg/forwarded"
)

// scheme is how the browser reached the gateway: https when the gateway
// holds the TLS connection itself, or when a trusted proxy (TLS ending at
// an ingress) says so in X-Forwarded-Proto; a client's own say-so is not
// believed.
func scheme(r *http.Request, proxies forwarded.Proxies) string {
	if r.TLS != nil {
		return "https"
	}
	if proxies.FromTrustedPeer(r) {
		// The proxy nearest the gateway appended last.
		v := r.Header.Get("X-Forwarded-Proto")
		if i := strings.LastIndexByte(v, ','); i >= 0 {
			v = v[i+1:]
		}
		if strings.EqualFold(strings.TrimSpace(v), "https") {
			return "https"
		}
	}
	return "http"
}

// strictTransportSecurity tells browsers that reached the gateway on https
// never to use plain http for this host for a year. No includeSubDomains:
// the gateway does not speak for its parent domain's other hosts.
const strictTransportSecurity = "max-age=31536000"

// strictTransport sets HSTS on every answer to a browser on https: the
// UI's, the gateway's own errors and the upstreams' (whose own header the
// proxy drops).
func (h *handler) strictTransport(w http.ResponseWriter, r *http.Request) {
	if scheme(r, h.proxies) == "https" {
		w.Header().Set("Strict-Transport-Security", strictTransportSecurity)
	}
}

// keepHeaders puts the headers w has now (the gateway's own: the request
// id, HSTS) back on the final answer if they are gone by then. After
// passing on an upstream's 1xx (the 100 Continue of a request sent with
// Expect), httputil clears the header map, own headers included.
func keepHeaders(w http.ResponseWriter) http.ResponseWriter {
	return &headerKeeper{ResponseWriter: w, own: w.Header().Clone()}
}

type headerKeeper struct {
	http.ResponseWriter
	own   http.Header
	final bool // the final (non-1xx) header is written
}

func (k *headerKeeper) Write(b []byte) (int, error) {
	if !k.final {
		k.WriteHeader(http.StatusOK)
	}
	return k.ResponseWriter.Write(b)
}

func (k *headerKeeper) WriteHeader(code int) {
	if !k.final && (code >= 200 || code == http.StatusSwitchingProtocols) {
		k.final = true
		h := k.Header()
		for name, values := range k.own {
			if _, ok := h[name]; !ok {
				h[name] = values
			}
		}
	}
	k.ResponseWriter.WriteHeader(code)
}

func (k *headerKeeper) Flush() { _ = http.NewResponseController(k.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the connection.
func (k *headerKeeper) Unwrap() http.ResponseWriter { return k.ResponseWriter }

type forwardedForKey struct{}

// withForwardedFor carries the X-Forwarded-For of the request on whose
// behalf the gateway calls auth itself (the token exchange).
func withForwardedFor(ctx context.Context, xff string) context.Context {
	return context.WithValue(ctx, forwardedForKey{}, xff)
}

// ForwardClient sends, with each request the gateway makes on a browser's
// behalf (the token exchange), the X-Forwarded-For of that browser's
// request, so auth counts it for that client and not for the gateway.
func ForwardClient(next http.RoundTripper) http.RoundTripper {
	return forwardClient{next}
}

type forwardClient struct{ next http.RoundTripper }

func (f forwardClient) RoundTrip(r *http.Request) (*http.Response, error) {
	if xff, _ := r.Context().Value(forwardedForKey{}).(string); xff != "" {
		r = r.Clone(r.Context()) // a RoundTripper must not change its request
		r.Header.Set(forwarded.Header, xff)
	}
	return f.next.RoundTrip(r)
}
