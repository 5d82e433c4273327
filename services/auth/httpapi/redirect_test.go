package httpapi

import (
	"strings"
	"testing"

	whatwg "github.com/nlnwa/whatwg-url/url"
)

// The deployment the redirect tests assume: the API on localhost:3000, one
// trusted app origin and one wildcard.
const testAPIBase = "http://localhost:3000/api/auth"

func testHandler() *handler {
	return &handler{
		origins: newTrustedOrigins([]string{"http://localhost:3000", "https://app.example.com", "https://*.wild.example"}),
		origin:  "http://localhost:3000",
		apiBase: testAPIBase,
	}
}

// browserOrigin is where a browser goes when it follows Location from a
// response to requestURL: the WHATWG URL parser (backslash as slash in
// special schemes, tab and newlines dropped, leading and trailing C0 and
// spaces trimmed, IDNA), after net/http's turning of CR and LF into spaces.
// ok is false when the browser cannot parse it (no navigation).
func browserOrigin(requestURL, location string) (origin string, ok bool) {
	sent := strings.NewReplacer("\r", " ", "\n", " ").Replace(location)
	u, err := whatwg.ParseRef(requestURL, sent)
	if err != nil {
		return "", false
	}
	switch u.Scheme() {
	case "http", "https", "ws", "wss", "ftp":
		return u.Protocol() + "//" + u.Host(), true
	}
	return "opaque:" + u.Href(false), true // an opaque origin: never one of ours
}

// trustedBrowserOrigin says whether a browser-computed origin is one the test
// deployment trusts.
func trustedBrowserOrigin(origin string) bool {
	switch origin {
	case "http://localhost:3000", "https://app.example.com":
		return true
	}
	host, ok := strings.CutPrefix(origin, "https://")
	if !ok || strings.ContainsAny(host, ":@/\\") {
		return false
	}
	label, rest, _ := strings.Cut(host, ".")
	return label != "" && rest == "wild.example"
}

// redirectCorpus is every tricky value we know of, with whether the rule
// accepts it (Better Auth 1.7's isTrustedOrigin with allowRelativePaths).
var redirectCorpus = []struct {
	value  string
	accept bool
}{
	{"/", true},
	{"/dashboard", true},
	{"/done?x=1", true},
	{"/done?x=1#top", true},
	{"/a/b/../c", true},
	{"/%20x", true},
	{"/caf\u00e9", true},
	{"/path with spaces", true},
	{"/@evil.example", true},
	{"/x?next=//evil.example", true},
	{"/x?next=%2F%2Fevil.example", true}, // an encoded slash in the query is data
	{"/x#//evil.example", true},
	{"/:evil.example", true},
	{"http://localhost:3000/ok", true},
	{"HTTP://LOCALHOST:3000/ok", true},
	{"https://app.example.com", true},
	{"https://app.example.com/?a=b#c", true},
	{"https://app.example.com/%2F%2Fevil.example", true}, // an absolute URL's path stays on its host
	{"https://x.wild.example/cb", true},

	{"", false},
	{"//evil.example", false},
	{"///evil.example", false},
	{"/\\evil.example", false},
	{"\\/evil.example", false},
	{"\\\\evil.example", false},
	{"/x\\y", false},
	{"/%2Fevil.example/%20x", false},
	{"/%2fevil.example", false},
	{"/%5Cevil.example", false},
	{"/%5cevil.example", false},
	{"/a/%2F/b", false},
	{"/\t/evil.example", false},
	{"/\n/evil.example", false},
	{"/\r/evil.example", false},
	{"/%09/evil.example", true}, // %09 stays an encoded byte in a path: same origin
	{"/%", false},               // found by FuzzRedirectLocation: a broken escape
	{"/a%zz", false},
	{"/\x00", false},
	{"/\x7f", false},
	{"/\u0085/evil.example", false},
	{"/\xff", false},
	{" //evil.example", false},
	{"\t//evil.example", false},
	{"evil.example", false},
	{"https://evil.example", false},
	{"https://evil.example/", false},
	{"https:evil.example", false},
	{"https:/evil.example", false},
	{"https:\\\\evil.example", false},
	{"https://app.example.com@evil.example", false},
	{"https://app.example.com:443@evil.example", false},
	{"https://user:pass@app.example.com", false},
	{"https://app.example.com\\@evil.example", false},
	{"https://evil.example\\.app.example.com", false},
	{"https://evil.example#@app.example.com", false},
	{"https://evil.example?@app.example.com", false},
	{"https://app.example.com.evil.example", false},
	{"https://app.example.com:8443", false},
	{"https://app.example.com%2F@evil.example", false},
	{"https://evil%2Eexample", false},
	{"http://app.example.com", false},
	{"https://ÄPP.example.com", false},
	{"https://xn--pp-xla.example.com", false},
	{"https://evil\u3002example", false},
	{"https://evil.example\uff0fx.wild.example", false},
	{"https://evil.example/.wild.example", false},
	{"https://a.b.wild.example", false},
	{"https://.wild.example", false},
	{"http://x.wild.example", false},
	{"javascript:alert(1)", false},
	{"javascript://app.example.com/%0aalert(1)", false},
	{"JaVaScRiPt:alert(1)", false},
	{"data:text/html,<script>alert(1)</script>", false},
	{"vbscript:msgbox(1)", false},
	{"//app.example.com", false}, // scheme-relative, even to a trusted host: Better Auth refuses it too
	{"/\\app.example.com", false},
}

