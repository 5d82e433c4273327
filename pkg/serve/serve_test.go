package serve_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/serve"
)

// During the delay the server answers everyone, new connections included,
// with Connection: close, and Ready fails; after it the listener is closed.
func TestStopDelay(t *testing.T) {
	cases := []struct {
		name  string
		delay time.Duration
	}{
		{"no delay: the listener closes at once", 0},
		{"a delay: serving goes on, unready", 600 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			base := "http://" + ln.Addr().String()
			s := &serve.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "ok")
			}), Delay: tc.delay, Drain: time.Second}
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx, ln) }()
			client := &http.Client{Transport: &http.Transport{}, Timeout: 2 * time.Second}

			resp, err := client.Get(base)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.Close || s.Ready(ctx) != nil {
				t.Fatalf("before the stop: Connection: close %v, ready %v", resp.Close, s.Ready(ctx))
			}

			stopped := time.Now()
			stop()
			if tc.delay > 0 {
				time.Sleep(tc.delay / 3)
				if err := s.Ready(ctx); !errors.Is(err, serve.ErrStopping) {
					t.Errorf("Ready during the delay = %v", err)
				}
				for range 2 { // the kept connection, then a new one
					resp, err := client.Get(base)
					if err != nil {
						t.Fatalf("during the delay: %v", err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if !resp.Close {
						t.Error("a response during the delay kept the connection open")
					}
				}
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the server did not stop")
			}
			if d := time.Since(stopped); d < tc.delay {
				t.Errorf("stopped %v after the signal, before the %v delay", d, tc.delay)
			}
			if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
				t.Error("the listener still accepts after the stop")
			}
		})
	}
}

func TestDelayed(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := serve.Delayed(parent, 200*time.Millisecond)
	defer stop()
	cancel()
	start := time.Now()
	select {
	case <-ctx.Done():
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("done %v after the parent, want the delay", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("never done")
	}
}
