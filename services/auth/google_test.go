package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/latchid/latch/services/auth/google/oidctest"
)

// startWithGoogle runs the service with Google sign-in pointed at a real
// local OpenID Connect provider.
func startWithGoogle(t *testing.T, env map[string]string) (*testServer, *oidctest.Provider) {
	t.Helper()
	p := oidctest.Start(t)
	vars := map[string]string{
		"GOOGLE_CLIENT_ID": p.ClientID, "GOOGLE_CLIENT_SECRET": p.ClientSecret,
		"GOOGLE_ISSUER": p.URL, "GOOGLE_AUTH_URL": p.AuthURL(), "GOOGLE_TOKEN_URL": p.TokenURL(), "GOOGLE_JWKS_URL": p.JWKSURL(),
		"MAIL_OUTBOX": t.TempDir() + "/outbox.jsonl",
	}
	for k, v := range env {
		vars[k] = v
	}
	return startAuth(t, vars), p
}

// socialStart posts to sign-in/social (or link-social) and returns the
// provider URL and the state cookie to send back.
func socialStart(t *testing.T, ts *testServer, path, body, cookie string) (authURL, stateCookie string) {
	t.Helper()
	h := map[string]string{}
	if cookie != "" {
		h["Cookie"] = cookie
	}
	r := ts.post(path, body, h)
	if r.status != 200 {
		t.Fatalf("%s: %d %s", path, r.status, r.body)
	}
	var out struct {
		URL      string `json:"url"`
		Redirect bool   `json:"redirect"`
	}
	if err := json.Unmarshal(r.body, &out); err != nil || !out.Redirect || out.URL == "" || r.header.Get("Location") != out.URL {
		t.Fatalf("%s answered %s (Location %q)", path, r.body, r.header.Get("Location"))
	}
	sc := r.cookie("better-auth.state")
	if sc == "" || !strings.Contains(sc, "Max-Age=300") || !strings.Contains(sc, "HttpOnly") {
		t.Fatalf("state cookie %q", sc)
	}
	return out.URL, strings.SplitN(sc, ";", 2)[0]
}

// consent plays the user at the provider: returns the callback path with code and state.
func consent(t *testing.T, authURL string) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider answered %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

func callback(ts *testServer, path string, cookies ...string) response {
	var jar []string
	for _, c := range cookies {
		if c != "" {
			jar = append(jar, c)
		}
	}
	h := map[string]string{}
	if len(jar) > 0 {
		h["Cookie"] = strings.Join(jar, "; ")
	}
	return ts.get(path, h)
}

