package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/latchid/latch/pkg/testdb"
)

func TestClientsCommands(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"DATABASE_URL": testdb.New(t), "BETTER_AUTH_URL": "https://auth.example.com",
		"BETTER_AUTH_SECRET": "clients-test-secret-0123456789abcdefghijkl", "LATCH_DATA_DIR": t.TempDir(), "LOG_LEVEL": "error",
	}
	auth := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
		return out.String(), err
	}
	if _, err := auth("clients", "create", "--scopes", "tasks:read"); err == nil || !strings.Contains(err.Error(), "needs a name") {
		t.Fatalf("create without a name: %v", err)
	}
	out, err := auth("clients", "create", "--name", "reports", "--scopes", "tasks:read,tasks:write")
	if err != nil {
		t.Fatal(err)
	}
	var id, secret string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "client_id:"); ok {
			id = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "client_secret:"); ok {
			secret = strings.TrimSpace(v)
		}
	}
	if id == "" || len(secret) != 43 || !strings.Contains(out, "scopes:        tasks:read tasks:write") {
		t.Fatalf("create printed:\n%s", out)
	}
	out, err = auth("clients", "list")
	if err != nil || !strings.Contains(out, id) || !strings.Contains(out, "reports") || strings.Contains(out, secret) {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := auth("clients", "revoke", "no-such-client"); err == nil || !strings.Contains(err.Error(), "no client") {
		t.Fatalf("revoke a missing client: %v", err)
	}
	if _, err := auth("clients", "revoke", id); err != nil {
		t.Fatal(err)
	}
	out, _ = auth("clients", "list")
	if row := out[strings.Index(out, id):]; strings.HasSuffix(strings.TrimSpace(strings.SplitN(row, "\n", 2)[0]), "-") {
		t.Errorf("the revoked client is listed as live:\n%s", out)
	}
	if _, err := auth("clients", "frobnicate"); err == nil {
		t.Error("an unknown clients command succeeded")
	}
}
