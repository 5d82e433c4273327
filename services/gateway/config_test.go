package main

import (
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
			if c.Port != 3000 || c.AuthURL.String() != "http://localhost:3001" || c.TasksURL.String() != "http://localhost:8000" ||
				c.RedisURL != "" || c.UpstreamTimeout != 30*time.Second || len(c.SocialProviders) != 0 {
				t.Fatalf("defaults = %+v", c)
			}
		}},
		{name: "everything set", env: map[string]string{
			"PORT": "4000", "AUTH_URL": "http://auth:3001", "TASKS_URL": "http://tasks:8000/",
			"FRONTEND_URL": "http://localhost:5173, https://app.example.com", "REDIS_URL": "redis://r:6379/0",
			"UPSTREAM_TIMEOUT": "5", "AUTH_SOCIAL_PROVIDERS": "google",
		}, check: func(t *testing.T, c Config) {
			if c.Port != 4000 || c.AuthURL.Host != "auth:3001" || len(c.FrontendOrigins) != 2 || c.UpstreamTimeout != 5*time.Second || c.SocialProviders[0] != "google" {
				t.Fatalf("config = %+v", c)
			}
		}},
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