func TestGoogleSignInCreatesUserAccountAndSession(t *testing.T) {
	t.Parallel()
	ts, p := startWithGoogle(t, nil)
	p.SetUser(oidctest.User{Sub: "google-sub-1", Email: "Gina@Example.com", EmailVerified: true, Name: "Gina", Picture: "https://img.example/g.png"})
	authURL, stateCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google","callbackURL":"/dashboard","newUserCallbackURL":"/welcome"}`, "")

	u, _ := url.Parse(authURL)
	q := u.Query()
	if !strings.HasPrefix(authURL, p.AuthURL()+"?") || q.Get("client_id") != p.ClientID || q.Get("redirect_uri") != ts.base+"/api/auth/callback/google" ||
		q.Get("scope") != "email profile openid" || q.Get("code_challenge_method") != "S256" || q.Get("include_granted_scopes") != "true" || len(q.Get("state")) != 32 {
		t.Fatalf("authorization URL %s", authURL)
	}
	var value string
	if err := ts.db.QueryRow(t.Context(), `SELECT value FROM verification WHERE identifier = $1`, "auth-state:"+q.Get("state")).Scan(&value); err != nil {
		t.Fatalf("no auth-state verification row: %v", err)
	}
	var st map[string]any
	_ = json.Unmarshal([]byte(value), &st)
	verifier, _ := st["codeVerifier"].(string)
	sum := sha256.Sum256([]byte(verifier))
	if len(verifier) != 128 || base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") || st["oauthState"] != q.Get("state") || st["callbackURL"] != "/dashboard" {
		t.Errorf("state row %s does not hold Better Auth's state for this challenge", value)
	}

	cbPath := consent(t, authURL)
	r := callback(ts, cbPath, stateCookie)
	if r.status != 302 || r.header.Get("Location") != "/welcome" {
		t.Fatalf("callback: %d Location %q body %s", r.status, r.header.Get("Location"), r.body)
	}
	session := r.sessionCookie(t)
	if !strings.Contains(r.cookie("better-auth.state"), "Max-Age=0") {
		t.Error("the state cookie was not expired")
	}
	if s := ts.get("/api/auth/get-session", map[string]string{"Cookie": session}); !strings.Contains(string(s.body), `"email":"gina@example.com","emailVerified":true,"image":"https://img.example/g.png"`) {
		t.Errorf("session user: %s", s.body)
	}
	var provider, accountID, scope, access, idTok string
	var expires *time.Time
	if err := ts.db.QueryRow(t.Context(), `SELECT provider_id, account_id, scope, access_token, id_token, access_token_expires_at FROM account`).
		Scan(&provider, &accountID, &scope, &access, &idTok, &expires); err != nil {
		t.Fatal(err)
	}
	if provider != "google" || accountID != "google-sub-1" || !strings.HasPrefix(access, "ya29.") || idTok == "" || expires == nil ||
		scope != "openid,https://www.googleapis.com/auth/userinfo.email,https://www.googleapis.com/auth/userinfo.profile" {
		t.Errorf("account row: %s %s %q %q expires %v", provider, accountID, scope, access, expires)
	}
	if n := ts.count(`SELECT count(*) FROM verification`); n != 0 {
		t.Errorf("%d state rows left after the callback", n)
	}

	// The same callback again (a replay) finds no state.
	if again := callback(ts, cbPath, stateCookie); again.status != 302 || again.header.Get("Location") != ts.base+"/api/auth/error?error=state_mismatch" {
		t.Errorf("replayed callback: %d %q", again.status, again.header.Get("Location"))
	}

	// Signing in again: the same user, fresh tokens, the existing-user callbackURL.
	authURL, stateCookie = socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google","callbackURL":"/dashboard","newUserCallbackURL":"/welcome"}`, "")
	r = callback(ts, consent(t, authURL), stateCookie)
	if r.status != 302 || r.header.Get("Location") != "/dashboard" {
		t.Fatalf("second sign-in: %d %q", r.status, r.header.Get("Location"))
	}
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 1 {
		t.Errorf("%d users after signing in twice", n)
	}
	if n := ts.count(`SELECT count(*) FROM account WHERE access_token <> $1`, access); n != 1 {
		t.Error("tokens not refreshed on sign-in")
	}
}

