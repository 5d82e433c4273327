// Package feed serves the revocation feed (docs/revocation.md) that resource
// servers follow: GET <api base>/revocations?after=<cursor>&wait=<seconds>
// answers at once with the events after the cursor, or holds the request
// until one commits (or wait passes).
//
// A request is woken when the head (the newest event id) grows. The head is
// re-read (one indexed query) whenever a revocation committed in this
// process, when a nudge arrives on the Redis channel (a peer replica
// committed one), and every Poll in any case, so replicas without Redis
// still answer within Poll. A nudge carries nothing that is believed: it only
// makes the replica read its own database, so a forged one costs one query.
package feed

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/latchid/latch/pkg/revocation"
)

// Store reads the events (sqlstore.RevocationFeed).
type Store interface {
	Head(ctx context.Context) (int64, error)
	After(ctx context.Context, after int64, limit int) ([]revocation.Event, error)
}

// DefaultChannel is the Redis channel of nudges.
const DefaultChannel = "latch:revocations"

// DefaultPoll is how often the head is re-read without any nudge.
const DefaultPoll = 250 * time.Millisecond

// Config wires a Feed.
type Config struct {
	// Poll re-reads the head this often; default DefaultPoll.
	Poll time.Duration
	// Redis, when set, carries nudges between replicas.
	Redis *redis.Client
	// Channel is the nudge channel; default DefaultChannel.
	Channel string
	Logger  *slog.Logger
}

// Feed serves the feed and watches the head.
type Feed struct {
	store Store
	cfg   Config

	mu      sync.Mutex
	head    int64
	changed chan struct{} // closed (and replaced) when head grows
	stopped bool

	check chan struct{}

	// Nudges counts messages heard on the Redis channel; HeadReads the
	// head queries they and the other triggers caused.
	Nudges, HeadReads atomic.Uint64
}

// New returns a Feed; Run it for the life of the server.
func New(store Store, cfg Config) *Feed {
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Channel == "" {
		cfg.Channel = DefaultChannel
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Feed{store: store, cfg: cfg, changed: make(chan struct{}), check: make(chan struct{}, 1)}
}

// Committed is called after a transaction that wrote events committed in
// this process: local long polls are woken at once, and peers through Redis.
func (f *Feed) Committed() {
	f.wake()
	if f.cfg.Redis == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		// The message says nothing: receivers read their database.
		if err := f.cfg.Redis.Publish(ctx, f.cfg.Channel, "1").Err(); err != nil {
			f.cfg.Logger.Warn("revocation nudge not published; other replicas answer within the poll interval", "err", err, "poll", f.cfg.Poll)
		}
	}()
}

func (f *Feed) wake() {
	select {
	case f.check <- struct{}{}:
	default:
	}
}

// Run watches the head until ctx ends; then held requests are answered.
func (f *Feed) Run(ctx context.Context) {
	if f.cfg.Redis != nil {
		go f.listen(ctx)
	}
	t := time.NewTicker(f.cfg.Poll)
	defer t.Stop()
	f.read(ctx)
	for {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			f.stopped = true
			close(f.changed)
			f.changed = make(chan struct{})
			f.mu.Unlock()
			return
		case <-t.C:
		case <-f.check:
		}
		f.read(ctx)
	}
}

// listen turns Redis messages into head reads, resubscribing after a
// failure (go-redis reconnects a PubSub by itself).
func (f *Feed) listen(ctx context.Context) {
	sub := f.cfg.Redis.Subscribe(ctx, f.cfg.Channel)
	defer sub.Close()
	ch := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			f.Nudges.Add(1)
			f.wake()
		}
	}
}

func (f *Feed) read(ctx context.Context) {
	f.HeadReads.Add(1)
	head, err := f.store.Head(ctx)
	if err != nil {
		return // the poll tries again; requests read the store themselves
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if head != f.head {
		f.head = head
		close(f.changed)
		f.changed = make(chan struct{})
	}
}

// waiter returns the channel closed at the next head change, and whether
// the feed still holds requests.
func (f *Feed) waiter() (<-chan struct{}, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.changed, !f.stopped
}

// ServeHTTP answers GET ?after=<id>&wait=<seconds>.
func (f *Feed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"code": "METHOD_NOT_ALLOWED", "message": "use GET"})
		return
	}
	q := r.URL.Query()
	after, err := intParam(q.Get("after"), 0, 1<<62)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "BAD_REQUEST", "message": "after must be an event id (a non-negative integer)"})
		return
	}
	maxWait := int64(revocation.MaxWait / time.Second)
	wait, err := intParam(q.Get("wait"), 0, maxWait)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"code": "BAD_REQUEST", "message": "wait must be 0 to " + strconv.FormatInt(maxWait, 10) + " seconds"})
		return
	}
	ctx := r.Context()
	deadline := time.NewTimer(time.Duration(wait) * time.Second)
	defer deadline.Stop()
	for {
		// Take the waiter before reading, so a commit between the read and
		// the wait still wakes this request.
		changed, holding := f.waiter()
		page, err := f.page(ctx, after)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"code": "SERVICE_UNAVAILABLE", "message": "the revocation feed cannot be read right now"})
			return
		}
		if len(page.Events) > 0 || wait == 0 || !holding || page.Head < after {
			writeJSON(w, http.StatusOK, page)
			return
		}
		select {
		case <-changed:
		case <-deadline.C:
			wait = 0
		case <-ctx.Done():
			return
		}
	}
}

func (f *Feed) page(ctx context.Context, after int64) (revocation.Page, error) {
	events, err := f.store.After(ctx, after, revocation.MaxPage+1)
	if err != nil {
		return revocation.Page{}, err
	}
	head, err := f.store.Head(ctx)
	if err != nil {
		return revocation.Page{}, err
	}
	page := revocation.Page{Events: events, Head: head}
	if len(events) > revocation.MaxPage {
		page.Events, page.More = events[:revocation.MaxPage], true
	}
	if page.Events == nil {
		page.Events = []revocation.Event{}
	}
	return page, nil
}

func intParam(raw string, lo, hi int64) (int64, error) {
	if raw == "" {
		return lo, nil
	}
	v, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, strconv.ErrRange
	}
	return v, nil
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
