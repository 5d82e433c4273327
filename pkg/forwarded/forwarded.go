// Package forwarded decides who a request's client is when proxies stand
// in front of a service, by one rule for every service: X-Forwarded-For is
// believed only as far as it was written by proxies the operator trusts
// (TRUSTED_PROXIES), so a client can never choose its own address.
//
// Each proxy appends the address of the peer it saw, so reading the chain
// from the right, every entry up to and including the first one that is not
// a trusted proxy was written by a trusted proxy: that first untrusted
// entry is the client. Everything to its left is the client's say-so.
package forwarded

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Header is the de facto standard header proxies append to.
const Header = "X-Forwarded-For"

// Proxies is the set of peers whose forwarding headers are believed.
type Proxies struct {
	prefixes []netip.Prefix
}

// Parse reads TRUSTED_PROXIES entries: CIDRs (10.0.0.0/8, fd00::/8) or
// single addresses. An entry that is neither is an error naming it.
func Parse(entries []string) (Proxies, error) {
	var p Proxies
	for _, raw := range entries {
		s := strings.TrimSpace(raw)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return Proxies{}, fmt.Errorf("%q is neither a CIDR like 10.0.0.0/8 nor an IP address", s)
			}
			a = a.Unmap()
			s = netip.PrefixFrom(a, a.BitLen()).String()
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return Proxies{}, fmt.Errorf("%q is not a CIDR like 10.0.0.0/8: %v", s, err)
		}
		if pfx.Addr().Is4In6() { // ::ffff:10.0.0.0/104 means 10.0.0.0/8
			pfx = netip.PrefixFrom(pfx.Addr().Unmap(), max(pfx.Bits()-96, 0))
		}
		p.prefixes = append(p.prefixes, pfx.Masked())
	}
	return p, nil
}

// MustParse is Parse for fixed lists (tests, defaults); it panics on a bad entry.
func MustParse(entries ...string) Proxies {
	p, err := Parse(entries)
	if err != nil {
		panic(err)
	}
	return p
}

// Empty reports whether no proxy is trusted: every peer is the client.
func (p Proxies) Empty() bool { return len(p.prefixes) == 0 }

// Trusts reports whether a is in a trusted range.
func (p Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(a) {
			return true
		}
	}
	return false
}

// String lists the ranges, for start-up logs.
func (p Proxies) String() string {
	s := make([]string, len(p.prefixes))
	for i, pfx := range p.prefixes {
		s[i] = pfx.String()
	}
	return strings.Join(s, ",")
}

// Peer is the connection's remote address.
func Peer(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// Client is the request's client address: the peer, unless the peer is a
// trusted proxy; then the right-most X-Forwarded-For entry that is not a
// trusted proxy. When every entry is trusted, the left-most one (a trusted
// host calling on its own behalf). An entry the trusted proxies wrote that
// is no address at all stops the walk at the hop that wrote it: requests
// then share that proxy's bucket rather than choosing their own.
func (p Proxies) Client(r *http.Request) (netip.Addr, bool) {
	peer, ok := Peer(r)
	if !ok || !p.Trusts(peer) {
		return peer, ok
	}
	client := peer
	entries := chain(r.Header)
	for i := len(entries) - 1; i >= 0; i-- {
		a, ok := parseEntry(entries[i])
		if !ok {
			return client, true
		}
		client = a
		if !p.Trusts(a) {
			break
		}
	}
	return client, true
}

// Append is the X-Forwarded-For a proxy sends upstream: the inbound chain
// with the peer appended when the peer is a trusted proxy, else the peer
// alone (the client's own header is dropped, never passed on as if a
// trusted proxy had written it). Empty when the peer has no address.
func (p Proxies) Append(r *http.Request) string {
	peer, ok := Peer(r)
	if !ok {
		return ""
	}
	if p.Trusts(peer) {
		if in := chain(r.Header); len(in) > 0 {
			return strings.Join(in, ", ") + ", " + peer.String()
		}
	}
	return peer.String()
}

// FromTrustedPeer reports whether the request's peer is a trusted proxy,
// whose other forwarding headers (X-Forwarded-Proto) may then be believed.
func (p Proxies) FromTrustedPeer(r *http.Request) bool {
	peer, ok := Peer(r)
	return ok && p.Trusts(peer)
}

// Private reports whether a is a loopback, private or link-local address:
// the kind of peer a proxy in front of the service usually has.
func Private(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast()
}

// chain is every X-Forwarded-For entry, across repeated header lines, in order.
func chain(h http.Header) []string {
	var out []string
	for _, line := range h.Values(Header) {
		for _, e := range strings.Split(line, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// parseEntry reads one entry: an address, possibly with a port as some
// proxies write it ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseEntry(e string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(e); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(e); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
