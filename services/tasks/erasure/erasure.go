// Package erasure deletes the tasks of users the auth service deleted. It
// hears user_deleted events from the revocation feed (the same follower that
// keeps the deny set) and deletes at least once: a deletion that fails is
// retried until it succeeds, and a replica that restarts reads the
// deletions the feed keeps (a week) and deletes again. Deleting is
// idempotent, so every replica may do it, and does.
package erasure

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchid/latch/pkg/revocation"
)

// Deleter removes every task of a user (task.Service).
type Deleter interface {
	DeleteOwner(ctx context.Context, userID string) (int64, error)
}

// RetryEvery is the pause after a failed deletion.
const RetryEvery = time.Second

// Eraser queues deleted users and deletes their tasks.
type Eraser struct {
	del Deleter
	log *slog.Logger

	mu      sync.Mutex
	pending map[string]struct{}
	signal  chan struct{}

	// Erased counts tasks deleted; Failures deletions that failed (retried).
	Erased, Failures atomic.Uint64
}

// New returns an Eraser; Run it for the life of the service.
func New(del Deleter, log *slog.Logger) *Eraser {
	return &Eraser{del: del, log: log, pending: map[string]struct{}{}, signal: make(chan struct{}, 1)}
}

// Events is a revocation.FollowerConfig.OnEvents: it only queues, so the
// follower never waits on the tasks database.
func (e *Eraser) Events(events []revocation.Event) {
	queued := false
	e.mu.Lock()
	for _, ev := range events {
		if ev.Kind == revocation.KindUserDeleted && ev.Subject != "" {
			e.pending[ev.Subject] = struct{}{}
			queued = true
		}
	}
	e.mu.Unlock()
	if queued {
		select {
		case e.signal <- struct{}{}:
		default:
		}
	}
}

// Pending counts users whose tasks are still to be deleted.
func (e *Eraser) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}

// Run deletes queued users' tasks until ctx ends.
func (e *Eraser) Run(ctx context.Context) {
	for {
		failed := e.drain(ctx)
		wait := time.Duration(0)
		if failed {
			wait = RetryEvery
		}
		select {
		case <-ctx.Done():
			return
		case <-e.signal:
			if wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-time.After(wait):
				}
			}
		case <-retryAfter(wait):
		}
	}
}

func retryAfter(d time.Duration) <-chan time.Time {
	if d == 0 {
		return nil // nothing failed: wait for new work only
	}
	return time.After(d)
}

// drain deletes every pending user once; it reports whether one failed.
func (e *Eraser) drain(ctx context.Context) bool {
	e.mu.Lock()
	users := make([]string, 0, len(e.pending))
	for u := range e.pending {
		users = append(users, u)
	}
	e.mu.Unlock()
	failed := false
	for _, u := range users {
		if ctx.Err() != nil {
			return false
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := e.del.DeleteOwner(dctx, u)
		cancel()
		if err != nil {
			failed = true
			e.Failures.Add(1)
			e.log.WarnContext(ctx, "deleting a deleted user's tasks failed; retrying", "user_id", u, "err", err, "retry_in", RetryEvery)
			continue
		}
		e.mu.Lock()
		delete(e.pending, u)
		e.mu.Unlock()
		e.Erased.Add(uint64(n))
		if n > 0 {
			e.log.InfoContext(ctx, "deleted a deleted user's tasks", "user_id", u, "tasks", n)
		}
	}
	return failed
}