func TestGoogleCallbackRefusesBadStateAndTokens(t *testing.T) {
	t.Parallel()
	ts, p := startWithGoogle(t, nil)
	errorURL := func(code string) string { return ts.base + "/api/auth/error?error=" + code }
	p.SetUser(oidctest.User{Sub: "sub-x", Email: "x@example.com", EmailVerified: true, Name: "X"})

	spoilers := []struct {
		name  string
		spoil func(jwt.MapClaims) bool
	}{
		{"wrong audience", func(c jwt.MapClaims) bool { c["aud"] = "someone-else"; return false }},
		{"wrong issuer", func(c jwt.MapClaims) bool { c["iss"] = "https://evil.example"; return false }},
		{"signed by a key not in the JWKS", func(jwt.MapClaims) bool { return true }},
		{"expired", func(c jwt.MapClaims) bool {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			return false
		}},
		{"no subject", func(c jwt.MapClaims) bool { delete(c, "sub"); return false }},
	}
	for _, tc := range spoilers {
		t.Run(tc.name, func(t *testing.T) {
			p.Spoil(tc.spoil)
			authURL, stateCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google","errorCallbackURL":"/oops"}`, "")
			r := callback(ts, consent(t, authURL), stateCookie)
			if r.status != 302 || r.header.Get("Location") != "/oops?error=unable_to_get_user_info" || r.cookie("better-auth.session_token") != "" {
				t.Errorf("%d %q cookies %v", r.status, r.header.Get("Location"), r.header.Values("Set-Cookie"))
			}
		})
	}
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 0 {
		t.Fatalf("%d users created from bad ID tokens", n)
	}

	t.Run("state without its cookie, or with another flow's cookie", func(t *testing.T) {
		authURL, _ := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google"}`, "")
		_, otherCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google"}`, "")
		cb := consent(t, authURL)
		if r := callback(ts, cb, otherCookie); r.status != 302 || r.header.Get("Location") != errorURL("state_mismatch") {
			t.Errorf("another flow's cookie: %d %q", r.status, r.header.Get("Location"))
		}
		authURL, _ = socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google"}`, "")
		cb = consent(t, authURL)
		if r := callback(ts, cb); r.status != 302 || r.header.Get("Location") != errorURL("state_mismatch") {
			t.Errorf("no cookie: %d %q", r.status, r.header.Get("Location"))
		}
		authURL, _ = socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google"}`, "")
		cb = consent(t, authURL)
		state, _ := url.Parse(cb)
		forged := "better-auth.state=" + state.Query().Get("state") + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D" // the right state, a bad signature
		if r := callback(ts, cb, forged); r.status != 302 || r.header.Get("Location") != errorURL("state_mismatch") {
			t.Errorf("forged cookie: %d %q", r.status, r.header.Get("Location"))
		}
	})
	t.Run("unknown state, no state, no code, provider error, bad code, wrong iss parameter", func(t *testing.T) {
		cases := []struct{ path, want string }{
			{"/api/auth/callback/google?code=abc&state=unknown-state", errorURL("state_mismatch")},
			{"/api/auth/callback/google?code=abc", errorURL("state_not_found")},
		}
		for _, c := range cases {
			if r := callback(ts, c.path); r.status != 302 || r.header.Get("Location") != c.want {
				t.Errorf("%s: %d %q, want %q", c.path, r.status, r.header.Get("Location"), c.want)
			}
		}
		type tweak func(q url.Values)
		for name, tc := range map[string]struct {
			tweak tweak
			code  string
		}{
			"no code":        {func(q url.Values) { q.Del("code") }, "no_code"},
			"provider error": {func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }, "access_denied"},
			"forged code":    {func(q url.Values) { q.Set("code", "forged") }, "invalid_code"},
			"wrong iss":      {func(q url.Values) { q.Set("iss", "https://evil.example") }, "issuer_mismatch"},
		} {
			authURL, stateCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google"}`, "")
			cb, _ := url.Parse(consent(t, authURL))
			q := cb.Query()
			tc.tweak(q)
			cb.RawQuery = q.Encode()
			if r := callback(ts, cb.RequestURI(), stateCookie); r.status != 302 || r.header.Get("Location") != errorURL(tc.code) {
				t.Errorf("%s: %d %q, want %s", name, r.status, r.header.Get("Location"), tc.code)
			}
		}
	})
	t.Run("request checks", func(t *testing.T) {
		for _, c := range []struct{ body, code string }{
			{`{"provider":"github"}`, "PROVIDER_NOT_FOUND"},
			{`{"provider":"google","callbackURL":"https://evil.example/"}`, "INVALID_CALLBACK_URL"},
			{`{"provider":"google","errorCallbackURL":"//evil.example"}`, "INVALID_ERROR_CALLBACK_URL"},
			{`{"provider":"google","newUserCallbackURL":"https://evil.example"}`, "INVALID_NEW_USER_CALLBACK_URL"},
			{`{"provider":"google","idToken":{"token":"x"}}`, "INVALID_TOKEN"},
			{`{"provider":"google","idToken":"x"}`, "VALIDATION_ERROR"},
			{`{}`, "VALIDATION_ERROR"},
		} {
			r := ts.post("/api/auth/sign-in/social", c.body, nil)
			if r.json(t)["code"] != c.code {
				t.Errorf("%s: %d %s, want %s", c.body, r.status, r.body, c.code)
			}
		}
	})
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 0 {
		t.Errorf("%d users created by refused callbacks", n)
	}
}

