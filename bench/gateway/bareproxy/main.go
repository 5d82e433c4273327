// Command bareproxy is bench/gateway's floor: net/http/httputil's
// ReverseProxy to one upstream over the same pooled Transport settings as
// the gateway, and nothing else (no router, cookie swap, CSRF check, request
// id, metrics or logs). Requests arrive with their Bearer token already. The
// gateway's cost above this one's is what Latch's own code adds; this one's
// cost is what any Go reverse proxy hop costs on the machine. Bench only.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "upstream origin, e.g. http://127.0.0.1:8000")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("-upstream: need an origin, got %q", *upstream)
	}
	// The same pool the gateway uses (services/gateway/router.NewTransport).
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.ResponseHeaderTimeout = 30 * time.Second
	t.DisableCompression = true
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
		},
		Transport: t,
	}
	srv := &http.Server{Addr: *addr, Handler: proxy, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
