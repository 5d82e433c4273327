// Command bareproxy is bench/gateway's floor: net/http/httputil's
// ReverseProxy to one upstream over the same connection pool as
// the gateway, and nothing else (no router, cookie swap, CSRF check, request
// id, metrics or logs). Requests arrive with their Bearer token already. The
// gateway's cost above this one's is what Latch's own code adds; this one's
// cost is what any Go reverse proxy hop costs on the machine. Bench only.
package main

import (
	"flag"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"

	"github.com/latchid/latch/services/gateway/router"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	upstream := flag.String("upstream", "", "upstream origin, e.g. http://127.0.0.1:8000")
	flag.Parse()
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("-upstream: need an origin, got %q", *upstream)
	}
	// The gateway's own connection pool, so the two hops differ only in what
	// the gateway does around it.
	t := router.NewTransport(30 * time.Second)
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
