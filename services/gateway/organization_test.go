package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/signedcookie"
)

// orgAuth stands in for auth with the organization plugin: it mints the
// session's token from its current organization and role, serves the
// revocation feed, and answers set-active. (The real routes are built in
// services/auth; this checks the gateway's wiring around them.)
type orgAuth struct {
	mu      sync.Mutex
	org     string
	role    string
	next    bool // mint from the next second (auth does after a membership change)
	events  []revocation.Event
	changed chan struct{}
}

func (a *orgAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/api/auth/token":
		a.mu.Lock()
		iat := time.Now()
		if a.next {
			iat = iat.Truncate(time.Second).Add(time.Second)
		}
		claims, _ := json.Marshal(map[string]any{"sub": "ann", "sid": "s1", "iat": iat.Unix(), "exp": iat.Add(15 * time.Minute).Unix(), "org": a.org, "org_role": a.role})
		a.mu.Unlock()
		enc := base64.RawURLEncoding
		_ = json.NewEncoder(w).Encode(map[string]string{"token": enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString(claims) + ".c2ln"})
	case "/api/auth/organization/set-active":
		var body struct {
			OrganizationID string `json:"organizationId"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		a.mu.Lock()
		a.org, a.role = body.OrganizationID, "owner"
		a.mu.Unlock()
		_, _ = io.WriteString(w, `{"id":"`+body.OrganizationID+`"}`)
	case "/api/auth/revocations":
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
		deadline := time.After(time.Duration(wait) * time.Second)
		for {
			a.mu.Lock()
			page := revocation.Page{Events: []revocation.Event{}}
			for _, e := range a.events {
				if e.ID > after {
					page.Events = append(page.Events, e)
				}
				page.Head = e.ID
			}
			changed := a.changed
			a.mu.Unlock()
			if len(page.Events) > 0 || wait == 0 {
				_ = json.NewEncoder(w).Encode(page)
				return
			}
			select {
			case <-changed:
			case <-deadline:
				wait = 0
			case <-r.Context().Done():
				return
			}
		}
	default:
		http.NotFound(w, r)
	}
}

func (a *orgAuth) demote(role string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.role, a.next = role, true
	now := time.Now()
	a.events = append(a.events, revocation.Event{ID: int64(len(a.events) + 1), Kind: revocation.KindMember, Subject: "ann", OrganizationID: a.org, At: now, Until: now.Add(16 * time.Minute)})
	close(a.changed)
	a.changed = make(chan struct{})
}

// The gateway's wiring of both organization paths: a member event on the
// feed makes the next request carry the new role (the cached token said
// admin for 15 more minutes), and switching organization through the
// gateway makes the very next request carry the new organization.
func TestTheGatewayFollowsMembershipChangesAndTheBrowsersSwitch(t *testing.T) {
	auth := &orgAuth{org: "org-x", role: "admin", changed: make(chan struct{})}
	authSrv := httptest.NewServer(auth)
	defer authSrv.Close()
	tasks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Echo the token's organization claims: what tasks would enforce.
		payload := strings.Split(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), ".")
		if len(payload) != 3 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		raw, _ := base64.RawURLEncoding.DecodeString(payload[1])
		_, _ = w.Write(raw)
	}))
	defer tasks.Close()
	env := map[string]string{"AUTH_URL": authSrv.URL, "TASKS_URL": tasks.URL, "BETTER_AUTH_URL": "http://localhost:3000", "LOG_LEVEL": "warn"}
	cfg, err := loadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	gw := httptest.NewServer(a.handler)
	defer func() { gw.Close(); a.Close() }()
	cookie := "better-auth.session_token=" + signedcookie.EncodeValue(signedcookie.Sign("sess-token-1", "any-secret-the-gateway-never-checks"))
	seen := func() (org, role string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, gw.URL+"/api/tasks", nil)
		req.Header.Set("Cookie", cookie)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var c struct {
			Org  string `json:"org"`
			Role string `json:"org_role"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&c); err != nil {
			t.Fatalf("tasks answer: %d %v", resp.StatusCode, err)
		}
		return c.Org, c.Role
	}
	for range 3 {
		if org, role := seen(); org != "org-x" || role != "admin" {
			t.Fatalf("before: %s %s", org, role)
		}
	}

	auth.demote("member")
	start := time.Now()
	for {
		if _, role := seen(); role == "member" {
			break
		}
		if time.Since(start) > time.Second {
			t.Fatal("the gateway still sends the demoted admin's token a second after the member event")
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("the demoted admin's cached token replaced %v after the event", time.Since(start).Round(time.Millisecond))

	req, _ := http.NewRequest(http.MethodPost, gw.URL+"/api/auth/organization/set-active", strings.NewReader(`{"organizationId":"org-y"}`))
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", "http://localhost:3000")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set-active: %d", resp.StatusCode)
	}
	if org, role := seen(); org != "org-y" || role != "owner" {
		t.Fatalf("the request right after switching carried %s %s, want org-y owner", org, role)
	}
}
