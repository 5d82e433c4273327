package exchange_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/gateway/exchange"
)

// orgJWT is a token of user sub's session sid naming org with role, issued at iat.
func orgJWT(sub, sid, org, role string, iat time.Time) string {
	enc := base64.RawURLEncoding
	claims := map[string]any{"sub": sub, "sid": sid, "iat": iat.Unix(), "exp": iat.Add(15 * time.Minute).Unix()}
	if org != "" {
		claims["org"], claims["org_role"] = org, role
	}
	payload, _ := json.Marshal(claims)
	return enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString(payload) + ".c2ln"
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// standInAuth mints, for each session id, the token its current state
// says; what it would mint changes when a test changes the state.
type standInAuth struct {
	mu    sync.Mutex
	state map[string][4]string // sid → sub, org, role, and "next" when it mints in the next second
	asked map[string]int
	srv   *httptest.Server
}

func newStandInAuth(t *testing.T) *standInAuth {
	a := &standInAuth{state: map[string][4]string{}, asked: map[string]int{}}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := http.ParseCookie(r.Header.Get("Cookie"))
		var sid string
		for _, c := range raw {
			if c.Name == "better-auth.session_token" {
				sid, _ = signedcookie.Verify(signedcookie.DecodeValue(c.Value), testSecret)
			}
		}
		a.mu.Lock()
		st, ok := a.state[sid]
		a.asked[sid]++
		a.mu.Unlock()
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		iat := time.Now()
		if st[3] == "next" { // auth mints no org token in the second of a change
			iat = iat.Truncate(time.Second).Add(time.Second)
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"token": orgJWT(st[0], sid, st[1], st[2], iat)})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *standInAuth) set(sid, sub, org, role string, next bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := ""
	if next {
		n = "next"
	}
	a.state[sid] = [4]string{sub, org, role, n}
}

func (a *standInAuth) times(sid string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.asked[sid]
}

func cookieOf(t *testing.T, sid string) exchange.Session {
	return session(t, "better-auth.session_token="+signedcookie.EncodeValue(signedcookie.Sign(sid, testSecret)))
}

// Attack: an admin is demoted at auth (any replica). The gateway holds the
// session's token saying org_role=admin for another 14 minutes; a member
// event in the deny set must make it exchange a fresh one (role member),
// in memory and through the shared cache, and leave alone the tokens of
// another organization and of another user of the same organization.
func TestAMemberEventDropsTheCachedTokenWithTheOldRole(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis=%v", withRedis), func(t *testing.T) {
			auth := newStandInAuth(t)
			n := time.Now().UnixNano()
			annX, annY, bobX := fmt.Sprintf("ann-x-%d", n), fmt.Sprintf("ann-y-%d", n), fmt.Sprintf("bob-x-%d", n)
			auth.set(annX, "ann", "org-x", "admin", false)
			auth.set(annY, "ann", "org-y", "owner", false)
			auth.set(bobX, "bob", "org-x", "admin", false)
			set := revocation.NewSet(time.Minute, nil)
			set.MarkSynced()
			cfg := exchange.Config{TokenURL: auth.srv.URL, Client: http.DefaultClient, CacheSize: 10,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Revocations: set}
			if withRedis {
				cfg.Redis = testdb.Redis(t)
				t.Cleanup(func() {
					for _, sid := range []string{annX, annY, bobX} {
						cfg.Redis.Del(context.Background(), "latch:gateway:token:"+cookieOf(t, sid).Key())
					}
				})
			}
			x, err := exchange.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for range 2 {
				for _, sid := range []string{annX, annY, bobX} {
					if _, err := x.Token(ctx, cookieOf(t, sid)); err != nil {
						t.Fatal(err)
					}
				}
			}
			// Demoted in org-x; auth will mint the new role from the next second.
			auth.set(annX, "ann", "org-x", "member", true)
			now := time.Now()
			set.Apply(revocation.Event{ID: 1, Kind: revocation.KindMember, Subject: "ann", OrganizationID: "org-x", At: now, Until: now.Add(time.Hour)})
			tok, err := x.Token(ctx, cookieOf(t, annX))
			if err != nil {
				t.Fatal(err)
			}
			if role := claimsOf(t, tok)["org_role"]; role != "member" {
				t.Fatalf("after the demotion the gateway hands out org_role %v, want member (a fresh exchange)", role)
			}
			if got := auth.times(annX); got != 2 {
				t.Errorf("auth asked %d times for the demoted session, want 2", got)
			}
			for _, sid := range []string{annX, annY, bobX} { // from the cache again
				if _, err := x.Token(ctx, cookieOf(t, sid)); err != nil {
					t.Fatal(err)
				}
			}
			if auth.times(annX) != 2 || auth.times(annY) != 1 || auth.times(bobX) != 1 {
				t.Errorf("auth asked ann/x %d, ann/y %d, bob/x %d times, want 2, 1, 1 (the event is about ann in org-x only)",
					auth.times(annX), auth.times(annY), auth.times(bobX))
			}
			if withRedis {
				// A second replica with a cold memory finds the new token in Redis.
				other, _ := exchange.New(cfg)
				tok, err := other.Token(ctx, cookieOf(t, annX))
				if err != nil || claimsOf(t, tok)["org_role"] != "member" {
					t.Fatalf("another replica: %v %v", err, claimsOf(t, tok)["org_role"])
				}
			}
		})
	}
}

