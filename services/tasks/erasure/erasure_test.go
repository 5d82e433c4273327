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
	deleted  map[string]int // by user id, and by "org:" + organization id
}

func (d *flakyDeleter) DeleteOwner(_ context.Context, user string) (int64, error) {
	return d.delete(user)
}

func (d *flakyDeleter) DeleteOrganization(_ context.Context, org string) (int64, error) {
	return d.delete("org:" + org)
}

func (d *flakyDeleter) delete(key string) (int64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.failures > 0 {
		d.failures--
		return 0, errors.New("database unavailable")
	}
	d.deleted[key]++
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

// An organization_deleted event deletes that organization's tasks (retried
// like a user's); a member event (a removal, a role change) deletes nothing:
// the removed member's tasks stay with the organization.
func TestADeletedOrganizationsTasksGoAndAMembersStay(t *testing.T) {
	d := &flakyDeleter{failures: 1, deleted: map[string]int{}}
	e := erasure.New(d, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	defer func() { cancel(); <-done }()
	now := time.Now()
	e.Events([]revocation.Event{
		{ID: 1, Kind: revocation.KindMember, Subject: "removed", OrganizationID: "o1", At: now, Until: now.Add(time.Hour)},
		{ID: 2, Kind: revocation.KindOrganizationDeleted, Subject: "o2", At: now, Until: now.Add(time.Hour)},
		{ID: 3, Kind: revocation.KindOrganizationDeleted, Subject: "", At: now, Until: now.Add(time.Hour)},
	})
	deadline := time.Now().Add(5 * time.Second)
	for d.count("org:o2") == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("organization o2's tasks not deleted; failures %d", e.Failures.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e.Pending() != 0 || e.Failures.Load() != 1 {
		t.Errorf("pending %d, failures %d; want 0, 1", e.Pending(), e.Failures.Load())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.deleted) != 1 {
		t.Errorf("deleted %v; want organization o2 only (not the removed member's, not an empty id, not o1)", d.deleted)
	}
}
