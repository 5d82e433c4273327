package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A client that sends its Cookie header by hand, as an attacker does.
type rawClient struct {
	t      *testing.T
	s      *stack
	client *http.Client
}

func newRawClient(t *testing.T, s *stack) *rawClient {
	return &rawClient{t: t, s: s, client: &http.Client{Timeout: 20 * time.Second}}
}

func (c *rawClient) do(method, path, cookie, body string) (int, string, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.s.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Origin", c.s.Public)
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out), resp.Header
}

// signUp returns the session cookie (name=value, as sent on the wire).
func (c *rawClient) signUp(name, email string) string {
	c.t.Helper()
	status, body, hdr := c.do("POST", "/api/auth/sign-up/email", "",
		fmt.Sprintf(`{"name":%q,"email":%q,"password":"password123"}`, name, email))
	if status != 200 {
		c.t.Fatalf("sign-up %s = %d %s", email, status, body)
	}
	for _, line := range hdr.Values("Set-Cookie") {
		pair, _, _ := strings.Cut(line, ";")
		if n, _, _ := strings.Cut(pair, "="); strings.HasSuffix(n, "better-auth.session_token") {
			return pair
		}
	}
	c.t.Fatalf("sign-up set no session cookie: %v", hdr.Values("Set-Cookie"))
	return ""
}

func (c *rawClient) createTask(cookie, title string) {
	c.t.Helper()
	if status, body, _ := c.do("POST", "/api/tasks", cookie, fmt.Sprintf(`{"title":%q}`, title)); status != 201 {
		c.t.Fatalf("create task = %d %s", status, body)
	}
}

func titles(t *testing.T, body string) []string {
	t.Helper()
	var list []struct{ Title string }
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatalf("task list %q: %v", body, err)
	}
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = x.Title
	}
	return out
}

// Attack: with an https base URL auth reads only __Secure-…session_token.
// A plain better-auth.session_token planted beside the victim's real cookie
// must not become a key under which the victim's JWT is cached: alone, the
// planted value must not reach the victim's tasks.
func TestAPlantedPlainCookieDoesNotInheritTheVictimsSession(t *testing.T) {
	t.Parallel()
	s := startStackOn(t, "https", nil)
	c := newRawClient(t, s)
	victim := c.signUp("Vic", "vic@example.com")
	if !strings.HasPrefix(victim, "__Secure-better-auth.session_token=") {
		t.Fatalf("with an https base URL auth set %q", victim)
	}
	c.createTask(victim, "Vic's secret")
	planted := "better-auth.session_token=attacker-chosen.value"

	// The victim's browser sends both: the planted one first.
	status, body, _ := c.do("GET", "/api/tasks", planted+"; "+victim, "")
	if status != 200 || !strings.Contains(body, "Vic's secret") {
		t.Fatalf("the victim's own request = %d %s", status, body)
	}
	// The attacker sends the planted value alone.
	for _, req := range []struct{ method, path, body string }{
		{"GET", "/api/tasks", ""},
		{"POST", "/api/tasks", `{"title":"planted by the attacker"}`},
	} {
		status, body, _ := c.do(req.method, req.path, planted, req.body)
		if status != 401 {
			t.Fatalf("%s %s with the planted cookie alone = %d %s, want 401", req.method, req.path, status, body)
		}
	}
	if status, body, _ := c.do("GET", "/api/tasks", victim, ""); status != 200 || strings.Join(titles(t, body), ",") != "Vic's secret" {
		t.Fatalf("the victim's tasks afterwards = %d %s", status, body)
	}
}

// Attack: a stolen cookie respelled (one character percent-encoded, or the
// signature's last digit with its unused low bits set) is the same session
// to auth. It must be the same cache entry at the gateway, so the owner's
// sign-out ends it too, instead of it working on until its JWT expires.
func TestARespelledCookieIsEvictedByTheOwnersSignOut(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	c := newRawClient(t, s)
	victim := c.signUp("Vic", "vic@example.com")
	c.createTask(victim, "Vic's secret")
	name, value, _ := strings.Cut(victim, "=")

	// value is token.signature, URL-encoded: the signature ends in "%3D" ('=').
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	if !strings.HasSuffix(value, "%3D") {
		t.Fatalf("unexpected cookie value %q", value)
	}
	lastDigit := value[len(value)-4]
	lowBitSet := alphabet[strings.IndexByte(alphabet, lastDigit)|1]
	respellings := map[string]string{
		"percent-encoded token character": fmt.Sprintf("%s=%%%02X%s", name, value[0], value[1:]),
		"signature low bits":              name + "=" + value[:len(value)-4] + string(lowBitSet) + "%3D",
	}
	for what, cookie := range respellings {
		if status, body, _ := c.do("GET", "/api/tasks", cookie, ""); status != 200 || !strings.Contains(body, "Vic's secret") {
			t.Fatalf("%s: auth should accept the respelled cookie %q like the original: %d %s", what, cookie, status, body)
		}
	}
	if status, body, _ := c.do("POST", "/api/auth/sign-out", victim, "{}"); status != 200 {
		t.Fatalf("sign-out = %d %s", status, body)
	}
	for what, cookie := range respellings {
		if status, body, _ := c.do("GET", "/api/tasks", cookie, ""); status != 401 {
			t.Errorf("%s: after the owner signed out the respelled cookie = %d %s, want 401", what, status, body)
		}
	}
}
