// Command taskctl lists and creates tasks over the tasks service's gRPC API,
// either as a user (a JWT from the auth service) or as a service (OAuth2
// client credentials, acting for the user named with --user or the
// organization named with --org).
//
//	taskctl --token $JWT list --completed pending
//	taskctl --token $JWT --org ORG_ID list        # the token's active organization's tasks
//	taskctl --client-id ID --client-secret SECRET --user USER_ID create --title "From a service"
//	taskctl --client-id ID --org ORG_ID list      # with the scope tasks:read:org:ORG_ID
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/latchid/latch/pkg/authn"
	"github.com/latchid/latch/pkg/requestid"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
	"github.com/latchid/latch/services/tasks/rpclog"
)

const usage = `usage: taskctl [flags] <command> [command flags]

commands:
  list     list tasks   (--completed all|pending|completed, --priority, --search, --tag, --limit, --offset)
  create   create a task (--title, --description, --priority low|medium|high, --tags a,b)

flags (or their environment variables):
  --addr ADDR             the tasks gRPC address (TASKS_GRPC_ADDR, default localhost:9000)
  --tls                   use TLS (system roots) instead of plaintext
  --token JWT             act as the user the token names (TASKCTL_TOKEN)
  --client-id ID          act as a service: its client id (TASKCTL_CLIENT_ID)
  --client-secret SECRET  and secret (TASKCTL_CLIENT_SECRET; prefer the variable: flags show in ps)
  --token-url URL         the auth token endpoint (TASKCTL_TOKEN_URL, default http://localhost:3001/api/auth/oauth2/token)
  --scopes "a b"          scopes to ask for (default: all the client has)
  --user USER_ID          the user a service acts for (with client credentials: --user or --org)
  --org ORG_ID            list and create the organization's tasks: a user's token's active organization, or
                          the one a service's scopes name (tasks:read:org:ORG_ID, tasks:write:org:ORG_ID)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "taskctl:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, token, clientID, clientSecret, tokenURL, scopes, user, org string
	tls                                                              bool
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("taskctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var o options
	fs.StringVar(&o.addr, "addr", env("TASKS_GRPC_ADDR", "localhost:9000"), "")
	fs.BoolVar(&o.tls, "tls", false, "")
	fs.StringVar(&o.token, "token", getenv("TASKCTL_TOKEN"), "")
	fs.StringVar(&o.clientID, "client-id", getenv("TASKCTL_CLIENT_ID"), "")
	fs.StringVar(&o.clientSecret, "client-secret", getenv("TASKCTL_CLIENT_SECRET"), "")
	fs.StringVar(&o.tokenURL, "token-url", env("TASKCTL_TOKEN_URL", "http://localhost:3001/api/auth/oauth2/token"), "")
	fs.StringVar(&o.scopes, "scopes", "", "")
	fs.StringVar(&o.user, "user", "", "")
	fs.StringVar(&o.org, "org", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no command")
	}
	client, closeConn, err := dial(o)
	if err != nil {
		return err
	}
	defer closeConn()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	// One id for the invocation, sent with its call (rpclog's client
	// interceptor) and shown with a failure: the key to the server's log line.
	reqID := requestid.New()
	ctx = requestid.With(ctx, reqID)
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "list":
		err = list(ctx, client, o, rest, stdout, stderr)
	case "create":
		err = create(ctx, client, o, rest, stdout, stderr)
	default:
		fs.Usage()
		return fmt.Errorf("unknown command %q", cmd)
	}
	if st, ok := status.FromError(err); ok && err != nil {
		return fmt.Errorf("%s: %s (request id %s)", st.Code(), st.Message(), reqID)
	}
	return err
}

// dial connects with the credentials the flags chose: a user's token, or a
// service's client credentials (fetched once, refreshed before expiry).
func dial(o options) (tasksv1.TasksServiceClient, func(), error) {
	var source oauth2.TokenSource
	switch {
	case o.token != "" && o.clientID != "":
		return nil, nil, errors.New("use --token or --client-id/--client-secret, not both")
	case o.token != "":
		source = oauth2.StaticTokenSource(&oauth2.Token{AccessToken: o.token})
	case o.clientID != "":
		if (o.user == "") == (o.org == "") {
			return nil, nil, errors.New("a service acts for a user or an organization: name one with --user USER_ID or --org ORG_ID")
		}
		var err error
		source, err = authn.ClientCredentials(authn.ClientCredentialsConfig{
			TokenURL: o.tokenURL, ClientID: o.clientID, ClientSecret: o.clientSecret, Scopes: strings.Fields(o.scopes),
		})
		if err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, errors.New("no credentials: pass --token, or --client-id and --client-secret")
	}
	transport := insecure.NewCredentials()
	if o.tls {
		transport = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	conn, err := grpc.NewClient(o.addr,
		grpc.WithTransportCredentials(transport),
		grpc.WithPerRPCCredentials(authn.Credentials{Source: source, Insecure: !o.tls}),
		grpc.WithChainUnaryInterceptor(rpclog.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(rpclog.StreamClientInterceptor()))
	if err != nil {
		return nil, nil, err
	}
	return tasksv1.NewTasksServiceClient(conn), func() { _ = conn.Close() }, nil
}

func list(ctx context.Context, client tasksv1.TasksServiceClient, o options, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	fs.SetOutput(stderr)
	completed := fs.String("completed", "all", "all, pending or completed")
	priority := fs.String("priority", "", "low, medium or high")
	search := fs.String("search", "", "text in the title or description")
	tag := fs.String("tag", "", "a tag")
	limit := fs.Int("limit", 50, "page size (1-200)")
	offset := fs.Int("offset", 0, "tasks to skip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req := &tasksv1.ListTasksRequest{UserId: o.user, OrganizationId: o.org, Search: *search, Tag: *tag, Limit: int32(*limit), Offset: int32(*offset)}
	var ok bool
	if req.Completed, ok = completions[*completed]; !ok {
		return fmt.Errorf("--completed must be all, pending or completed")
	}
	if req.Priority, ok = priorities[*priority]; !ok {
		return fmt.Errorf("--priority must be low, medium or high")
	}
	resp, err := client.ListTasks(ctx, req)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDONE\tPRIORITY\tDUE\tTAGS\tTITLE")
	for _, t := range resp.GetTasks() {
		printTask(tw, t)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d of %d tasks\n", len(resp.GetTasks()), resp.GetTotalCount())
	return nil
}

func create(ctx context.Context, client tasksv1.TasksServiceClient, o options, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	title := fs.String("title", "", "the title (required)")
	description := fs.String("description", "", "a description")
	priority := fs.String("priority", "", "low, medium or high (default medium)")
	tags := fs.String("tags", "", "comma-separated tags")
	if err := fs.Parse(args); err != nil {
		return err
	}
	req := &tasksv1.CreateTaskRequest{UserId: o.user, OrganizationId: o.org, Title: *title}
	if *description != "" {
		req.Description = description
	}
	var ok bool
	if req.Priority, ok = priorities[*priority]; !ok {
		return fmt.Errorf("--priority must be low, medium or high")
	}
	for _, t := range strings.Split(*tags, ",") {
		if t = strings.TrimSpace(t); t != "" {
			req.Tags = append(req.Tags, t)
		}
	}
	resp, err := client.CreateTask(ctx, req)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDONE\tPRIORITY\tDUE\tTAGS\tTITLE")
	printTask(tw, resp.GetTask())
	return tw.Flush()
}

var completions = map[string]tasksv1.CompletionFilter{
	"all": tasksv1.CompletionFilter_COMPLETION_FILTER_ALL, "pending": tasksv1.CompletionFilter_COMPLETION_FILTER_PENDING,
	"completed": tasksv1.CompletionFilter_COMPLETION_FILTER_COMPLETED,
}

var priorities = map[string]tasksv1.Priority{
	"": tasksv1.Priority_PRIORITY_UNSPECIFIED, "low": tasksv1.Priority_PRIORITY_LOW,
	"medium": tasksv1.Priority_PRIORITY_MEDIUM, "high": tasksv1.Priority_PRIORITY_HIGH,
}

func printTask(w io.Writer, t *tasksv1.Task) {
	done, due := " ", "-"
	if t.GetCompleted() {
		done = "x"
	}
	if t.GetDueDate() != nil {
		due = t.GetDueDate().AsTime().Format("2006-01-02")
	}
	priority := strings.ToLower(strings.TrimPrefix(t.GetPriority().String(), "PRIORITY_"))
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", t.GetId(), done, priority, due, strings.Join(t.GetTags(), ","), t.GetTitle())
}
