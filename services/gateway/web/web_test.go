package web_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchid/latch/services/gateway/web"
)

func TestHandler(t *testing.T) {
	cases := []struct {
		name     string
		settings web.Settings
		method   string
		path     string
		status   int
		body     string
		ctype    string
	}{
		{"the page", web.Settings{}, "GET", "/", 200, `<label for="si-email">Email</label>`, "text/html"},
		{"a reload on an app path gets the page", web.Settings{}, "GET", "/tasks", 200, "<!doctype html>", "text/html"},
		{"a module", web.Settings{}, "GET", "/api.js", 200, "export const tasks", "text/javascript"},
		{"the QR code library, vendored", web.Settings{}, "GET", "/vendor/qrcode.js", 200, "export default qrcode", "text/javascript"},
		{"the reset link's landing page", web.Settings{}, "GET", "/reset-password?token=abc", 200, `id="reset-form"`, "text/html"},
		{"the verification link's landing page", web.Settings{}, "GET", "/email-verified?error=invalid_token", 200, `id="verified"`, "text/html"},
		{"the account page", web.Settings{}, "GET", "/account", 200, `id="account-view"`, "text/html"},
		{"the organization page", web.Settings{}, "GET", "/organization", 200, `id="org-view"`, "text/html"},
		{"the invitation link's landing page", web.Settings{}, "GET", "/accept-invitation/inv_Ab12-x", 200, `id="invite-view"`, "text/html"},
		{"the QR code module", web.Settings{}, "GET", "/qr.js", 200, "drawQR", "text/javascript"},
		{"the stylesheet", web.Settings{}, "GET", "/app.css", 200, "[hidden]", "text/css"},
		{"no providers: no Google button", web.Settings{}, "GET", "/app-config.json", 200, `{"socialProviders":[]}`, "application/json"},
		{"Google configured", web.Settings{SocialProviders: []string{"google"}}, "GET", "/app-config.json", 200, `{"socialProviders":["google"]}`, "application/json"},
		{"a missing file", web.Settings{}, "GET", "/nope.js", 404, "", ""},
		{"a write", web.Settings{}, "POST", "/", 405, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			web.Handler(tc.settings).ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.status || !strings.Contains(string(body), tc.body) || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.ctype) {
				t.Fatalf("= %d %q %q", rec.Code, rec.Header().Get("Content-Type"), body)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("CSP = %q", csp)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
}
