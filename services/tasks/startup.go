package main

import (
	"context"
	"io"
	"net/http"
	"time"
)

// jwksStartupGrace is how long a starting tasks process waits for the JWKS
// to answer before it builds its verifier. When auth and tasks start
// together (make run, a fresh cluster), tasks is usually up first; without
// the wait its verifier would warn that the JWKS fetch failed and tokens are
// refused, about a state that ends a second later.
const jwksStartupGrace = 10 * time.Second

// awaitJWKS polls url quietly until it answers 200, ctx ends or grace runs
// out. It decides nothing: the verifier fetches the keys itself afterwards,
// and if auth is still not answering then, the verifier's warnings are true
// and it goes on retrying in the background, as it would have anyway.
func awaitJWKS(ctx context.Context, url string, grace time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, grace)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil); err == nil {
			if resp, err := client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return true
				}
			}
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(200 * time.Millisecond):
		}
	}
}
