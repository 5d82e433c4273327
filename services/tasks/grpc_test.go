package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/latchid/latch/pkg/testdb"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

// grpcClient dials the test server's gRPC port.
func (ts *tasksServer) grpcClient() (tasksv1.TasksServiceClient, *grpc.ClientConn) {
	ts.t.Helper()
	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.t.Cleanup(func() { conn.Close() })
	return tasksv1.NewTasksServiceClient(conn), conn
}

// as returns a bounded context whose calls carry token ("" for none).
func as(t *testing.T, token string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	if token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

func wantCode(t *testing.T, what string, err error, code codes.Code) {
	t.Helper()
	if got := status.Code(err); got != code {
		t.Fatalf("%s: code %v (%v), want %v", what, got, err, code)
	}
}

func TestGRPCKeepsTheRESTRules(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	ann, bob := is.token("ann"), is.token("bob")

	due := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	created, err := client.CreateTask(as(t, ann), &tasksv1.CreateTaskRequest{
		Title: "write the gRPC API", Priority: tasksv1.Priority_PRIORITY_HIGH, DueDate: timestamppb.New(due), Tags: []string{"go", "go", "grpc"},
	})
	if err != nil {
		t.Fatal(err)
	}
	task := created.GetTask()
	if task.GetUserId() != "ann" || task.GetPriority() != tasksv1.Priority_PRIORITY_HIGH || !task.GetDueDate().AsTime().Equal(due) ||
		fmt.Sprint(task.GetTags()) != "[go grpc]" || task.Description != nil {
		t.Fatalf("created %v", task)
	}
	// The REST API sees the same task: one domain service under both.
	if r := ts.call(ann, "GET", fmt.Sprintf("/api/tasks/%d", task.GetId()), ""); r.status != 200 || r.object(t)["title"] != "write the gRPC API" {
		t.Fatalf("REST GET of a task made over gRPC: %d %s", r.status, r.body)
	}
	rest := ts.create(bob, `{"title":"bob's, over REST","priority":"low"}`)
	bobsID := int64(rest["id"].(float64))

	t.Run("the owner reads it", func(t *testing.T) {
		got, err := client.GetTask(as(t, ann), &tasksv1.GetTaskRequest{Id: task.GetId()})
		if err != nil || got.GetTask().GetTitle() != "write the gRPC API" {
			t.Fatalf("GetTask = %v, %v", got, err)
		}
	})
	// The domain errors' codes are TestRESTAndGRPCAnswerEveryDomainErrorAlike's.
	t.Run("transport refusals", func(t *testing.T) {
		wantCode(t, "another user's task", errOf(client.GetTask(as(t, ann), &tasksv1.GetTaskRequest{Id: bobsID})), codes.PermissionDenied)
		wantCode(t, "no token", errOf(client.GetTask(as(t, ""), &tasksv1.GetTaskRequest{Id: task.GetId()})), codes.Unauthenticated)
		wantCode(t, "a bad id", errOf(client.GetTask(as(t, ann), &tasksv1.GetTaskRequest{Id: 0})), codes.InvalidArgument)
		if n := ts.rows(); n != 2 {
			t.Errorf("rows = %d after refused calls, want 2", n)
		}
	})
	t.Run("invalid input lists its fields", func(t *testing.T) {
		_, err := client.CreateTask(as(t, ann), &tasksv1.CreateTaskRequest{Title: "  ", Priority: tasksv1.Priority(9)})
		wantCode(t, "invalid create", err, codes.InvalidArgument)
		var fields []string
		for _, d := range status.Convert(err).Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if fmt.Sprint(fields) != "[priority]" {
			t.Errorf("violations %v, want [priority] (decoding stops the call first)", fields)
		}
	})
	t.Run("update, toggle and delete", func(t *testing.T) {
		desc := "now with a description"
		up, err := client.UpdateTask(as(t, ann), &tasksv1.UpdateTaskRequest{
			Task:       &tasksv1.Task{Id: task.GetId(), Title: "renamed", Description: &desc, Tags: nil},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"title", "description", "due_date", "tags"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if u := up.GetTask(); u.GetTitle() != "renamed" || u.GetDescription() != desc || u.GetDueDate() != nil || len(u.GetTags()) != 0 || u.GetPriority() != tasksv1.Priority_PRIORITY_HIGH {
			t.Fatalf("updated %v", u)
		}
		_, err = client.UpdateTask(as(t, ann), &tasksv1.UpdateTaskRequest{Task: &tasksv1.Task{Id: task.GetId()}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"user_id"}}})
		wantCode(t, "a mask naming the owner", err, codes.InvalidArgument)
		tg, err := client.ToggleTask(as(t, ann), &tasksv1.ToggleTaskRequest{Id: task.GetId()})
		if err != nil || !tg.GetTask().GetCompleted() {
			t.Fatalf("toggle = %v, %v", tg, err)
		}
		if _, err := client.DeleteTask(as(t, ann), &tasksv1.DeleteTaskRequest{Id: task.GetId()}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, "a deleted task", errOf(client.GetTask(as(t, ann), &tasksv1.GetTaskRequest{Id: task.GetId()})), codes.NotFound)
	})
}

func TestGRPCListFilters(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	ann := is.token("ann")
	for _, body := range []string{
		`{"title":"alpha","priority":"low","tags":["home"]}`,
		`{"title":"bravo","priority":"high","tags":["work"]}`,
		`{"title":"charlie","priority":"high","description":"the search finds me","tags":["work"]}`,
	} {
		ts.create(ann, body)
	}
	ts.create(is.token("bob"), `{"title":"bob's alpha","priority":"high"}`)
	titles := func(req *tasksv1.ListTasksRequest) string {
		t.Helper()
		resp, err := client.ListTasks(as(t, ann), req)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, task := range resp.GetTasks() {
			out = append(out, task.GetTitle())
		}
		return fmt.Sprintf("%d %v", resp.GetTotalCount(), out)
	}
	tests := []struct {
		name string
		req  *tasksv1.ListTasksRequest
		want string
	}{
		{"everything of the caller, newest first", &tasksv1.ListTasksRequest{}, "3 [charlie bravo alpha]"},
		{"by priority", &tasksv1.ListTasksRequest{Priority: tasksv1.Priority_PRIORITY_HIGH, Sort: tasksv1.TaskSort_TASK_SORT_TITLE, Order: tasksv1.SortOrder_SORT_ORDER_ASC}, "2 [bravo charlie]"},
		{"by tag", &tasksv1.ListTasksRequest{Tag: "home"}, "1 [alpha]"},
		{"by search", &tasksv1.ListTasksRequest{Search: "SEARCH"}, "1 [charlie]"},
		{"a page", &tasksv1.ListTasksRequest{Sort: tasksv1.TaskSort_TASK_SORT_TITLE, Order: tasksv1.SortOrder_SORT_ORDER_ASC, Limit: 1, Offset: 1}, "3 [bravo]"},
		{"pending only", &tasksv1.ListTasksRequest{Completed: tasksv1.CompletionFilter_COMPLETION_FILTER_COMPLETED}, "0 []"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := titles(tc.req); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	_, err := client.ListTasks(as(t, ann), &tasksv1.ListTasksRequest{Limit: 500, Sort: tasksv1.TaskSort(42)})
	wantCode(t, "bad filters", err, codes.InvalidArgument)
}

// TestScopesDecideWhatAServiceMayDo runs the access model (package caller)
// through both transports with the same tokens.
func TestScopesDecideWhatAServiceMayDo(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	client, _ := ts.grpcClient()
	ann := is.token("ann")
	annsTask := int64(ts.create(ann, `{"title":"ann's"}`)["id"].(float64))
	bobsTask := int64(ts.create(is.token("bob"), `{"title":"bob's"}`)["id"].(float64))
	reader := is.serviceToken("reports", "tasks:read")
	writer := is.serviceToken("importer", "tasks:write")
	both := is.serviceToken("sync", "tasks:read tasks:write")
	none := is.serviceToken("nobody", "")

	tests := []struct {
		name   string
		token  string
		user   string
		write  bool  // create a task; else read ann's task
		id     int64 // for reads
		code   codes.Code
		status int
	}{
		{"a reader reads the named user's task", reader, "ann", false, annsTask, codes.OK, 200},
		{"a reader acting for ann meets ownership on bob's task", reader, "ann", false, bobsTask, codes.PermissionDenied, 403},
		{"a reader may not write", reader, "ann", true, 0, codes.PermissionDenied, 403},
		{"a writer writes for the named user", writer, "ann", true, 0, codes.OK, 201},
		{"a writer may not read", writer, "ann", false, annsTask, codes.PermissionDenied, 403},
		{"a token with both scopes reads", both, "ann", false, annsTask, codes.OK, 200},
		{"a service without scope may not read", none, "ann", false, annsTask, codes.PermissionDenied, 403},
		{"a service without scope may not write", none, "ann", true, 0, codes.PermissionDenied, 403},
		{"a service must name the user", reader, "", false, annsTask, codes.InvalidArgument, 422},
		{"a user may name themselves", ann, "ann", false, annsTask, codes.OK, 200},
		{"a user may not name another user", ann, "bob", false, bobsTask, codes.PermissionDenied, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			query := ""
			if tc.user != "" {
				query = "?user_id=" + tc.user
			}
			var err error
			var r reply
			if tc.write {
				var resp *tasksv1.CreateTaskResponse
				resp, err = client.CreateTask(as(t, tc.token), &tasksv1.CreateTaskRequest{UserId: tc.user, Title: "by a service"})
				if err == nil && resp.GetTask().GetUserId() != tc.user {
					t.Errorf("gRPC: created for %q, want %q", resp.GetTask().GetUserId(), tc.user)
				}
				r = ts.call(tc.token, "POST", "/api/tasks"+query, `{"title":"by a service","user_id":"mallory"}`)
				if r.status == 201 && r.object(t)["user_id"] != tc.user {
					t.Errorf("REST: created for %v, want %q", r.object(t)["user_id"], tc.user)
				}
			} else {
				_, err = client.GetTask(as(t, tc.token), &tasksv1.GetTaskRequest{UserId: tc.user, Id: tc.id})
				r = ts.call(tc.token, "GET", fmt.Sprintf("/api/tasks/%d%s", tc.id, query), "")
			}
			wantCode(t, "gRPC", err, tc.code)
			if r.status != tc.status {
				t.Errorf("REST: %d %s, want %d", r.status, r.body, tc.status)
			}
		})
	}
	// Listing as a reader shows only the named user's tasks.
	resp, err := client.ListTasks(as(t, reader), &tasksv1.ListTasksRequest{UserId: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range resp.GetTasks() {
		if task.GetUserId() != "bob" {
			t.Errorf("listing for bob returned %v", task)
		}
	}
}

func TestHealthAndReflectionNeedNoToken(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	_, conn := ts.grpcClient()
	ctx := as(t, "")
	for _, service := range []string{"", "latch.tasks.v1.TasksService"} {
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("health of %q = %v, %v", service, resp, err)
		}
	}
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range resp.GetListServicesResponse().GetService() {
		found = found || s.GetName() == "latch.tasks.v1.TasksService"
	}
	if !found {
		t.Errorf("reflection lists %v", resp.GetListServicesResponse().GetService())
	}
}

func errOf[T any](_ T, err error) error { return err }

// TestGRPCShutdownDrainsThenStops: on shutdown health turns NOT_SERVING,
// calls in flight may finish, and a stream that never ends is cut after the
// drain period, so shutdown stays bounded.
func TestGRPCShutdownDrainsThenStops(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"DATABASE_URL": testdb.New(t), "JWKS_URL": is.jwks.URL, "BETTER_AUTH_URL": is.iss, "LATCH_DATA_DIR": t.TempDir()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, shutdown := context.WithCancel(context.Background())
	done := make(chan error, 1)
	const drain = 500 * time.Millisecond
	go func() { done <- a.grpc.Run(ctx, ln, drain) }()

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	watchCtx, cancelWatch := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelWatch()
	watch, err := healthpb.NewHealthClient(conn).Watch(watchCtx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("before shutdown: %v, %v", st, err)
	}
	start := time.Now()
	shutdown()
	if st, err := watch.Recv(); err != nil || st.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("during shutdown: %v, %v", st, err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		t.Logf("shutdown took %v", time.Since(start))
		if took := time.Since(start); took < drain || took > drain+5*time.Second {
			t.Errorf("shutdown took %v with a stream open, want about the drain period %v", took, drain)
		}
	case <-time.After(drain + 10*time.Second):
		t.Fatal("Run did not return after the drain period")
	}
	if _, err := watch.Recv(); err == nil {
		t.Error("the open stream survived the shutdown")
	}
}
