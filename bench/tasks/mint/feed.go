package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/latchid/latch/pkg/revocation"
)

// feed is the revocation feed in memory, long-polled like auth's.
type feed struct {
	ttl     time.Duration
	mu      sync.Mutex
	events  []revocation.Event
	changed chan struct{}
}

func newFeed(revoked int, ttl time.Duration) *feed {
	f := &feed{ttl: ttl, changed: make(chan struct{})}
	for i := range revoked {
		f.add(fmt.Sprintf("revoked-%06d", i))
	}
	return f
}

func (f *feed) add(sid string) {
	f.append(revocation.Event{Kind: revocation.KindSession, Subject: sid})
}

// addMember is the event auth writes when user's role in org changes.
func (f *feed) addMember(user, org string) {
	f.append(revocation.Event{Kind: revocation.KindMember, Subject: user, OrganizationID: org})
}

func (f *feed) append(e revocation.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now().UTC()
	e.ID, e.At, e.Until = int64(len(f.events)+1), now, now.Add(f.ttl+time.Minute)
	f.events = append(f.events, e)
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *feed) serve(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
	deadline := time.After(time.Duration(min(wait, 25)) * time.Second)
	for {
		f.mu.Lock()
		page := revocation.Page{Events: []revocation.Event{}, Head: int64(len(f.events))}
		for _, e := range f.events[min(int(max(after, 0)), len(f.events)):] {
			if len(page.Events) == revocation.MaxPage {
				page.More = true
				break
			}
			page.Events = append(page.Events, e)
		}
		changed := f.changed
		f.mu.Unlock()
		if len(page.Events) > 0 || wait <= 0 || page.Head < after {
			w.Header().Set("Content-Type", "application/json")
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
