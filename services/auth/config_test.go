package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigRefusesWeakSecretsOutsideLocalhost(t *testing.T) {
	t.Parallel()
	long := "q8Xv2mN5tR7yB1kL9pW3zH6cJ4fD0sGa" // 32 distinct characters: 160 bits by Better Auth's estimate
	public := "https://auth.example.com"
	cases := []struct {
		name    string
		env     map[string]string
		wantErr string
		source  string
	}{
		{"a public URL without a secret", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com"}, "BETTER_AUTH_SECRET is required", ""},
		{"a public URL with a short secret", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "BETTER_AUTH_SECRET": "short"}, "at least 32 characters", ""},
		{"a public URL with a good secret", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "BETTER_AUTH_SECRET": long}, "", "BETTER_AUTH_SECRET"},
		{"the Next.js name for the secret", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "NEXT_PUBLIC_BETTER_AUTH_SECRET": long}, "", "NEXT_PUBLIC_BETTER_AUTH_SECRET"},
		{"localhost without a secret generates one", map[string]string{"BETTER_AUTH_URL": "http://localhost:3001"}, "", "generated"},
		{"loopback with a short secret only warns", map[string]string{"BETTER_AUTH_URL": "http://127.0.0.1:3001", "BETTER_AUTH_SECRET": "short"}, "", "BETTER_AUTH_SECRET"},
		{"a bad duration", map[string]string{"JWT_EXPIRATION": "soon"}, "JWT_EXPIRATION must be a duration", ""},
		{"a client token lifetime under a second", map[string]string{"OAUTH2_TOKEN_TTL": "500ms"}, "OAUTH2_TOKEN_TTL must be at least 1s", ""},
		{"a client token outliving retired keys", map[string]string{"OAUTH2_TOKEN_TTL": "48h", "JWKS_GRACE_PERIOD": "24h"}, "at most JWKS_GRACE_PERIOD", ""},
		{"a relative base URL", map[string]string{"BETTER_AUTH_URL": "auth.example.com"}, "must be an absolute http(s) URL", ""},
		{"versioned secrets", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "BETTER_AUTH_SECRETS": "2:" + long + "x, 1:" + long}, "", "BETTER_AUTH_SECRETS, version 2 current"},
		{"a versioned secret too short", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "BETTER_AUTH_SECRETS": "2:" + long + ",1:short"}, "version 1 must be at least 32", ""},
		{"a malformed versioned secret", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "BETTER_AUTH_SECRETS": "two:" + long}, "<version>:<secret>", ""},
		{"a version named twice", map[string]string{"BETTER_AUTH_URL": "https://auth.example.com", "BETTER_AUTH_SECRETS": "1:" + long + ",1:" + long}, "names version 1 twice", ""},

		// Issue 13: Better Auth's published default and low-entropy secrets started fine.
		{"Better Auth's default secret", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRET": betterAuthDefaultSecret}, "Better Auth's published default", ""},
		{"32 times the same character", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRET": strings.Repeat("a", 32)}, "low-entropy", ""},
		{"a long secret of few characters", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRET": strings.Repeat("abab", 16)}, "low-entropy", ""},
		{"the default as an older versioned secret", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRETS": "2:" + long + ",1:" + betterAuthDefaultSecret}, "BETTER_AUTH_SECRETS version 1 is Better Auth's published default", ""},
		{"a low-entropy current versioned secret", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRETS": "2:" + strings.Repeat("x", 40) + ",1:" + long}, "version 2 looks low-entropy", ""},
		{"a low-entropy legacy secret beside versioned ones", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRETS": "1:" + long, "BETTER_AUTH_SECRET": strings.Repeat("z", 32)}, "BETTER_AUTH_SECRET looks low-entropy", ""},
		{"a hex secret (openssl rand -hex 16)", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRET": "9f86d081884c7d659a2feaa0c55ad015"}, "", "BETTER_AUTH_SECRET"},
		{"a base64 secret (openssl rand -base64 32)", map[string]string{"BETTER_AUTH_URL": public, "BETTER_AUTH_SECRET": "3q2+7w8BAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhs="}, "", "BETTER_AUTH_SECRET"},
		{"localhost keeps the default, with a warning", map[string]string{"BETTER_AUTH_URL": "http://localhost:3001", "BETTER_AUTH_SECRET": betterAuthDefaultSecret}, "", "BETTER_AUTH_SECRET"},
		{"localhost keeps a low-entropy secret, with a warning", map[string]string{"BETTER_AUTH_URL": "http://localhost:3001", "BETTER_AUTH_SECRET": strings.Repeat("a", 32)}, "", "BETTER_AUTH_SECRET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.env["LATCH_DATA_DIR"] = t.TempDir()
			cfg, err := loadAll(func(k string) string { return tc.env[k] }, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, secret := range []string{tc.env["BETTER_AUTH_SECRET"], betterAuthDefaultSecret, long} {
					if secret != "" && strings.Contains(err.Error(), secret) {
						t.Errorf("the error names a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(cfg.SecretSource, tc.source) {
				t.Errorf("secret source = %q, want %q", cfg.SecretSource, tc.source)
			}
		})
	}
}

func TestGeneratedSecretIsKeptAndNeverLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{"LATCH_DATA_DIR": dir}
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	first, err := loadAll(func(k string) string { return env[k] }, log)
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadAll(func(k string) string { return env[k] }, log)
	if err != nil {
		t.Fatal(err)
	}
	if first.Secret != second.Secret || len(first.Secret) < minSecretLength {
		t.Errorf("generated secret not kept: %q then %q", first.Secret, second.Secret)
	}
	info, err := os.Stat(filepath.Join(dir, "auth-secret"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("secret file: %v, mode %v; want 0600", err, info.Mode())
	}
	log.Info("starting", "config", first)
	if strings.Contains(logs.String(), first.Secret) {
		t.Errorf("the secret reached the log: %s", logs.String())
	}
	if first.JWTTTL != 15*time.Minute || first.Policy.SessionTTL != 7*24*time.Hour {
		t.Errorf("defaults: jwt %s session %s", first.JWTTTL, first.Policy.SessionTTL)
	}
}

// loadAll is what serve does: the configuration, then the secret.
func loadAll(getenv func(string) string, log *slog.Logger) (Config, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.resolveSecret(getenv, log)
}

func TestMigrateNeedsNoSecret(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"BETTER_AUTH_URL": "https://auth.example.com", "LATCH_DATA_DIR": dir,
		"DATABASE_URL": "sqlite:" + filepath.Join(dir, "auth.db"),
	}
	var out strings.Builder
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("migrate without a secret: %v", err)
	}
	if !strings.Contains(out.String(), "applied") {
		t.Errorf("migrate output = %q", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "auth-secret")); !os.IsNotExist(err) {
		t.Errorf("migrate wrote a development secret (stat: %v)", err)
	}
}

func TestDurationsThatMustNotBeNegative(t *testing.T) {
	t.Parallel()
	shutdownDelay := func(c Config) time.Duration { return c.ShutdownDelay }
	sweepInterval := func(c Config) time.Duration { return c.SweepInterval }
	auditRetention := func(c Config) time.Duration { return c.AuditRetention }
	cases := []struct {
		key, value string
		read       func(Config) time.Duration
		want       time.Duration
		wantErr    string
	}{
		{"SHUTDOWN_DELAY", "", shutdownDelay, 0, ""},
		{"SHUTDOWN_DELAY", "5s", shutdownDelay, 5 * time.Second, ""},
		{"SHUTDOWN_DELAY", "-1s", shutdownDelay, 0, "SHUTDOWN_DELAY must not be negative"},
		{"SWEEP_INTERVAL", "", sweepInterval, time.Hour, ""},
		{"SWEEP_INTERVAL", "10m", sweepInterval, 10 * time.Minute, ""},
		{"SWEEP_INTERVAL", "0", sweepInterval, 0, ""},
		{"SWEEP_INTERVAL", "-1m", sweepInterval, 0, "SWEEP_INTERVAL must not be negative"},
		{"AUDIT_RETENTION", "", auditRetention, 90 * 24 * time.Hour, ""},
		{"AUDIT_RETENTION", "720h", auditRetention, 30 * 24 * time.Hour, ""},
		{"AUDIT_RETENTION", "0", auditRetention, 0, ""},
		{"AUDIT_RETENTION", "-1h", auditRetention, 0, "AUDIT_RETENTION must not be negative"},
	}
	for _, tc := range cases {
		env := map[string]string{tc.key: tc.value, "LATCH_DATA_DIR": t.TempDir()}
		cfg, err := loadConfig(func(k string) string { return env[k] })
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s=%q: err = %v, want %q", tc.key, tc.value, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || tc.read(cfg) != tc.want):
			t.Errorf("%s=%q: %v, %v; want %v", tc.key, tc.value, tc.read(cfg), err, tc.want)
		}
	}
}

func TestAuthPlugins(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		value     string
		twoFactor bool
		wantErr   string
	}{
		{"", false, ""},
		{"two-factor", true, ""},
		{" two-factor , ", true, ""},
		{"two-factor,2fa", false, `unknown plugin "2fa"`},
		{"organization", false, "organization plugin is not available"},
	} {
		cfg, err := loadConfig(func(k string) string {
			if k == "AUTH_PLUGINS" {
				return tc.value
			}
			return ""
		})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("AUTH_PLUGINS=%q: err = %v, want %q", tc.value, err, tc.wantErr)
			}
			continue
		}
		if err != nil || cfg.Plugins.TwoFactor != tc.twoFactor {
			t.Errorf("AUTH_PLUGINS=%q: two-factor %v, err %v; want %v", tc.value, cfg.Plugins.TwoFactor, err, tc.twoFactor)
		}
	}
}
