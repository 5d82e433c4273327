package forwarded

import (
	"net/http"
	"net/netip"
	"testing"
)

func request(peer string, xff ...string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://svc/", nil)
	r.RemoteAddr = peer
	for _, v := range xff {
		r.Header.Add(Header, v)
	}
	return r
}

func TestParse(t *testing.T) {
	p, err := Parse([]string{" 10.0.0.0/8", "192.0.2.7", "fd00::/8", "::ffff:172.16.0.0/108", ""})
	if err != nil {
		t.Fatal(err)
	}
	if got := p.String(); got != "10.0.0.0/8,192.0.2.7/32,fd00::/8,172.16.0.0/12" {
		t.Errorf("parsed %s", got)
	}
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1-10.0.0.9", "*"} {
		if _, err := Parse([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if empty, _ := Parse(nil); !empty.Empty() {
		t.Error("no entries is not empty")
	}
}

// TestClient is the attack table: a client that reaches the service
// directly, or through a proxy, never chooses its own address.
func TestClient(t *testing.T) {
	gw := MustParse("10.0.0.0/24")
	twoHops := MustParse("10.0.0.0/24", "192.168.1.1")
	tests := []struct {
		name string
		p    Proxies
		peer string
		xff  []string
		want string
	}{
		{"no proxy trusted: the header is ignored", Proxies{}, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer forging a chain", gw, "203.0.113.9:5000", []string{"10.0.0.5, 198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, client appended", gw, "10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged prefix before the appended client", gw, "10.0.0.2:5000", []string{"1.1.1.1, 10.0.0.9, 203.0.113.9"}, "203.0.113.9"},
		{"forged trusted-looking entry on the left only", gw, "10.0.0.2:5000", []string{"10.0.0.9, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted hops", twoHops, "10.0.0.2:5000", []string{"forged, 203.0.113.9, 192.168.1.1"}, "203.0.113.9"},
		{"repeated header lines read as one chain", twoHops, "10.0.0.2:5000", []string{"forged", "203.0.113.9", "192.168.1.1"}, "203.0.113.9"},
		{"entry with a port", gw, "10.0.0.2:5000", []string{"[2001:db8::1]:4711"}, "2001:db8::1"},
		{"mapped IPv4", gw, "[::ffff:10.0.0.2]:5000", []string{"::ffff:203.0.113.9"}, "203.0.113.9"},
		{"trusted peer without a header: the proxy itself", gw, "10.0.0.2:5000", nil, "10.0.0.2"},
		{"every entry trusted: the left-most", gw, "10.0.0.2:5000", []string{"10.0.0.7, 10.0.0.3"}, "10.0.0.7"},
		{"garbage written where the client should be: the proxy's bucket", gw, "10.0.0.2:5000", []string{"198.51.100.1, unknown"}, "10.0.0.2"},
		{"garbage behind a trusted hop", twoHops, "10.0.0.2:5000", []string{"198.51.100.1, unknown, 192.168.1.1"}, "192.168.1.1"},
	}
	for _, tc := range tests {
		got, ok := tc.p.Client(request(tc.peer, tc.xff...))
		if !ok || got != netip.MustParseAddr(tc.want) {
			t.Errorf("%s: client %v (%v), want %s", tc.name, got, ok, tc.want)
		}
	}
	if _, ok := gw.Client(request("not-an-address")); ok {
		t.Error("a peer without an address gave a client")
	}
}

func TestAppend(t *testing.T) {
	lb := MustParse("10.1.0.0/16")
	tests := []struct {
		name string
		p    Proxies
		peer string
		xff  []string
		want string
	}{
		{"untrusted peer's chain is replaced", lb, "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"nothing trusted: the peer alone", Proxies{}, "10.1.0.4:5000", []string{"198.51.100.1"}, "10.1.0.4"},
		{"trusted peer: appended", lb, "10.1.0.4:5000", []string{"198.51.100.1, 203.0.113.9"}, "198.51.100.1, 203.0.113.9, 10.1.0.4"},
		{"trusted peer, several lines", lb, "10.1.0.4:5000", []string{"198.51.100.1", "203.0.113.9"}, "198.51.100.1, 203.0.113.9, 10.1.0.4"},
		{"trusted peer, no header", lb, "10.1.0.4:5000", nil, "10.1.0.4"},
	}
	for _, tc := range tests {
		if got := tc.p.Append(request(tc.peer, tc.xff...)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestPrivate(t *testing.T) {
	for a, want := range map[string]bool{
		"127.0.0.1": true, "10.2.3.4": true, "172.20.0.3": true, "192.168.0.1": true, "fd12::1": true,
		"::1": true, "fe80::1": true, "::ffff:10.0.0.1": true, "203.0.113.9": false, "2001:db8::1": false,
	} {
		if got := Private(netip.MustParseAddr(a)); got != want {
			t.Errorf("Private(%s) = %v", a, got)
		}
	}
}
