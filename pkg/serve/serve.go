// Package serve runs HTTP servers for the life of a context and shuts them
// down gracefully, the same way in every Latch service.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// DefaultDrain bounds how long in-flight requests may finish after a stop signal.
const DefaultDrain = 15 * time.Second

// ErrStopping is the readiness failure of a server that got its stop signal.
var ErrStopping = errors.New("stopping: the server is leaving")

// Server serves one handler until its context is done, then stops in two
// steps. First, for Delay, it goes on serving everything (the listener stays
// open) while Ready fails and every response says Connection: close; then it
// closes the listener and lets in-flight requests finish for at most Drain.
//
// The delay is the preStop pattern done by the process itself: load
// balancers polling /readyz drop the replica, and clients holding keep-alive
// connections (a gateway's pool, which no endpoint change reaches) are told
// to reconnect, so the abrupt part of http.Server.Shutdown (closing idle
// connections a client may be writing a request to, refusing connections
// still in the accept queue) finds nobody sending. SetKeepAlivesEnabled(false)
// is not used for this: it closes every idle connection at once, which is
// the very race the delay is there to avoid.
type Server struct {
	Handler http.Handler
	Delay   time.Duration
	Drain   time.Duration
	Log     *slog.Logger

	stopping atomic.Bool
}

// Ready is a readiness check (observe.Require): it fails from the stop signal on.
func (s *Server) Ready(context.Context) error {
	if s.stopping.Load() {
		return ErrStopping
	}
	return nil
}

// Run serves on ln until ctx is done, then stops as the Server comment says.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	s.stopping.Store(true)
	if s.Delay > 0 {
		log.Info("stopping: not ready, still serving", "delay", s.Delay.String())
		t := time.NewTimer(s.Delay)
		select {
		case err := <-errc:
			t.Stop()
			return fmt.Errorf("serve: %w", err)
		case <-t.C:
		}
	}
	log.Info("shutting down", "drain", s.Drain.String())
	sctx, cancel := context.WithTimeout(context.Background(), s.Drain)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.stopping.Load() {
		// net/http closes the connection after this response; the client
		// sends its next request on a new connection, to whoever is staying.
		w.Header().Set("Connection", "close")
	}
	s.Handler.ServeHTTP(w, r)
}

// ListenAndRun serves on every interface at port (containers and load
// balancers reach a service from outside loopback) until ctx is done.
func (s *Server) ListenAndRun(ctx context.Context, port int) error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return s.Run(ctx, ln)
}

// Run serves handler on ln until ctx is done, then stops accepting and lets
// in-flight requests finish for at most drain.
func Run(ctx context.Context, ln net.Listener, handler http.Handler, drain time.Duration, log *slog.Logger) error {
	return (&Server{Handler: handler, Drain: drain, Log: log}).Run(ctx, ln)
}

// ListenAndRun is Run on every interface at port, with DefaultDrain.
func ListenAndRun(ctx context.Context, port int, handler http.Handler, log *slog.Logger) error {
	return (&Server{Handler: handler, Drain: DefaultDrain, Log: log}).ListenAndRun(ctx, port)
}

// Delayed returns a context done d after ctx is, for a second server (gRPC)
// that should stop with the HTTP one, after the same delay.
func Delayed(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	out, cancel := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		select {
		case <-ctx.Done():
		case <-out.Done():
			return
		}
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-out.Done():
		}
	}()
	return out, cancel
}
