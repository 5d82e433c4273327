// Package web is the browser UI, embedded in the gateway binary: plain HTML,
// CSS and JavaScript modules, no framework and no build step. The page only
// talks to /api/auth/* and /api/tasks* on its own origin with the session
// cookie; it never holds a JWT.
package web

import (
	"embed"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// Settings are what the page cannot learn from the APIs.
type Settings struct {
	// SocialProviders the auth service has configured ("google"); the page
	// shows a "Continue with …" button for each, and none by default.
	SocialProviders []string `json:"socialProviders"`
}

// Handler serves the UI: /app-config.json, the static files, and index.html
// for "/".
func Handler(s Settings) http.Handler {
	if s.SocialProviders == nil {
		s.SocialProviders = []string{}
	}
	settings, _ := json.Marshal(s)
	static, _ := fs.Sub(files, "static")
	fileServer := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h.Set("Cache-Control", "no-cache")
		switch p := path.Clean(r.URL.Path); {
		case p == "/app-config.json":
			h.Set("Content-Type", "application/json")
			_, _ = w.Write(settings)
		case p == "/" || p == "/index.html" || !strings.Contains(path.Base(p), "."):
			// Every extension-less path is the one page, so a reload keeps working.
			http.ServeFileFS(w, r, static, "index.html")
		default:
			fileServer.ServeHTTP(w, r)
		}
	})
}
