package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/auth/audit"
	"github.com/latchid/latch/services/auth/sqlstore"
)

// auditLine is one line of `auth audit list`: an event as JSON, with the
// fields the account page leaves out (user, actor, request id).
type auditLine struct {
	ID        string            `json:"id"`
	Type      audit.Type        `json:"type"`
	CreatedAt string            `json:"createdAt"`
	UserID    string            `json:"userId,omitempty"`
	ActorID   string            `json:"actorId,omitempty"`
	IPAddress string            `json:"ipAddress,omitempty"`
	UserAgent string            `json:"userAgent,omitempty"`
	RequestID string            `json:"requestId,omitempty"`
	Detail    map[string]string `json:"detail"`
}

// defaultOperatorLimit is how many events `audit list` prints without --limit.
const defaultOperatorLimit = 100

// addAuditCommands registers `audit list`; args are the command line after
// the program name.
func addAuditCommands(commands map[string]func(context.Context, Config, *slog.Logger) error, args []string, stdout io.Writer, now func() time.Time) {
	var rest []string
	if len(args) > 2 {
		rest = args[2:]
	}
	commands["audit list"] = func(ctx context.Context, cfg Config, _ *slog.Logger) error {
		fs := flag.NewFlagSet("audit list", flag.ContinueOnError)
		fs.SetOutput(stdout)
		user := fs.String("user", "", "the user id whose events to list (default: every user's)")
		since := fs.String("since", "", "only events at or after this RFC 3339 time, or this long ago (24h)")
		types := fs.String("type", "", "only these event types, comma-separated (docs/audit.md)")
		limit := fs.Int("limit", defaultOperatorLimit, "at most this many events, newest first")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return errors.New("usage: auth audit list [--user ID] [--since 24h|RFC3339] [--type a,b] [--limit N]")
		}
		q := audit.Query{UserID: *user, AllUsers: *user == "", Limit: *limit}
		var err error
		if q.Since, err = audit.ParseSince(*since, now()); err != nil {
			return err
		}
		if q.Types, err = audit.ParseTypes(*types); err != nil {
			return err
		}
		if *limit < 1 || *limit > audit.MaxOperatorLimit {
			return errors.New("--limit must be from 1 to 10000")
		}
		if err := q.Check(audit.MaxOperatorLimit); err != nil {
			return err
		}
		db, err := sqldb.Open(ctx, cfg.DatabaseURL, cfg.Pool)
		if err != nil {
			return err
		}
		defer db.Close()
		events, err := sqlstore.NewAuditStore(db).Events(ctx, q)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, e := range events {
			d := e.Detail
			if d == nil {
				d = map[string]string{}
			}
			if err := enc.Encode(auditLine{
				ID: e.ID, Type: e.Type, CreatedAt: e.CreatedAt.UTC().Format(time.RFC3339Nano), UserID: e.UserID, ActorID: e.ActorID,
				IPAddress: e.IPAddress, UserAgent: e.UserAgent, RequestID: e.RequestID, Detail: d,
			}); err != nil {
				return err
			}
		}
		return nil
	}
}
