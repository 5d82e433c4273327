// Package requestid holds the one context key for a request's id, so HTTP
// (pkg/httplog) and gRPC (services/tasks/rpclog) hand the same id to the code they
// call, and either transport's caller can forward it.
package requestid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
)

// maxLen bounds an id taken from a caller: it goes into every log line of
// the request, so a client must not be able to make those lines arbitrarily long.
const maxLen = 128

type key struct{}

// From returns the id of the request ctx belongs to, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// With returns a copy of ctx that belongs to the request id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, key{}, id)
}

// Accept returns the id to use for a request that arrived carrying
// received: received itself when it is usable, otherwise a new id.
func Accept(received string) string {
	if received == "" || len(received) > maxLen {
		return New()
	}
	return received
}

// New makes an id: 96 random bits, hex.
func New() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