// An organization deleted anywhere drops every cached token naming it.
func TestADeletedOrganizationDropsEveryCachedTokenNamingIt(t *testing.T) {
	auth := newStandInAuth(t)
	n := time.Now().UnixNano()
	a, b := fmt.Sprintf("a-%d", n), fmt.Sprintf("b-%d", n)
	auth.set(a, "ann", "org-x", "owner", false)
	auth.set(b, "bob", "org-x", "member", false)
	set := revocation.NewSet(time.Minute, nil)
	set.MarkSynced()
	x, _ := exchange.New(exchange.Config{TokenURL: auth.srv.URL, Client: http.DefaultClient, CacheSize: 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Revocations: set})
	ctx := context.Background()
	for _, sid := range []string{a, b} {
		if _, err := x.Token(ctx, cookieOf(t, sid)); err != nil {
			t.Fatal(err)
		}
		auth.set(sid, map[string]string{a: "ann", b: "bob"}[sid], "", "", false) // no active organization any more
	}
	now := time.Now()
	set.Apply(revocation.Event{ID: 1, Kind: revocation.KindOrganizationDeleted, Subject: "org-x", At: now, Until: now.Add(time.Hour)})
	for _, sid := range []string{a, b} {
		tok, err := x.Token(ctx, cookieOf(t, sid))
		if err != nil {
			t.Fatal(err)
		}
		if org, ok := claimsOf(t, tok)["org"]; ok {
			t.Errorf("%s: still handed a token naming %v", sid, org)
		}
	}
}

// recordingEvicter notes evictions, and whether one happened before the
// answer's status reached the browser.
type recordingEvicter struct {
	mu      sync.Mutex
	evicted []string
}

func (r *recordingEvicter) Evict(_ context.Context, s exchange.Session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.evicted = append(r.evicted, s.Key())
}

func (r *recordingEvicter) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.evicted)
}

type orderWriter struct {
	*httptest.ResponseRecorder
	ev          *recordingEvicter
	atWriteHead int
	wroteHeader bool
}

func (w *orderWriter) WriteHeader(status int) {
	if !w.wroteHeader {
		w.wroteHeader = true
		w.atWriteHead = w.ev.count()
	}
	w.ResponseRecorder.WriteHeader(status)
}

func TestSwitchingOrganizationEvictsTheSessionsTokenBeforeTheAnswerAndOnlyOnSuccess(t *testing.T) {
	cookies := exchange.NewCookies(false)
	header := "theme=dark; better-auth.session_token=" + signedcookie.EncodeValue(signedcookie.Sign("sess-1", testSecret))
	want := cookieOf(t, "sess-1").Key()
	for _, tc := range []struct {
		method, path string
		status       int
		evicts       bool
	}{
		{"POST", "/api/auth/organization/set-active", 200, true},
		{"POST", "/api/auth/organization/create", 200, true},
		{"POST", "/api/auth/organization/accept-invitation", 200, true},
		{"POST", "/api/auth/organization/leave", 200, true},
		{"POST", "/api/auth/organization/delete", 200, true},
		{"POST", "/api/auth/organization/./set-active", 200, true},
		{"POST", "/api/auth/organization/x/../set-active", 200, true},
		{"POST", "/api/auth/organization/set-active", 403, false},
		{"POST", "/api/auth/organization/set-active", 400, false},
		{"POST", "/api/auth/organization/set-active", 502, false},
		{"GET", "/api/auth/organization/set-active", 200, false},
		{"POST", "/api/auth/organization/update", 200, false},
		{"POST", "/api/auth/organization/list-members", 200, false},
		{"POST", "/api/auth/sign-in/email", 200, false},
	} {
		ev := &recordingEvicter{}
		upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, `{}`)
		})
		h := exchange.EvictOnSwitch(ev, cookies, upstream)
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Cookie", header)
		w := &orderWriter{ResponseRecorder: httptest.NewRecorder(), ev: ev}
		h.ServeHTTP(w, req)
		if w.Code != tc.status || w.Body.String() != `{}` {
			t.Errorf("%s %s: answer changed to %d %q", tc.method, tc.path, w.Code, w.Body)
		}
		switch {
		case tc.evicts && (ev.count() != 1 || ev.evicted[0] != want):
			t.Errorf("%s %s %d: evicted %v, want the session's key once", tc.method, tc.path, tc.status, ev.evicted)
		case tc.evicts && w.atWriteHead != 1:
			t.Errorf("%s %s: the status reached the browser before the eviction", tc.method, tc.path)
		case !tc.evicts && ev.count() != 0:
			t.Errorf("%s %s %d: evicted %v, want nothing", tc.method, tc.path, tc.status, ev.evicted)
		}
	}
	// Without a session cookie there is nothing to evict, and the request passes.
	ev := &recordingEvicter{}
	w := httptest.NewRecorder()
	exchange.EvictOnSwitch(ev, cookies, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(401) })).
		ServeHTTP(w, httptest.NewRequest("POST", "/api/auth/organization/set-active", nil))
	if w.Code != 401 || ev.count() != 0 {
		t.Errorf("without a cookie: %d, %d evictions", w.Code, ev.count())
	}
}

