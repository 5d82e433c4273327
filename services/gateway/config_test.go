package main

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c Config)
		wantErr string
	}{
		{name: "defaults", env: nil, check: func(t *testing.T, c Config) {
			if c.Port != 3000 || hosts(c.AuthURLs) != "localhost:3001" || hosts(c.TasksURLs) != "localhost:8000" ||
				c.RedisURL != "" || c.SecureCookies || c.UpstreamTimeout != 30*time.Second || len(c.SocialProviders) != 0 || c.ShutdownDelay != 0 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "everything set", env: map[string]string{
			"PORT": "4000", "AUTH_URL": "http://auth:3001", "TASKS_URL": "http://tasks:8000/",
			"FRONTEND_URL": "http://localhost:5173, https://app.example.com", "REDIS_URL": "redis://r:6379/0",
			"UPSTREAM_TIMEOUT": "5", "AUTH_SOCIAL_PROVIDERS": "google", "SHUTDOWN_DELAY": "2s",
		}, check: func(t *testing.T, c Config) {
			if c.Port != 4000 || hosts(c.AuthURLs) != "auth:3001" || hosts(c.TasksURLs) != "tasks:8000" || c.ShutdownDelay != 2*time.Second || len(c.FrontendOrigins) != 2 || c.UpstreamTimeout != 5*time.Second || c.SocialProviders[0] != "google" {
				t.Fatalf("config = %+v", c)
			}
		}},
		{name: "replica lists", env: map[string]string{
			"TASKS_URL": " http://tasks-1:8000, http://tasks-2:8000/ ,https://tasks-3", "AUTH_URL": "http://auth-1:3001,http://auth-2:3001",
		}, check: func(t *testing.T, c Config) {
			if hosts(c.TasksURLs) != "tasks-1:8000 tasks-2:8000 tasks-3" || hosts(c.AuthURLs) != "auth-1:3001 auth-2:3001" || c.TasksURLs[2].Scheme != "https" {
				t.Fatalf("tasks %v, auth %v", c.TasksURLs, c.AuthURLs)
			}
		}},
		{name: "an https base URL: __Secure- cookies", env: map[string]string{"BETTER_AUTH_URL": "https://latch.example.com"}, check: func(t *testing.T, c Config) {
			if !c.SecureCookies {
				t.Fatal("BETTER_AUTH_URL https but SecureCookies off")
			}
		}},
		{name: "a base URL that is not a URL", env: map[string]string{"BETTER_AUTH_URL": "latch.example.com"}, wantErr: `BETTER_AUTH_URL must be an absolute http(s) URL`},
		{name: "a replica with a path", env: map[string]string{"TASKS_URL": "http://tasks-1:8000,http://tasks-2:8000/api"}, wantErr: "AUTH_URL and TASKS_URL are origins"},
		{name: "a replica that is not a URL", env: map[string]string{"TASKS_URL": "http://tasks-1:8000,tasks-2:8000"}, wantErr: `TASKS_URL must be an absolute http(s) URL, got "tasks-2:8000"`},
		{name: "an empty entry", env: map[string]string{"AUTH_URL": "http://auth-1:3001,,http://auth-2:3001"}, wantErr: "AUTH_URL has an empty entry"},
		{name: "a trailing comma", env: map[string]string{"TASKS_URL": "http://tasks-1:8000,"}, wantErr: "TASKS_URL has an empty entry"},
		{name: "a replica listed twice", env: map[string]string{"TASKS_URL": "http://tasks-1:8000,http://tasks-1:8000/"}, wantErr: "TASKS_URL lists http://tasks-1:8000 twice"},
		{name: "a replica with a query", env: map[string]string{"TASKS_URL": "http://tasks-1:8000?x=1,http://tasks-2:8000"}, wantErr: "TASKS_URL entries are origins"},
		{name: "a negative shutdown delay", env: map[string]string{"SHUTDOWN_DELAY": "-1s"}, wantErr: "SHUTDOWN_DELAY must not be negative"},
		{name: "an upstream with a path", env: map[string]string{"AUTH_URL": "http://auth:3001/api/auth"}, wantErr: "AUTH_URL and TASKS_URL are origins"},
		{name: "not a URL", env: map[string]string{"TASKS_URL": "tasks:8000"}, wantErr: "TASKS_URL must be an absolute http(s) URL"},
		{name: "a frontend that is not an origin", env: map[string]string{"FRONTEND_URL": "localhost"}, wantErr: "FRONTEND_URL must be"},
		{name: "a zero timeout", env: map[string]string{"UPSTREAM_TIMEOUT": "0"}, wantErr: "UPSTREAM_TIMEOUT must be positive"},
		{name: "a bad log level", env: map[string]string{"LOG_LEVEL": "loud"}, wantErr: "LOG_LEVEL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}

func hosts(us []*url.URL) string {
	var out []string
	for _, u := range us {
		out = append(out, u.Host)
	}
	return strings.Join(out, " ")
}
