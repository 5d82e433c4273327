package router_test

import (
	"testing"
)

// The revocation feed (who signed out, when) is for resource servers; the
// gateway must not hand it to browsers under any spelling auth would route.
func TestTheRevocationFeedIsNotExposedThroughTheGateway(t *testing.T) {
	t.Parallel()
	auth, tasks := newUpstream(t, nil), newUpstream(t, nil)
	gw := newGateway(t, gatewayOpts{auth: auth.URL, tasks: tasks.URL})
	for _, path := range []string{
		"/api/auth/revocations",
		"/api/auth/revocations?after=0&wait=25",
		"/api/auth/%72evocations",
		"/api/auth/./revocations",
		"/api/auth/x/../revocations",
	} {
		resp, body := do(t, "GET", gw.URL+path, nil, "")
		if resp.StatusCode != 404 || body != "" {
			t.Errorf("GET %s = %d %q, want 404", path, resp.StatusCode, body)
		}
	}
	if n := len(auth.requests()); n != 0 {
		t.Errorf("auth was asked %d times for its feed through the gateway", n)
	}
	if resp, _ := do(t, "GET", gw.URL+"/api/auth/revocations-not", nil, ""); resp.StatusCode != 200 || len(auth.requests()) != 1 {
		t.Errorf("a neighbouring path was not forwarded: %d", resp.StatusCode)
	}
}
