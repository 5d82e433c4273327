package authn

import (
	"crypto/sha256"
	"sync"
	"time"
)

// acceptedCache remembers tokens that passed Verify. A token is immutable and
// its checks depend only on the key set and the clock, so the answer holds
// until the token's exp or until the key set changes, whichever comes first.
// Keys are SHA-256 digests, so the cache holds no token.
type acceptedCache struct {
	mu      sync.Mutex
	max     int
	entries map[[sha256.Size]byte]acceptedEntry
}

type acceptedEntry struct {
	p      Principal
	exp    time.Time
	keySet *snapshot // the key set the token was checked against
}

func newAcceptedCache(max int) *acceptedCache {
	if max <= 0 {
		return nil
	}
	return &acceptedCache{max: max, entries: make(map[[sha256.Size]byte]acceptedEntry, max)}
}

// get returns the principal of a token verified against keySet that has not
// expired by now.
func (c *acceptedCache) get(digest [sha256.Size]byte, keySet *snapshot, now time.Time) (Principal, bool) {
	if c == nil {
		return Principal{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[digest]
	if !ok {
		return Principal{}, false
	}
	if e.keySet != keySet || !now.Before(e.exp) {
		delete(c.entries, digest)
		return Principal{}, false
	}
	return e.p, true
}

func (c *acceptedCache) put(digest [sha256.Size]byte, e acceptedEntry) {
	if c == nil || e.keySet == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		// Drop about a tenth, in map order (effectively random): cheaper than
		// LRU bookkeeping on every hit, and a dropped token is only re-verified.
		drop := c.max/10 + 1
		for k := range c.entries {
			delete(c.entries, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.entries[digest] = e
}