func TestGoogleLinkingRules(t *testing.T) {
	t.Parallel()
	ts, p := startWithGoogle(t, nil)
	signInGoogle := func(u oidctest.User) response {
		t.Helper()
		p.SetUser(u)
		authURL, stateCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google","callbackURL":"/home"}`, "")
		return callback(ts, consent(t, authURL), stateCookie)
	}
	cookie := ts.signUp("pat@example.com", "password-pat").sessionCookie(t)

	// Local email unverified: Google may not take the account over, even verified.
	if r := signInGoogle(oidctest.User{Sub: "pat-g", Email: "pat@example.com", EmailVerified: true}); r.header.Get("Location") != ts.base+"/api/auth/error?error=account_not_linked" {
		t.Fatalf("unverified local email: %q", r.header.Get("Location"))
	}
	if _, err := ts.db.Exec(t.Context(), `UPDATE "user" SET email_verified = true`); err != nil {
		t.Fatal(err)
	}
	// Google does not vouch for the email: no implicit link.
	if r := signInGoogle(oidctest.User{Sub: "pat-g", Email: "pat@example.com", EmailVerified: false}); r.header.Get("Location") != ts.base+"/api/auth/error?error=account_not_linked" {
		t.Fatalf("unverified provider email: %q", r.header.Get("Location"))
	}
	// Both verified: linked to the same user.
	r := signInGoogle(oidctest.User{Sub: "pat-g", Email: "pat@example.com", EmailVerified: true})
	if r.status != 302 || r.header.Get("Location") != "/home" {
		t.Fatalf("implicit link: %d %q", r.status, r.header.Get("Location"))
	}
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 1 {
		t.Fatalf("%d users after linking", n)
	}

	list := ts.get("/api/auth/list-accounts", map[string]string{"Cookie": cookie})
	var accts []map[string]any
	if err := json.Unmarshal(list.body, &accts); err != nil || len(accts) != 2 {
		t.Fatalf("list-accounts: %d %s", list.status, list.body)
	}
	var googleRow, credentialRow string
	for _, a := range accts {
		if _, leaked := a["accessToken"]; leaked {
			t.Errorf("list-accounts leaks tokens: %v", a)
		}
		switch a["providerId"] {
		case "google":
			googleRow = a["id"].(string)
			if a["accountId"] != "pat-g" || len(a["scopes"].([]any)) != 3 {
				t.Errorf("google account %v", a)
			}
		case "credential":
			credentialRow = a["id"].(string)
		}
	}
	h := map[string]string{"Cookie": cookie}
	if r := ts.post("/api/auth/unlink-account", `{"accountId":"no-such-row"}`, h); r.status != 400 || r.json(t)["code"] != "ACCOUNT_NOT_FOUND" {
		t.Errorf("unlink unknown: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/unlink-account", `{"accountId":"`+googleRow+`"}`, h); r.status != 200 {
		t.Fatalf("unlink google: %d %s", r.status, r.body)
	}
	if r := ts.post("/api/auth/unlink-account", `{"accountId":"`+credentialRow+`"}`, h); r.status != 400 || r.json(t)["code"] != "FAILED_TO_UNLINK_LAST_ACCOUNT" {
		t.Errorf("unlink the last: %d %s", r.status, r.body)
	}

	// link-social: the signed-in user adds Google explicitly.
	p.SetUser(oidctest.User{Sub: "pat-g2", Email: "pat@example.com", EmailVerified: true})
	authURL, stateCookie := socialStart(t, ts, "/api/auth/link-social", `{"provider":"google","callbackURL":"/settings"}`, cookie)
	r = callback(ts, consent(t, authURL), stateCookie, cookie)
	if r.status != 302 || r.header.Get("Location") != "/settings" {
		t.Fatalf("link-social callback: %d %q", r.status, r.header.Get("Location"))
	}
	if n := ts.count(`SELECT count(*) FROM account WHERE provider_id = 'google' AND account_id = 'pat-g2'`); n != 1 {
		t.Error("link-social did not add the account")
	}
	// A Google account with another email is refused.
	p.SetUser(oidctest.User{Sub: "pat-g3", Email: "someone@example.com", EmailVerified: true})
	authURL, stateCookie = socialStart(t, ts, "/api/auth/link-social", `{"provider":"google","callbackURL":"/settings"}`, cookie)
	if r := callback(ts, consent(t, authURL), stateCookie, cookie); r.header.Get("Location") != ts.base+"/api/auth/error?error=email_does_not_match" {
		t.Errorf("different email: %q", r.header.Get("Location"))
	}
	// A Google account already linked to another user is refused.
	other := signInGoogle(oidctest.User{Sub: "someone-g", Email: "someone@example.com", EmailVerified: true})
	if other.status != 302 {
		t.Fatal(other.status)
	}
	ts2Cookie := cookie
	p.SetUser(oidctest.User{Sub: "someone-g", Email: "pat@example.com", EmailVerified: true})
	authURL, stateCookie = socialStart(t, ts, "/api/auth/link-social", `{"provider":"google"}`, ts2Cookie)
	if r := callback(ts, consent(t, authURL), stateCookie, ts2Cookie); r.header.Get("Location") != ts.base+"/api/auth/error?error=account_already_linked_to_different_user" {
		t.Errorf("linked elsewhere: %q", r.header.Get("Location"))
	}
	// The link callback without the session that started it.
	p.SetUser(oidctest.User{Sub: "pat-g4", Email: "pat@example.com", EmailVerified: true})
	authURL, stateCookie = socialStart(t, ts, "/api/auth/link-social", `{"provider":"google"}`, cookie)
	if r := callback(ts, consent(t, authURL), stateCookie); r.header.Get("Location") != ts.base+"/api/auth/error?error=unable_to_link_account" {
		t.Errorf("link without the session: %q", r.header.Get("Location"))
	}
	if r := ts.post("/api/auth/link-social", `{"provider":"google"}`, nil); r.status != 401 {
		t.Errorf("link-social signed out: %d", r.status)
	}
}

func TestGoogleSignInWithAnIDToken(t *testing.T) {
	t.Parallel()
	ts, p := startWithGoogle(t, nil)
	gina := oidctest.User{Sub: "id-sub-1", Email: "idtok@example.com", EmailVerified: true, Name: "Id Tok"}
	post := func(token, nonce string) response {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"provider": "google", "idToken": map[string]string{"token": token, "nonce": nonce}})
		return ts.post("/api/auth/sign-in/social", string(body), nil)
	}
	bad := []struct {
		name  string
		nonce string // sent with the request; the token carries "n-1"
		spoil func(jwt.MapClaims) bool
	}{
		{"wrong audience", "n-1", func(c jwt.MapClaims) bool { c["aud"] = "another-client"; return false }},
		{"wrong issuer", "n-1", func(c jwt.MapClaims) bool { c["iss"] = "https://accounts.evil.example"; return false }},
		{"foreign signature", "n-1", func(jwt.MapClaims) bool { return true }},
		{"expired", "n-1", func(c jwt.MapClaims) bool { c["exp"] = time.Now().Add(-time.Minute).Unix(); return false }},
		{"issued over an hour ago", "n-1", func(c jwt.MapClaims) bool { c["iat"] = time.Now().Add(-2 * time.Hour).Unix(); return false }},
		{"nonce mismatch", "n-2", nil},
	}
	for _, tc := range bad {
		r := post(p.IDToken(t, gina, "n-1", tc.spoil), tc.nonce)
		if r.status != 401 || r.json(t)["code"] != "INVALID_TOKEN" || r.cookie("better-auth.session_token") != "" {
			t.Errorf("%s: %d %s", tc.name, r.status, r.body)
		}
	}
	if n := ts.count(`SELECT count(*) FROM "user"`); n != 0 {
		t.Fatalf("%d users from refused ID tokens", n)
	}
	r := post(p.IDToken(t, gina, "n-1", nil), "n-1")
	if r.status != 200 || r.json(t)["redirect"] != false || r.json(t)["token"] == "" {
		t.Fatalf("valid ID token: %d %s", r.status, r.body)
	}
	if s := ts.get("/api/auth/get-session", map[string]string{"Cookie": r.sessionCookie(t)}); !strings.Contains(string(s.body), `"email":"idtok@example.com"`) {
		t.Errorf("session: %s", s.body)
	}
	if n := ts.count(`SELECT count(*) FROM account WHERE provider_id = 'google' AND account_id = 'id-sub-1' AND id_token IS NOT NULL`); n != 1 {
		t.Error("no google account row")
	}

	// An existing, unverified local account is not taken over.
	ts.signUp("local@example.com", "password-local")
	r = post(p.IDToken(t, oidctest.User{Sub: "id-sub-2", Email: "local@example.com", EmailVerified: true}, "", nil), "")
	if r.status != 401 || r.json(t)["code"] != "OAUTH_LINK_ERROR" || r.json(t)["message"] != "account not linked" {
		t.Errorf("takeover attempt: %d %s", r.status, r.body)
	}
	cookie := ts.post("/api/auth/sign-in/email", signInBody("local@example.com", "password-local"), nil).sessionCookie(t)
	if r := ts.post("/api/auth/link-social", `{"provider":"google","idToken":{"token":"x"}}`, map[string]string{"Cookie": cookie}); r.status != 404 || r.json(t)["code"] != "ID_TOKEN_NOT_SUPPORTED" {
		t.Errorf("link-social with an ID token: %d %s", r.status, r.body)
	}
}

