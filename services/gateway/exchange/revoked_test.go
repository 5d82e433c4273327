package exchange_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/revocation"
	"github.com/latchid/latch/pkg/signedcookie"
	"github.com/latchid/latch/pkg/testdb"
	"github.com/latchid/latch/services/gateway/exchange"
)

func sessionJWT(sub, sid string) string {
	enc := base64.RawURLEncoding
	now := time.Now()
	payload, _ := json.Marshal(map[string]any{"sub": sub, "sid": sid, "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix()})
	return enc.EncodeToString([]byte(`{"alg":"EdDSA"}`)) + "." + enc.EncodeToString(payload) + ".c2ln"
}

// A session revoked anywhere (not signed out through this gateway) stops
// being exchanged as soon as the deny set has it: the cached token, in
// memory or in Redis, is evicted and auth is asked, which refuses.
func TestACachedTokenOfARevokedSessionIsEvictedAndAuthAskedAgain(t *testing.T) {
	for _, withRedis := range []bool{false, true} {
		t.Run(fmt.Sprintf("redis=%v", withRedis), func(t *testing.T) {
			var ended atomic.Bool
			var asked atomic.Int64
			sid := fmt.Sprintf("sess-%d", time.Now().UnixNano())
			auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				asked.Add(1)
				if ended.Load() {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				_ = json.NewEncoder(w).Encode(map[string]string{"token": sessionJWT("ann", sid)})
			}))
			defer auth.Close()
			set := revocation.NewSet(time.Minute, nil)
			set.MarkSynced()
			cfg := exchange.Config{TokenURL: auth.URL, Client: http.DefaultClient, CacheSize: 10,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Revocations: set}
			cookie := session(t, "better-auth.session_token="+signedcookie.EncodeValue(signedcookie.Sign(sid, testSecret)))
			if withRedis {
				cfg.Redis = testdb.Redis(t)
				t.Cleanup(func() { cfg.Redis.Del(context.Background(), "latch:gateway:token:"+cookie.Key()) })
			}
			x, err := exchange.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			for range 3 {
				if _, err := x.Token(ctx, cookie); err != nil {
					t.Fatal(err)
				}
			}
			if asked.Load() != 1 {
				t.Fatalf("auth asked %d times for one session, want 1 (cached)", asked.Load())
			}
			// Another replica of auth revoked it: this gateway never saw a sign-out.
			ended.Store(true)
			now := time.Now()
			set.Apply(revocation.Event{ID: 1, Kind: revocation.KindSession, Subject: sid, At: now, Until: now.Add(time.Hour)})
			if _, err := x.Token(ctx, cookie); !errors.Is(err, exchange.ErrUnauthenticated) {
				t.Fatalf("after the revocation: %v, want ErrUnauthenticated from auth", err)
			}
			if withRedis {
				if n, _ := cfg.Redis.Exists(ctx, "latch:gateway:token:"+cookie.Key()).Result(); n != 0 {
					t.Error("the revoked session's token is still in Redis for the other gateway replicas")
				}
				// A second gateway replica sharing Redis, with a cold memory.
				other, _ := exchange.New(cfg)
				if _, err := other.Token(ctx, cookie); !errors.Is(err, exchange.ErrUnauthenticated) {
					t.Fatalf("another replica: %v", err)
				}
			}
		})
	}
}
