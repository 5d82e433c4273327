package redisclient

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
)

// A client from Open fails as fast as its caller asks, whether Redis hangs
// or refuses, and works against a real Redis.
func TestOpenFailsFastAndWorks(t *testing.T) {
	t.Parallel()
	const deadline = 100 * time.Millisecond
	tests := []struct {
		name   string
		url    func(t *testing.T) string
		wantOK bool
	}{
		{"hung: accepts and never answers", func(t *testing.T) string { return "redis://" + testdb.HungServer(t) }, false},
		{"refused", func(t *testing.T) string { return "redis://" + testdb.RefusedAddr(t) }, false},
		{"real", func(t *testing.T) string { testdb.Redis(t); return testdb.RedisURL() }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rdb, err := Open(tt.url(t), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = rdb.Close() })
			for i := range 3 {
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				start := time.Now()
				err := rdb.Ping(ctx).Err()
				took := time.Since(start)
				cancel()
				if (err == nil) != tt.wantOK {
					t.Fatalf("ping %d: %v, want ok = %v", i+1, err, tt.wantOK)
				}
				// go-redis's defaults: 3 s on a hung connection, retried dials when refused.
				if took > deadline+200*time.Millisecond {
					t.Errorf("ping %d took %v with a %v deadline", i+1, took, deadline)
				}
			}
		})
	}
}

func TestOpenRefusesABadURL(t *testing.T) {
	t.Parallel()
	if _, err := Open("http://not-redis", slog.New(slog.DiscardHandler)); err == nil {
		t.Fatal("Open accepted an http:// URL")
	}
}
