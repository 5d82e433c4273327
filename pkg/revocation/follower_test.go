package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// feedServer speaks the feed's protocol over an in-memory list: answers at
// once when events exist after the cursor, else holds the request until one
// is added or wait passes.
type feedServer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	events  []Event
	changed chan struct{}
	down    atomic.Bool
	asked   atomic.Int64
}

func newFeedServer(t *testing.T) *feedServer {
	f := &feedServer{changed: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	f.asked.Add(1)
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
	deadline := time.After(time.Duration(wait) * time.Second)
	for {
		f.mu.Lock()
		var page Page
		for _, e := range f.events {
			if e.ID > after {
				page.Events = append(page.Events, e)
			}
			page.Head = e.ID
		}
		changed := f.changed
		f.mu.Unlock()
		if len(page.Events) > 0 || wait == 0 || page.Head < after { // behind the cursor: reset, answer now
			_ = json.NewEncoder(w).Encode(page)
			return
		}
		select {
		case <-changed:
		case <-deadline:
			wait = 0
		case <-r.Context().Done():
			return
		}
	}
}

func (f *feedServer) add(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e.ID = int64(len(f.events) + 1)
	f.events = append(f.events, e)
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feedServer) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = nil
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func session(id string) Event {
	now := time.Now()
	return Event{Kind: KindSession, Subject: id, UserID: "u", At: now, Until: now.Add(16 * time.Minute)}
}

func follow(t *testing.T, f *feedServer, set *Set, onEvents func([]Event)) *Follower {
	t.Helper()
	fl, err := Follow(context.Background(), set, FollowerConfig{URL: f.srv.URL + "/api/auth/revocations", Logger: quiet(), OnEvents: onEvents})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fl.Close)
	return fl
}

func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !ok() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func revoked(set *Set, sid string) bool {
	return errors.Is(set.Check(Token{Subject: "u", SessionID: sid, IssuedAt: time.Now()}), ErrRevoked)
}

func TestAFollowerCatchesUpThenHearsNewEventsAtOnce(t *testing.T) {
	t.Parallel()
	f := newFeedServer(t)
	f.add(session("s1"))
	f.add(session("s2"))
	set := NewSet(time.Minute, nil)
	var heard atomic.Int64
	fl := follow(t, f, set, func(es []Event) { heard.Add(int64(len(es))) })
	waitUntil(t, 2*time.Second, "catch-up", func() bool { return revoked(set, "s1") && revoked(set, "s2") })
	if err := set.Check(Token{Subject: "u", SessionID: "s3", IssuedAt: time.Now()}); err != nil {
		t.Fatalf("a live session after catch-up: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // the follower is now long-polling
	asked := f.asked.Load()
	f.add(session("s3"))
	took := waitUntil(t, time.Second, "a new event", func() bool { return revoked(set, "s3") })
	t.Logf("new event applied %v after it was added", took)
	if took > 200*time.Millisecond {
		t.Errorf("took %v: the long poll should answer the moment the event exists", took)
	}
	if n := f.asked.Load() - asked; n > 2 {
		t.Errorf("%d requests for one event: the follower is polling, not long-polling", n)
	}
	if fl.Stats().Cursor != 3 || heard.Load() != 3 {
		t.Errorf("cursor %d, OnEvents heard %d; want 3 and 3", fl.Stats().Cursor, heard.Load())
	}
}

func TestAnUnreachableFeedTurnsTheSetStaleAndAReturningOneIsReadFromTheCursor(t *testing.T) {
	t.Parallel()
	f := newFeedServer(t)
	f.add(session("s1"))
	set := NewSet(400*time.Millisecond, nil)
	fl := follow(t, f, set, nil)
	waitUntil(t, 2*time.Second, "catch-up", func() bool { return revoked(set, "s1") })
	f.down.Store(true)
	f.srv.CloseClientConnections() // ends the held long poll
	waitUntil(t, 2*time.Second, "stale", func() bool {
		return errors.Is(set.Check(Token{Subject: "u", SessionID: "live", IssuedAt: time.Now()}), ErrStale)
	})
	f.add(session("s2")) // revoked while the follower could not hear
	f.down.Store(false)
	took := waitUntil(t, 2*time.Second, "the missed event after the feed returns", func() bool { return revoked(set, "s2") })
	t.Logf("applied %v after the feed returned", took)
	if took > time.Second+100*time.Millisecond {
		t.Errorf("took %v, want within the retry bound (1 s)", took)
	}
	if err := set.Check(Token{Subject: "u", SessionID: "live", IssuedAt: time.Now()}); err != nil {
		t.Errorf("a live session once the feed answers again: %v", err)
	}
	if fl.Stats().Failures == 0 {
		t.Error("no failure counted")
	}
}

func TestAFeedThatWasResetIsReadAgainFromTheStart(t *testing.T) {
	t.Parallel()
	f := newFeedServer(t)
	f.add(session("s1"))
	f.add(session("s2"))
	set := NewSet(time.Minute, nil)
	fl := follow(t, f, set, nil)
	waitUntil(t, 2*time.Second, "catch-up", func() bool { return fl.Stats().Cursor == 2 })
	f.reset()
	f.add(session("s-after-reset")) // id 1 again: below the follower's cursor
	f.srv.CloseClientConnections()
	waitUntil(t, 3*time.Second, "the reset feed's event", func() bool { return revoked(set, "s-after-reset") })
}
