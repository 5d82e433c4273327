package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestAuditListCommand(t *testing.T) {
	t.Parallel()
	ts := startAuth(t, nil)
	env := map[string]string{
		"DATABASE_URL": ts.dsn, "BETTER_AUTH_URL": "https://auth.example.com",
		"BETTER_AUTH_SECRET": testSecret, "LATCH_DATA_DIR": t.TempDir(), "LOG_LEVEL": "error",
	}
	auth := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
		return out.String(), err
	}
	lines := func(args ...string) []map[string]any {
		t.Helper()
		out, err := auth(append([]string{"audit", "list"}, args...)...)
		if err != nil {
			t.Fatalf("audit list %v: %v", args, err)
		}
		var got []map[string]any
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("line %q is not JSON: %v", line, err)
			}
			got = append(got, m)
		}
		return got
	}
	typesOf := func(ls []map[string]any) string {
		var out []string
		for _, l := range ls {
			out = append(out, l["type"].(string))
		}
		return strings.Join(out, ",")
	}

	ann := ts.signUp("ann@example.com", "correct horse battery").json(t)["user"].(map[string]any)["id"].(string)
	ts.post("/api/auth/sign-in/email", signInBody("ann@example.com", "wrong password!"), nil)
	ts.post("/api/auth/sign-in/email", signInBody("ann@example.com", "correct horse battery"), nil)
	ts.signUp("bob@example.com", "correct horse battery")
	if _, err := auth("clients", "create", "--name", "reports", "--scopes", "tasks:read"); err != nil {
		t.Fatal(err)
	}

	got := lines("--user", ann)
	if typesOf(got) != "sign-in,sign-in-failed,sign-up" {
		t.Fatalf("ann's events: %s", typesOf(got))
	}
	if got[0]["userId"] != ann || got[0]["ipAddress"] != "127.0.0.1" || got[0]["requestId"] == nil || got[0]["detail"].(map[string]any)["method"] != "email" {
		t.Errorf("line = %v", got[0])
	}
	if s := typesOf(lines("--user", ann, "--type", "sign-in-failed,sign-up")); s != "sign-in-failed,sign-up" {
		t.Errorf("--type: %s", s)
	}
	if s := typesOf(lines("--user", ann, "--limit", "1")); s != "sign-in" {
		t.Errorf("--limit 1: %s", s)
	}
	if s := typesOf(lines("--user", ann, "--since", "1h")); s != "sign-in,sign-in-failed,sign-up" {
		t.Errorf("--since 1h: %s", s)
	}
	if got := lines("--user", ann, "--since", "2999-01-01T00:00:00Z"); len(got) != 0 {
		t.Errorf("--since in the future: %v", got)
	}
	all := lines("--type", "client-created,sign-up")
	if typesOf(all) != "client-created,sign-up,sign-up" || all[0]["actorId"] != "operator:cli" || all[0]["userId"] != nil {
		t.Errorf("every user's events: %v", all)
	}
	for _, bad := range [][]string{
		{"--type", "sign-in,nonsense"}, {"--since", "yesterday"}, {"--since", "-1h"}, {"--limit", "0"}, {"--limit", "10001"}, {"stray"},
	} {
		if _, err := auth(append([]string{"audit", "list"}, bad...)...); err == nil {
			t.Errorf("audit list %v succeeded", bad)
		}
	}
	if _, err := auth("audit", "frobnicate"); err == nil {
		t.Error("an unknown audit command succeeded")
	}
}
