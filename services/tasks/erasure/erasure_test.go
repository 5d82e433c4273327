package erasure_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/services/tasks/erasure"
)

// flakyDeleter fails its first calls, as a database that went away would.
type flakyDeleter struct {
	mu       sync.Mutex
	failures int
	deleted  map[string]int
}

func (d *flakyDeleter) DeleteOwner(_ context.Context, user string) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failures > 0 {
		d.failures--
		return 0, errors.New("database unavailable")
	}
	d.deleted[user]++
	return 1, nil
}

func (d *flakyDeleter) count(user string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.deleted[user]
}

func TestADeletionThatFailsIsRetriedUntilItSucceeds(t *testing.T) {
	d := &flakyDeleter{failures: 2, deleted: map[string]int{}}
	e := erasure.New(d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	now := time.Now()
	e.Events([]revocation.Event{
		{ID: 1, Kind: revocation.KindSession, Subject: "s1", At: now, Until: now.Add(time.Hour)},
		{ID: 2, Kind: revocation.KindUserDeleted, Subject: "gone", At: now, Until: now.Add(time.Hour)},
	})
	deadline := time.Now().Add(5 * time.Second)
	for d.count("gone") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("not deleted after two failures; failures counted %d", e.Failures.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e.Failures.Load() != 2 || e.Pending() != 0 || d.count("s1") != 0 {
		t.Errorf("failures %d, pending %d, session subject deleted %d; want 2, 0, 0", e.Failures.Load(), e.Pending(), d.count("s1"))
	}
}