func TestRedirectRuleAcceptsWhatBetterAuthAccepts(t *testing.T) {
	t.Parallel()
	h := testHandler()
	for _, tc := range redirectCorpus {
		if got := h.origins.allowsRedirect(tc.value); got != tc.accept {
			t.Errorf("allowsRedirect(%q) = %v, want %v", tc.value, got, tc.accept)
		}
	}
}

// locations are every Location the handlers build from an accepted value v.
func locations(h *handler, v, value string) map[string]string {
	return map[string]string{
		"as is (verify-email, OAuth callback)": v,
		"with ?error= (verify-email, OAuth)":   withQuery(v, "error", value),
		"reset link (absolute, token set)":     withParam(h.absolute(v), "token", value),
		"reset link failure":                   withParam(h.absolute(v), "error", value),
	}
}

// checkLocations is the property: a value the rule accepts never yields a
// Location a browser reads as another origin, and every Location built from
// it passes the rule again (what redirect checks before sending).
func checkLocations(t *testing.T, h *handler, v, value string) {
	t.Helper()
	for name, loc := range locations(h, v, value) {
		for _, from := range []string{testAPIBase + "/verify-email?token=x", testAPIBase + "/callback/google?state=s"} {
			origin, ok := browserOrigin(from, loc)
			if ok && !trustedBrowserOrigin(origin) {
				t.Fatalf("accepted %q, %s: Location %q takes the browser to %s", v, name, loc, origin)
			}
		}
		if !h.origins.allowsRedirect(loc) {
			t.Fatalf("accepted %q, %s: built Location %q fails the rule", v, name, loc)
		}
	}
}

func TestAcceptedRedirectsStayOnTrustedOrigins(t *testing.T) {
	t.Parallel()
	h := testHandler()
	for _, tc := range redirectCorpus {
		if h.origins.allowsRedirect(tc.value) {
			checkLocations(t, h, tc.value, "INVALID_TOKEN")
			checkLocations(t, h, tc.value, "/evil.example/#@x") // a provider's error parameter is the attacker's
		}
	}
}

func TestLocationsAreBuiltAsText(t *testing.T) {
	t.Parallel()
	h := testHandler()
	tests := []struct{ name, got, want string }{
		{"query appended", withQuery("/done", "error", "X"), "/done?error=X"},
		{"to an existing query", withQuery("/done?x=1", "error", "X"), "/done?x=1&error=X"},
		{"before the fragment", withQuery("/done#top", "error", "X"), "/done?error=X#top"},
		{"after a bare ?", withQuery("/done?", "error", "X"), "/done?error=X"},
		{"encodings kept", withQuery("/a%20b/c%3F?q=%2F", "error", "X"), "/a%20b/c%3F?q=%2F&error=X"},
		{"value escaped", withQuery("/done", "error", "a&b=c#d/e"), "/done?error=a%26b%3Dc%23d%2Fe"},
		{"relative made absolute", withParam(h.absolute("/reset"), "token", "T"), "http://localhost:3000/reset?token=T"},
		{"param replaced", withParam("https://app.example.com/r?token=old&x=1&token=older#f", "token", "T"), "https://app.example.com/r?x=1&token=T#f"},
		{"encoded name replaced", withParam("/r?%74oken=old", "token", "T"), "/r?token=T"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

// FuzzRedirectLocation: whatever the rule accepts, every Location built from
// it stays on a trusted origin as a browser reads it. Run with
// go test -fuzz FuzzRedirectLocation ./httpapi; the seeds are the corpus
// above plus testdata/fuzz/FuzzRedirectLocation.
func FuzzRedirectLocation(f *testing.F) {
	for _, tc := range redirectCorpus {
		f.Add(tc.value, "INVALID_TOKEN")
	}
	h := testHandler()
	f.Fuzz(func(t *testing.T, v, value string) {
		if !h.origins.allowsRedirect(v) {
			return
		}
		checkLocations(t, h, v, value)
	})
}
