package revocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// FollowerConfig configures a Follower.
type FollowerConfig struct {
	// URL is the feed, e.g. FeedURL(JWKS_URL).
	URL string
	// Client makes the requests; its Timeout, if any, must exceed MaxWait
	// (default: a client with none, each request bounded by its context).
	Client *http.Client
	// Wait is how long auth may hold a request without events; default MaxWait.
	Wait time.Duration
	// Logger gets failures (at most one line per LogEvery while they last)
	// and recoveries; default slog.Default().
	Logger *slog.Logger
	// OnEvents, when set, hears every page of events after the set has
	// applied them (tasks deletes deleted users' data from it). It runs on
	// the follower's goroutine: hand slow work to another.
	OnEvents func([]Event)
}

// LogEvery throttles the follower's failure log lines.
const LogEvery = 30 * time.Second

// retryMax caps the pause between failed requests, so a feed that comes
// back is read again within this bound.
const retryMax = time.Second

// Follower keeps a Set current from the feed: on start it reads every
// event the feed still holds (catching up from cursor 0), then long-polls
// for new ones; after a failure it retries (at most retryMax apart) from
// the cursor it had, so nothing is missed across an outage.
type Follower struct {
	cfg FollowerConfig
	set *Set

	cursor   atomic.Int64
	fetches  atomic.Uint64
	failures atomic.Uint64
	applied  atomic.Uint64

	stop   context.CancelFunc
	done   chan struct{}
	once   sync.Once
	synced chan struct{} // closed at the first answer
	first  sync.Once
}

// Follow starts following the feed into set until Close.
func Follow(ctx context.Context, set *Set, cfg FollowerConfig) (*Follower, error) {
	if _, err := url.Parse(cfg.URL); err != nil || cfg.URL == "" {
		return nil, fmt.Errorf("revocation: feed URL %q: %v", cfg.URL, err)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{}
	}
	if cfg.Wait <= 0 || cfg.Wait > MaxWait {
		cfg.Wait = MaxWait
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Logger = cfg.Logger.With("component", "revocation", "feed", cfg.URL)
	ctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	f := &Follower{cfg: cfg, set: set, stop: stop, done: make(chan struct{}), synced: make(chan struct{})}
	go f.run(ctx)
	return f, nil
}

// WaitSynced waits for the feed's first answer (the catch-up), or ctx.
// A service calls it at start, bounded, so it does not begin by answering
// 503 for the few milliseconds the catch-up takes.
func (f *Follower) WaitSynced(ctx context.Context) error {
	select {
	case <-f.synced:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops following; the set keeps its entries (and turns stale).
func (f *Follower) Close() {
	f.once.Do(f.stop)
	<-f.done
}

// Set is the deny set the follower keeps.
func (f *Follower) Set() *Set { return f.set }

// FollowerStats are counters for metrics.
type FollowerStats struct {
	Cursor   int64
	Fetches  uint64 // answers received
	Failures uint64 // requests that failed
	Applied  uint64 // events received
}

// Stats returns the follower's counters.
func (f *Follower) Stats() FollowerStats {
	return FollowerStats{Cursor: f.cursor.Load(), Fetches: f.fetches.Load(), Failures: f.failures.Load(), Applied: f.applied.Load()}
}

func (f *Follower) run(ctx context.Context) {
	defer close(f.done)
	var (
		failingSince time.Time
		lastLog      time.Time
		pause        = 50 * time.Millisecond
		staleLogged  bool
	)
	wait := time.Duration(0) // catch up at once, then long-poll
	for ctx.Err() == nil {
		page, err := f.fetch(ctx, f.cursor.Load(), wait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			f.failures.Add(1)
			now := time.Now()
			if failingSince.IsZero() {
				failingSince = now
			}
			stale := f.set.Fresh(now) != nil
			if now.Sub(lastLog) >= LogEvery || (stale && !staleLogged) {
				lastLog = now
				if stale {
					staleLogged = true
					f.cfg.Logger.ErrorContext(ctx, "revocation feed unreachable past the bound: tokens are refused (503) until it answers",
						"failing_for", now.Sub(failingSince).Round(time.Millisecond), "max_stale", f.set.MaxStale(), "err", err)
				} else {
					f.cfg.Logger.WarnContext(ctx, "revocation feed unreachable; tokens are accepted on the last known deny set until the bound",
						"failing_for", now.Sub(failingSince).Round(time.Millisecond), "max_stale", f.set.MaxStale(), "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			pause = min(pause*2, retryMax)
			wait = 0
			continue
		}
		if !failingSince.IsZero() {
			f.cfg.Logger.InfoContext(ctx, "revocation feed reachable again", "failed_for", time.Since(failingSince).Round(time.Millisecond))
			failingSince, lastLog, staleLogged = time.Time{}, time.Time{}, false
		}
		pause = 50 * time.Millisecond
		f.fetches.Add(1)
		f.set.Apply(page.Events...)
		f.set.MarkSynced()
		f.first.Do(func() { close(f.synced) })
		cursor := f.cursor.Load()
		if n := len(page.Events); n > 0 {
			f.applied.Add(uint64(n))
			cursor = page.Events[n-1].ID
			if f.cfg.OnEvents != nil {
				f.cfg.OnEvents(page.Events)
			}
		}
		if page.Head < cursor {
			// The feed holds fewer events than we read: it was reset (a new
			// database). Read it all again; applying twice changes nothing.
			f.cfg.Logger.WarnContext(ctx, "revocation feed head is behind our cursor; reading it again from the start", "head", page.Head, "cursor", cursor)
			cursor = 0
		}
		f.cursor.Store(cursor)
		wait = f.cfg.Wait
		if page.More {
			wait = 0
		}
	}
}

// errFeed is an answer that is not a usable page.
var errFeed = errors.New("revocation feed")

func (f *Follower) fetch(ctx context.Context, after int64, wait time.Duration) (Page, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	u, _ := url.Parse(f.cfg.URL)
	q := u.Query()
	q.Set("after", strconv.FormatInt(after, 10))
	q.Set("wait", strconv.Itoa(int(wait/time.Second)))
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.cfg.Client.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode == http.StatusNotFound {
			// The usual cause: the URL was derived from a JWKS_URL that goes
			// through the gateway, which does not expose the feed.
			return Page{}, fmt.Errorf("%w: 404 at %s: point REVOCATION_FEED_URL (or JWKS_URL) at the auth service itself, not the gateway", errFeed, f.cfg.URL)
		}
		return Page{}, fmt.Errorf("%w: status %d", errFeed, resp.StatusCode)
	}
	var page Page
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(&page); err != nil {
		return Page{}, fmt.Errorf("%w: %v", errFeed, err)
	}
	for i, e := range page.Events {
		if e.ID <= after || (i > 0 && e.ID <= page.Events[i-1].ID) {
			return Page{}, fmt.Errorf("%w: event ids out of order", errFeed)
		}
	}
	return page, nil
}
