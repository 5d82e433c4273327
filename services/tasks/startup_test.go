package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/latchid/latch/pkg/testdb"
)

// Auth starting after tasks: the wait ends as soon as the JWKS answers.
func TestAwaitJWKSEndsWhenAuthStartsListening(t *testing.T) {
	addr := testdb.RefusedAddr(t)
	started := make(chan struct{})
	go func() {
		defer close(started)
		time.Sleep(500 * time.Millisecond)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Error(err)
			return
		}
		srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"keys":[]}`))
		})}}
		srv.Start()
		t.Cleanup(srv.Close)
	}()
	begin := time.Now()
	if !awaitJWKS(t.Context(), "http://"+addr+"/api/auth/jwks", 10*time.Second) {
		t.Fatal("gave up although the JWKS answered")
	}
	if waited := time.Since(begin); waited < 400*time.Millisecond || waited > 5*time.Second {
		t.Errorf("waited %v for a JWKS that answered after 500ms", waited)
	}
	<-started
}

// A JWKS that never answers 200 holds start-up for the grace period only.
func TestAwaitJWKSGivesUpAfterTheGrace(t *testing.T) {
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "starting", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	for name, url := range map[string]string{"refused": "http://" + testdb.RefusedAddr(t) + "/jwks", "503": failing.URL} {
		t.Run(name, func(t *testing.T) {
			begin := time.Now()
			if awaitJWKS(t.Context(), url, 300*time.Millisecond) {
				t.Fatal("reported an answer")
			}
			if waited := time.Since(begin); waited < 300*time.Millisecond || waited > 3*time.Second {
				t.Errorf("waited %v, want the 300ms grace", waited)
			}
		})
	}
	// A stop signal ends the wait at once.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	begin := time.Now()
	if awaitJWKS(ctx, failing.URL, time.Minute) || time.Since(begin) > time.Second {
		t.Errorf("a canceled start-up kept waiting %v", time.Since(begin))
	}
}
