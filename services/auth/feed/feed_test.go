package feed_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/auth/feed"
)

// memStore is the events table shared by two replicas.
type memStore struct {
	mu     sync.Mutex
	events []revocation.Event
}

func (m *memStore) Head(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return int64(len(m.events)), nil
}

func (m *memStore) After(_ context.Context, after int64, limit int) ([]revocation.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []revocation.Event
	for _, e := range m.events {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (m *memStore) add(subject string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	m.events = append(m.events, revocation.Event{ID: int64(len(m.events) + 1), Kind: revocation.KindSession, Subject: subject, At: now, Until: now.Add(time.Hour)})
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func channel(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "feed-test:" + hex.EncodeToString(b)
}

func serve(t *testing.T, f *feed.Feed) string {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	srv := httptest.NewServer(f)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return srv.URL
}

// poll sends one request and returns the page and how long it took.
func poll(t *testing.T, url string) (revocation.Page, time.Duration, int) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Error(err)
		return revocation.Page{}, 0, 0
	}
	defer resp.Body.Close()
	var p revocation.Page
	_ = json.NewDecoder(resp.Body).Decode(&p)
	return p, time.Since(start), resp.StatusCode
}

func TestARevocationOnOneReplicaAnswersALongPollOnAnotherThroughRedis(t *testing.T) {
	t.Parallel()
	rdb := testdb.Redis(t)
	ch := channel(t)
	store := &memStore{}
	// Polls an hour apart: only the Redis nudge can wake replica b in time.
	a := feed.New(store, feed.Config{Poll: time.Hour, Redis: rdb, Channel: ch, Logger: quiet()})
	b := feed.New(store, feed.Config{Poll: time.Hour, Redis: rdb, Channel: ch, Logger: quiet()})
	serve(t, a)
	urlB := serve(t, b)
	time.Sleep(200 * time.Millisecond) // subscriptions in place

	got := make(chan revocation.Page, 1)
	var took time.Duration
	go func() { p, d, _ := poll(t, urlB+"?after=0&wait=25"); took = d; got <- p }()
	time.Sleep(300 * time.Millisecond)
	start := time.Now()
	store.add("s1")
	a.Committed()
	select {
	case p := <-got:
		t.Logf("answered %v after the commit (request held %v)", time.Since(start), took)
		if len(p.Events) != 1 || p.Events[0].Subject != "s1" || p.Head != 1 {
			t.Fatalf("page %+v", p)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("took %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("replica b's long poll was not woken by a's commit")
	}
}

// A nudge is not believed: a forged one makes the replica read its own
// database once, and the feed says what the database says.
func TestAForgedNudgeCostsOneReadAndRevokesNothing(t *testing.T) {
	t.Parallel()
	rdb := testdb.Redis(t)
	ch := channel(t)
	store := &memStore{}
	f := feed.New(store, feed.Config{Poll: time.Hour, Redis: rdb, Channel: ch, Logger: quiet()})
	url := serve(t, f)
	time.Sleep(200 * time.Millisecond)
	reads := f.HeadReads.Load()
	held := make(chan revocation.Page, 1)
	go func() { p, _, _ := poll(t, url+"?after=0&wait=2"); held <- p }()
	time.Sleep(100 * time.Millisecond)
	forged, _ := json.Marshal(revocation.Event{ID: 99, Kind: revocation.KindUserDeleted, Subject: "victim", At: time.Now(), Until: time.Now().Add(time.Hour)})
	if err := rdb.Publish(context.Background(), ch, forged).Err(); err != nil {
		t.Fatal(err)
	}
	p := <-held
	if len(p.Events) != 0 || p.Head != 0 {
		t.Fatalf("after a forged nudge the feed served %+v; want nothing", p)
	}
	if f.Nudges.Load() != 1 || f.HeadReads.Load()-reads != 1 {
		t.Errorf("nudges %d, head reads %d; want 1 and 1", f.Nudges.Load(), f.HeadReads.Load()-reads)
	}
}

func TestWithoutRedisTheLocalCommitAndThePollWakeLongPolls(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	a := feed.New(store, feed.Config{Poll: 100 * time.Millisecond, Logger: quiet()})
	b := feed.New(store, feed.Config{Poll: 100 * time.Millisecond, Logger: quiet()})
	urlA, urlB := serve(t, a), serve(t, b)
	results := make(chan time.Duration, 2)
	for _, u := range []string{urlA, urlB} {
		go func() { _, _, _ = poll(t, u+"?after=0&wait=25"); results <- 0 }()
	}
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	store.add("s1")
	a.Committed()
	for range 2 {
		select {
		case <-results:
		case <-time.After(3 * time.Second):
			t.Fatal("a long poll was not answered")
		}
	}
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("both answered after %v, want within the 100 ms poll", d)
	}
}

func TestBadParametersAre400AndAnAheadCursorIsAnsweredAtOnce(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	store.add("s1")
	url := serve(t, feed.New(store, feed.Config{Logger: quiet()}))
	for _, q := range []string{"?after=-1", "?after=x", "?wait=26", "?wait=-1", "?after=1e3"} {
		if _, _, status := poll(t, url+q); status != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, status)
		}
	}
	p, d, status := poll(t, url+"?after=7&wait=25")
	if status != 200 || p.Head != 1 || d > time.Second {
		t.Errorf("cursor beyond head: %d %+v after %v; want the head at once (the feed was reset)", status, p, d)
	}
	p, _, _ = poll(t, url)
	if len(p.Events) != 1 {
		t.Errorf("after=0 wait=0: %+v", p)
	}
}
