package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchid/latch/services/auth/clients"
)

// basePathOf is the API's base path in BETTER_AUTH_URL (default /api/auth).
func basePathOf(baseURL string) string {
	if u, err := url.Parse(baseURL); err == nil && u.Path != "" && u.Path != "/" {
		return strings.TrimRight(u.Path, "/")
	}
	return "/api/auth"
}

// addClientCommands registers `clients create|list|revoke`; args are the
// command line after the program name.
func addClientCommands(commands map[string]func(context.Context, Config, *slog.Logger) error, args []string, stdout io.Writer) {
	var rest []string
	if len(args) > 2 {
		rest = args[2:]
	}
	withClients := func(f func(context.Context, *clients.Service) error) func(context.Context, Config, *slog.Logger) error {
		return func(ctx context.Context, cfg Config, log *slog.Logger) error {
			a, err := newApp(ctx, cfg, log)
			if err != nil {
				return err
			}
			defer a.Close()
			return f(ctx, a.clients)
		}
	}
	commands["clients create"] = withClients(func(ctx context.Context, svc *clients.Service) error {
		fs := flag.NewFlagSet("clients create", flag.ContinueOnError)
		fs.SetOutput(stdout)
		name := fs.String("name", "", "the service's name")
		scopes := fs.String("scopes", "", `space- or comma-separated scopes, e.g. "tasks:read tasks:write"`)
		if err := fs.Parse(rest); err != nil {
			return err
		}
		c, secret, err := svc.Register(ctx, *name, strings.FieldsFunc(*scopes, func(r rune) bool { return r == ' ' || r == ',' }))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id:     %s\nclient_secret: %s\nscopes:        %s\n\nThe secret is shown only this once; only its hash is stored.\n",
			c.ID, secret, strings.Join(c.Scopes, " "))
		return nil
	})
	commands["clients list"] = withClients(func(ctx context.Context, svc *clients.Service) error {
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tSCOPES\tCREATED\tREVOKED")
		for _, c := range list {
			revoked := "-"
			if c.RevokedAt != nil {
				revoked = c.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, strings.Join(c.Scopes, " "), c.CreatedAt.Format(time.RFC3339), revoked)
		}
		return tw.Flush()
	})
	commands["clients revoke"] = withClients(func(ctx context.Context, svc *clients.Service) error {
		if len(rest) != 1 {
			return errors.New("usage: auth clients revoke CLIENT_ID")
		}
		if err := svc.Revoke(ctx, rest[0]); err != nil {
			if errors.Is(err, clients.ErrNotFound) {
				return fmt.Errorf("no client %q", rest[0])
			}
			return err
		}
		fmt.Fprintf(stdout, "client %s revoked: it gets no new token; tokens already issued expire within OAUTH2_TOKEN_TTL\n", rest[0])
		return nil
	})
}
