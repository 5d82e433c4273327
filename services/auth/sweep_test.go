package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/pkg/testproc"
)

// `auth serve` sweeps: a session that expired long ago disappears from the
// database while a live one stays, and the sweep stops with the server.
func TestServeSweepsExpiredSessions(t *testing.T) {
	t.Parallel()
	dsn := testdb.New(t)
	port := testproc.FreePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := map[string]string{
		"DATABASE_URL": dsn, "BETTER_AUTH_SECRET": testSecret, "BETTER_AUTH_URL": base, "PORT": fmt.Sprint(port),
		"LATCH_DATA_DIR": t.TempDir(), "SWEEP_INTERVAL": "50ms", "LOG_LEVEL": "warn",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() {
		served <- run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()

	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 2; i++ {
		body := fmt.Sprintf(`{"name":"Sweep","email":"sweep-%d@example.com","password":"password123"}`, i)
		for {
			resp, err := http.Post(base+"/api/auth/sign-up/email", "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("sign-up: %d", resp.StatusCode)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("auth serve did not come up: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	db, err := sqldb.Open(ctx, dsn, sqldb.DefaultPool())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The first user's session expired a day ago.
	if err := db.Gorm.Exec(`UPDATE session SET expires_at = now() - interval '1 day'
		WHERE user_id = (SELECT id FROM "user" WHERE email = 'sweep-0@example.com')`).Error; err != nil {
		t.Fatal(err)
	}
	sessions := func() (n int64) {
		if err := db.Gorm.Table("session").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	for sessions() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions after 20 s, want the expired one swept and the live one kept", sessions())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var left string
	if err := db.Gorm.Raw(`SELECT u.email FROM session s JOIN "user" u ON u.id = s.user_id`).Scan(&left).Error; err != nil || left != "sweep-1@example.com" {
		t.Fatalf("the session left belongs to %q (%v), want sweep-1@example.com", left, err)
	}
	cancel()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("auth serve returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("auth serve did not stop")
	}
}
