package authn

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// protected is a router with one authenticated route that echoes the caller.
func protected(v *Verifier) *gin.Engine {
	r := gin.New()
	r.Use(Middleware(v))
	r.GET("/me", func(c *gin.Context) {
		p, ok := PrincipalFrom(c.Request.Context())
		if !ok {
			c.JSON(http.StatusInternalServerError, gin.H{"detail": "no principal"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"user": p.UserID, "email": p.Email})
	})
	return r
}

func TestMiddlewareAnswersLikeFastAPI(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	v := newVerifier(t, newJWKSServer(t, k1.jwk()), nil, "", nil)
	router := protected(v)
	valid := k1.sign(t, claims(nil), nil)
	expired := k1.sign(t, claims(map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}), nil)

	tests := []struct {
		name          string
		authorization string // "" sends no header
		status        int
		challenge     string
		detail        string
		user          string
	}{
		{name: "no header is not authenticated", status: 401, challenge: "Bearer", detail: "Not authenticated"},
		{name: "another scheme is not authenticated", authorization: "Basic dXNlcjpwYXNz", status: 401, challenge: "Bearer", detail: "Not authenticated"},
		{name: "a Bearer scheme without token is not authenticated", authorization: "Bearer ", status: 401, challenge: "Bearer", detail: "Not authenticated"},
		{name: "a garbage token is invalid", authorization: "Bearer garbage", status: 401, challenge: `Bearer error="invalid_token"`, detail: "Invalid token"},
		{name: "a token by another key is invalid", authorization: "Bearer " + newEdKey(t, "k1").sign(t, claims(nil), nil), status: 401, challenge: `Bearer error="invalid_token"`, detail: "Invalid token"},
		{name: "an expired token says so", authorization: "Bearer " + expired, status: 401, challenge: `Bearer error="invalid_token"`, detail: "Token expired"},
		{name: "a valid token reaches the handler with its principal", authorization: "Bearer " + valid, status: 200, user: "user_1"},
		{name: "the scheme is case-insensitive", authorization: "bEaReR   " + valid, status: 200, user: "user_1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/me", nil)
			if tc.authorization != "" {
				req.Header.Set("Authorization", tc.authorization)
			}
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tc.challenge {
				t.Fatalf("WWW-Authenticate = %q, want %q", got, tc.challenge)
			}
			var body map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if tc.status != 200 {
				if len(body) != 1 || body["detail"] != tc.detail {
					t.Fatalf("body = %v, want only detail %q", body, tc.detail)
				}
				return
			}
			if body["user"] != tc.user || body["email"] != "ada@example.com" {
				t.Fatalf("body = %v, want user %s", body, tc.user)
			}
		})
	}
}

func TestMiddlewareAnswers503WhileNoKeysAreCached(t *testing.T) {
	t.Parallel()
	k1 := newEdKey(t, "k1")
	srv := newJWKSServer(t, k1.jwk())
	srv.failing.Store(true)
	v := newVerifier(t, srv, nil, "", nil)
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/me", nil)
	req.Header.Set("Authorization", "Bearer "+k1.sign(t, claims(nil), nil))
	protected(v).ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != `{"detail":"Authentication temporarily unavailable"}` {
		t.Fatalf("got %d %s", rec.Code, rec.Body)
	}
}

func TestBearerTokenParsesTheAuthorizationHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		token  string
		ok     bool
	}{
		{name: "a Bearer header yields its token", header: "Bearer abc.def.ghi", token: "abc.def.ghi", ok: true},
		{name: "a lower-case scheme is accepted", header: "bearer abc", token: "abc", ok: true},
		{name: "surrounding spaces are ignored", header: "  Bearer    abc  ", token: "abc", ok: true},
		{name: "an empty header has no token", header: ""},
		{name: "a scheme alone has no token", header: "Bearer"},
		{name: "a scheme and spaces have no token", header: "Bearer    "},
		{name: "Basic is not Bearer", header: "Basic abc"},
		{name: "a prefix of Bearer is not Bearer", header: "Bear abc"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			token, ok := BearerToken(tc.header)
			if token != tc.token || ok != tc.ok {
				t.Fatalf("BearerToken(%q) = %q, %v; want %q, %v", tc.header, token, ok, tc.token, tc.ok)
			}
		})
	}
}
