// Package erasure deletes the tasks of users and organizations the auth
// service deleted. It hears user_deleted and organization_deleted events
// from the revocation feed (the same follower that keeps the deny set) and
// deletes at least once: a deletion that fails is retried until it
// succeeds, and a replica that restarts reads the deletions the feed keeps
// (a week) and deletes again. Deleting is idempotent, so every replica may
// do it, and does.
//
// A deleted user's personal tasks go; the tasks they created in an
// organization stay with it, as a removed member's do (member events are
// not followed here). A deleted organization's tasks all go.
package erasure

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latchid/latch/pkg/revocation"
)

// Deleter removes every personal task of a user, or every task of an
// organization (task.Service).
type Deleter interface {
	DeleteOwner(ctx context.Context, userID string) (int64, error)
	DeleteOrganization(ctx context.Context, orgID string) (int64, error)
}

// owner is one deleted user or organization whose tasks are to go.
type owner struct {
	organization bool
	id           string
}

// RetryEvery is the pause after a failed deletion.
const RetryEvery = time.Second

// Eraser queues deleted users and organizations and deletes their tasks.
type Eraser struct {
	del Deleter
	log *slog.Logger

	mu      sync.Mutex
	pending map[owner]struct{}
	signal  chan struct{}

	// Erased counts tasks deleted; Failures deletions that failed (retried).
	Erased, Failures atomic.Uint64
}

// New returns an Eraser; Run it for the life of the service.
func New(del Deleter, log *slog.Logger) *Eraser {
	return &Eraser{del: del, log: log, pending: map[owner]struct{}{}, signal: make(chan struct{}, 1)}
}

// Events is a revocation.FollowerConfig.OnEvents: it only queues, so the
// follower never waits on the tasks database.
func (e *Eraser) Events(events []revocation.Event) {
	queued := false
	e.mu.Lock()
	for _, ev := range events {
		if ev.Subject == "" {
			continue
		}
		switch ev.Kind {
		case revocation.KindUserDeleted:
			e.pending[owner{id: ev.Subject}] = struct{}{}
			queued = true
		case revocation.KindOrganizationDeleted:
			e.pending[owner{organization: true, id: ev.Subject}] = struct{}{}
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

// Pending counts users and organizations whose tasks are still to be deleted.
func (e *Eraser) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.pending)
}

// Run deletes queued owners' tasks until ctx ends.
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

// drain deletes every pending owner's tasks once; it reports whether one failed.
func (e *Eraser) drain(ctx context.Context) bool {
	e.mu.Lock()
	owners := make([]owner, 0, len(e.pending))
	for o := range e.pending {
		owners = append(owners, o)
	}
	e.mu.Unlock()
	failed := false
	for _, o := range owners {
		if ctx.Err() != nil {
			return false
		}
		what, key, del := "user", "user_id", e.del.DeleteOwner
		if o.organization {
			what, key, del = "organization", "organization_id", e.del.DeleteOrganization
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := del(dctx, o.id)
		cancel()
		if err != nil {
			failed = true
			e.Failures.Add(1)
			e.log.WarnContext(ctx, "deleting a deleted "+what+"'s tasks failed; retrying", key, o.id, "err", err, "retry_in", RetryEvery)
			continue
		}
		e.mu.Lock()
		delete(e.pending, o)
		e.mu.Unlock()
		e.Erased.Add(uint64(n))
		if n > 0 {
			e.log.InfoContext(ctx, "deleted a deleted "+what+"'s tasks", key, o.id, "tasks", n)
		}
	}
	return failed
}
