package router

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/latchid/latch/pkg/forwarded"
	"github.com/latchid/latch/pkg/httplog"
)

// NewTransport is the connection pool to the upstreams. Keep-alive pools
// are sized for a gateway's fan-in (the default 2 idle connections per host
// would make every burst dial anew), and a stalled upstream answers 504
// after timeout instead of holding the client.
func NewTransport(timeout time.Duration) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // upstreams are addressed directly, never via HTTP_PROXY
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = timeout
	t.DisableCompression = true // bodies pass as the upstream encoded them
	return t
}

// errorBody writes the gateway's own error in the upstream's error shape.
type errorBody func(w http.ResponseWriter, status int, msg string)

// newProxy forwards to target, streaming both ways. httputil drops the
// hop-by-hop headers and any X-Forwarded-* the client sent; Rewrite sets
// them anew: X-Forwarded-For is the inbound chain plus the peer when the
// peer is a trusted proxy, else the peer alone (a client's own chain is
// never passed on as if a trusted proxy had written it).
func newProxy(name string, target *url.URL, transport http.RoundTripper, proxies forwarded.Proxies, fail errorBody, log *slog.Logger) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			if xff := proxies.Append(pr.In); xff != "" {
				pr.Out.Header.Set(forwarded.Header, xff)
			}
			pr.Out.Header.Set("X-Forwarded-Host", pr.In.Host)
			pr.Out.Header.Set("X-Forwarded-Proto", scheme(pr.In, proxies))
			if id := httplog.RequestID(pr.In.Context()); id != "" {
				pr.Out.Header.Set(httplog.Header, id)
			}
		},
		Transport:  transport,
		BufferPool: copyBuffers,
		ModifyResponse: func(resp *http.Response) error {
			// The gateway already answers with the request id; the
			// upstream's echo of the same id would make it appear twice.
			resp.Header.Del(httplog.Header)
			// HSTS is the gateway's to decide (strictTransport): auth on an
			// https base URL sends its own, which would repeat it, or claim
			// https on an answer that went out over http.
			resp.Header.Del("Strict-Transport-Security")
			return nil
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			ctx := r.Context()
			switch {
			case ctx.Err() != nil && errors.Is(err, context.Canceled):
				// The client left; nobody reads an answer.
				log.DebugContext(ctx, "client went away", "upstream", name)
				w.WriteHeader(499)
			case isTimeout(err):
				log.WarnContext(ctx, "upstream timed out", "upstream", name, "err", err)
				fail(w, http.StatusGatewayTimeout, "The "+name+" service did not answer in time")
			default:
				log.WarnContext(ctx, "upstream unavailable", "upstream", name, "err", err)
				fail(w, http.StatusBadGateway, "The "+name+" service is unavailable")
			}
		},
	}
}

// copyBuffers reuses the 32 KiB buffers responses are copied through, which
// httputil would otherwise allocate per request.
var copyBuffers = &bufferPool{pool: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte  { return *p.pool.Get().(*[]byte) }
func (p *bufferPool) Put(b []byte) { p.pool.Put(&b) }

func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