// A provider answering with response_mode=form_post POSTs the callback; it
// is bounced to the GET route with the same parameters, as Better Auth does.
func TestGoogleFormPostCallbackIsBouncedToGet(t *testing.T) {
	t.Parallel()
	ts, p := startWithGoogle(t, nil)
	p.SetUser(oidctest.User{Sub: "fp-1", Email: "fp@example.com", EmailVerified: true})
	authURL, stateCookie := socialStart(t, ts, "/api/auth/sign-in/social", `{"provider":"google","callbackURL":"/in"}`, "")
	cb, _ := url.Parse(consent(t, authURL))
	r := ts.do(req{method: "POST", path: "/api/auth/callback/google", body: cb.Query().Encode(),
		contentType: "application/x-www-form-urlencoded", headers: map[string]string{"Origin": "-"}})
	loc, err := url.Parse(r.header.Get("Location"))
	if r.status != 302 || err != nil || loc.Path != "/api/auth/callback/google" || loc.Query().Get("code") != cb.Query().Get("code") || loc.Query().Get("state") != cb.Query().Get("state") {
		t.Fatalf("form_post: %d Location %q", r.status, r.header.Get("Location"))
	}
	if done := callback(ts, loc.RequestURI(), stateCookie); done.status != 302 || done.header.Get("Location") != "/in" {
		t.Errorf("the bounced GET: %d %q", done.status, done.header.Get("Location"))
	}
}
