package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

// Every domain error the tasks service answers, over REST and over gRPC:
// the same outcome (status and code that mean the same), the same words,
// and for invalid input the same fields. The two transports map errors in
// one place each (httpapi's fail, grpcapi's toStatus); this keeps them alike.
func TestRESTAndGRPCAnswerEveryDomainErrorAlike(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	ann := is.token("ann")
	bobsTask := int64(ts.create(is.token("bob"), `{"title":"bob's"}`)["id"].(float64))
	const missing = int64(1) << 40
	writer := is.serviceToken("importer", "tasks:write")
	reader := is.serviceToken("reports", "tasks:read")
	// Team tasks: ann2 is a member of acme, where bob's team task is.
	ann2 := is.orgToken("ann", "acme", "member")
	bobsTeamTask := int64(ts.create(is.orgToken("bob", "acme", "member"), `{"title":"bob's team task","organization_id":"acme"}`)["id"].(float64))
	acmeReader := is.serviceToken("acme-reports", "tasks:read:org:acme")

	type outcome struct {
		status  int
		code    codes.Code
		message string   // REST's detail when a string; the gRPC status message
		fields  []string // invalid fields, for 422 / INVALID_ARGUMENT
	}
	tests := []struct {
		name string
		rest func() reply
		grpc func(ctx context.Context) error
		want outcome
	}{
		{
			"task.ErrNotFound",
			func() reply { return ts.call(ann, "GET", fmt.Sprintf("/api/tasks/%d", missing), "") },
			func(ctx context.Context) error {
				return errOf(client.GetTask(ctx, &tasksv1.GetTaskRequest{Id: missing}))
			},
			outcome{404, codes.NotFound, "Task not found", nil},
		},
		{
			"task.ErrForbidden",
			func() reply { return ts.call(ann, "DELETE", fmt.Sprintf("/api/tasks/%d", bobsTask), "") },
			func(ctx context.Context) error {
				return errOf(client.DeleteTask(ctx, &tasksv1.DeleteTaskRequest{Id: bobsTask}))
			},
			outcome{403, codes.PermissionDenied, "Not authorized to access this task", nil},
		},
		{
			"task.ValidationError",
			func() reply { return ts.call(ann, "POST", "/api/tasks", `{"title":"  ","tags":[""]}`) },
			func(ctx context.Context) error {
				return errOf(client.CreateTask(ctx, &tasksv1.CreateTaskRequest{Title: "  ", Tags: []string{""}}))
			},
			outcome{422, codes.InvalidArgument, "", []string{"title", "tags"}},
		},
		{
			"caller.ErrMissingScope",
			func() reply { return ts.call(reader, "POST", "/api/tasks?user_id=ann", `{"title":"t"}`) },
			func(context.Context) error {
				return errOf(client.CreateTask(as(t, reader), &tasksv1.CreateTaskRequest{UserId: "ann", Title: "t"}))
			},
			outcome{403, codes.PermissionDenied, "", nil},
		},
		{
			"caller.ErrOtherUser",
			func() reply { return ts.call(ann, "GET", fmt.Sprintf("/api/tasks/%d?user_id=bob", bobsTask), "") },
			func(ctx context.Context) error {
				return errOf(client.GetTask(ctx, &tasksv1.GetTaskRequest{UserId: "bob", Id: bobsTask}))
			},
			outcome{403, codes.PermissionDenied, "A user's token may act only for that user", nil},
		},
		{
			"task.ErrForbidden (a member deleting another member's task)",
			func() reply { return ts.call(ann2, "DELETE", fmt.Sprintf("/api/tasks/%d", bobsTeamTask), "") },
			func(context.Context) error {
				return errOf(client.DeleteTask(as(t, ann2), &tasksv1.DeleteTaskRequest{Id: bobsTeamTask}))
			},
			outcome{403, codes.PermissionDenied, "Not authorized to access this task", nil},
		},
		{
			"task.ErrForbidden (another organization's task)",
			func() reply { return ts.call(ann, "GET", fmt.Sprintf("/api/tasks/%d", bobsTeamTask), "") },
			func(ctx context.Context) error {
				return errOf(client.GetTask(ctx, &tasksv1.GetTaskRequest{Id: bobsTeamTask}))
			},
			outcome{403, codes.PermissionDenied, "Not authorized to access this task", nil},
		},
		{
			"task.ErrNoOrganization",
			func() reply { return ts.call(ann, "GET", "/api/tasks?scope=organization", "") },
			func(ctx context.Context) error {
				return errOf(client.ListTasks(ctx, &tasksv1.ListTasksRequest{Scope: tasksv1.TaskScope_TASK_SCOPE_ORGANIZATION}))
			},
			outcome{403, codes.PermissionDenied, "No active organization: the token names none you are a member of", nil},
		},
		{
			"caller.ErrOtherOrganization",
			func() reply { return ts.call(ann2, "POST", "/api/tasks", `{"title":"t","organization_id":"globex"}`) },
			func(context.Context) error {
				return errOf(client.CreateTask(as(t, ann2), &tasksv1.CreateTaskRequest{Title: "t", OrganizationId: "globex"}))
			},
			outcome{403, codes.PermissionDenied, "A user's token may act only in its active organization", nil},
		},
		{
			"caller.ErrMissingScope (an organization's scope)",
			func() reply { return ts.call(acmeReader, "POST", "/api/tasks?organization_id=acme", `{"title":"t"}`) },
			func(context.Context) error {
				return errOf(client.CreateTask(as(t, acmeReader), &tasksv1.CreateTaskRequest{OrganizationId: "acme", Title: "t"}))
			},
			outcome{403, codes.PermissionDenied, "this service token needs the tasks:write:org:acme scope", nil},
		},
		{
			"caller.ErrOrganizationRequired",
			func() reply { return ts.call(acmeReader, "GET", "/api/tasks?scope=organization", "") },
			func(context.Context) error {
				return errOf(client.ListTasks(as(t, acmeReader), &tasksv1.ListTasksRequest{Scope: tasksv1.TaskScope_TASK_SCOPE_ORGANIZATION}))
			},
			outcome{422, codes.InvalidArgument, "", []string{"organization_id"}},
		},
		{
			"caller.ErrUserRequired",
			func() reply { return ts.call(writer, "POST", "/api/tasks", `{"title":"t"}`) },
			func(context.Context) error {
				return errOf(client.CreateTask(as(t, writer), &tasksv1.CreateTaskRequest{Title: "t"}))
			},
			outcome{422, codes.InvalidArgument, "", []string{"user_id"}},
		},
	}
	check := func(t *testing.T, want outcome, r reply, err error) {
		t.Helper()
		st := status.Convert(err)
		if r.status != want.status || st.Code() != want.code {
			t.Fatalf("REST %d %s, gRPC %v %q; want %d and %v", r.status, r.body, st.Code(), st.Message(), want.status, want.code)
		}
		var body struct{ Detail json.RawMessage }
		if err := json.Unmarshal(r.body, &body); err != nil {
			t.Fatalf("REST body %s: %v", r.body, err)
		}
		var detail string
		if json.Unmarshal(body.Detail, &detail) == nil {
			// A message answered in words: the same words on both.
			if detail != st.Message() || (want.message != "" && detail != want.message) {
				t.Errorf("REST says %q, gRPC %q; want %q", detail, st.Message(), want.message)
			}
		}
		if want.fields == nil {
			return
		}
		var issues []struct{ Loc []string }
		if err := json.Unmarshal(body.Detail, &issues); err != nil {
			t.Fatalf("REST detail %s is not a list of issues: %v", body.Detail, err)
		}
		var restFields, grpcFields []string
		for _, is := range issues {
			restFields = append(restFields, is.Loc[len(is.Loc)-1])
		}
		for _, d := range st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					grpcFields = append(grpcFields, v.GetField())
				}
			}
		}
		if !slices.Equal(restFields, want.fields) || !slices.Equal(grpcFields, want.fields) {
			t.Errorf("invalid fields: REST %v, gRPC %v; want %v", restFields, grpcFields, want.fields)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			check(t, tc.want, tc.rest(), tc.grpc(as(t, ann)))
		})
	}
	if n := ts.rows(); n != 2 {
		t.Errorf("%d rows after refused calls, want bob's 2", n)
	}

	// task.ErrUnavailable: the store failing under both (its table gone).
	t.Run("task.ErrUnavailable", func(t *testing.T) {
		if _, err := ts.db.Exec(t.Context(), `ALTER TABLE tasks RENAME TO tasks_gone`); err != nil {
			t.Fatal(err)
		}
		r := ts.call(ann, "GET", "/api/tasks", "")
		err := errOf(client.ListTasks(as(t, ann), &tasksv1.ListTasksRequest{}))
		check(t, outcome{503, codes.Unavailable, "Service temporarily unavailable", nil}, r, err)
		if r.header.Get("Retry-After") == "" {
			t.Error("REST 503 without Retry-After")
		}
	})
}