// The whole path: the browser switches from org-x to org-y through the
// gateway; its next exchange carries org-y, in memory and in Redis, and a
// fetch that was under way during the switch (an org-x token) is neither
// joined by requests after it nor cached.
func TestAfterSwitchingTheNextExchangeCarriesTheNewOrganization(t *testing.T) {
	auth := newStandInAuth(t)
	sid := fmt.Sprintf("sw-%d", time.Now().UnixNano())
	auth.set(sid, "ann", "org-x", "admin", false)
	var hold atomic.Bool
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !hold.Load() {
			auth.srv.Config.Handler.ServeHTTP(w, r)
			return
		}
		// Minted now, delivered once released: a token of the state
		// before the switch, arriving after it.
		rec := httptest.NewRecorder()
		auth.srv.Config.Handler.ServeHTTP(rec, r)
		<-release
		hold.Store(false)
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer slow.Close()
	cfg := exchange.Config{TokenURL: slow.URL, Client: http.DefaultClient, CacheSize: 10,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Redis: testdb.Redis(t)}
	cookie := cookieOf(t, sid)
	t.Cleanup(func() { cfg.Redis.Del(context.Background(), "latch:gateway:token:"+cookie.Key()) })
	x, err := exchange.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if tok, err := x.Token(ctx, cookie); err != nil || claimsOf(t, tok)["org"] != "org-x" {
		t.Fatalf("before: %v", err)
	}
	setActive := exchange.EvictOnSwitch(x, exchange.NewCookies(false), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.set(sid, "ann", "org-y", "member", false)
		w.WriteHeader(200)
	}))
	switchOrg := func() {
		req := httptest.NewRequest("POST", "/api/auth/organization/set-active", nil)
		req.Header.Set("Cookie", "better-auth.session_token="+signedcookie.EncodeValue(signedcookie.Sign(sid, testSecret)))
		setActive.ServeHTTP(httptest.NewRecorder(), req)
	}
	switchOrg()
	if tok, err := x.Token(ctx, cookie); err != nil || claimsOf(t, tok)["org"] != "org-y" {
		t.Fatalf("after switching: %v, org %v, want org-y", err, claimsOf(t, tok)["org"])
	}
	// A second replica sharing Redis, cold: the shared copy is the new one.
	other, _ := exchange.New(cfg)
	if tok, err := other.Token(ctx, cookie); err != nil || claimsOf(t, tok)["org"] != "org-y" {
		t.Fatalf("another replica after switching: %v, want org-y", err)
	}

	// The race: a request's exchange is under way (auth minting org-y) when
	// the browser switches to org-z.
	x.Evict(ctx, cookie)
	hold.Store(true)
	inFlight := make(chan string)
	go func() {
		tok, _ := x.Token(ctx, cookie)
		inFlight <- tok
	}()
	time.Sleep(50 * time.Millisecond) // the fetch is held at auth
	setActive = exchange.EvictOnSwitch(x, exchange.NewCookies(false), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.set(sid, "ann", "org-z", "owner", false)
		w.WriteHeader(200)
	}))
	switchOrg()
	close(release)
	if org := claimsOf(t, <-inFlight)["org"]; org != "org-y" {
		t.Fatalf("the racing request got org %v, want org-y (minted before the switch)", org)
	}
	tok, err := x.Token(ctx, cookie)
	if err != nil || claimsOf(t, tok)["org"] != "org-z" {
		t.Fatalf("after a switch that raced a fetch: %v, org %v, want org-z", err, claimsOf(t, tok)["org"])
	}
}
