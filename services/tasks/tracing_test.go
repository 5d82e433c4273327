package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/latchid/latch/pkg/requestid"
	"github.com/latchid/latch/pkg/tracing"
	"github.com/latchid/latch/pkg/tracing/tracingtest"
	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
	"github.com/latchid/latch/services/tasks/rpclog"
)

const (
	callerTrace = "0af7651916cd43dd8448eb211c80319c"
	callerSpan  = "b7ad6b7169203331"
)

// TestTracingContinuesCallersTraces runs the tasks service with
// OTEL_EXPORTER_OTLP_ENDPOINT naming a real OTLP/HTTP receiver: a REST
// request and a gRPC call, each carrying a traceparent, become server spans
// of the caller's trace, named by route and method, from service "tasks";
// probes make none.
func TestTracingContinuesCallersTraces(t *testing.T) {
	t.Parallel()
	rec := tracingtest.New(t)
	is := newIssuer(t)
	ts := startTasks(t, is, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rec.Endpoint()})
	token := is.token("traced-user")
	id := fmt.Sprint(ts.create(token, `{"title":"traced"}`)["id"])

	req, _ := http.NewRequest("GET", ts.base+"/api/tasks/"+id, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	if code, _ := get(t, ts.base+"/readyz"); code != 200 {
		t.Fatalf("readyz: %d", code)
	}

	client, _ := ts.grpcClient()
	grpcTrace := strings.Replace(callerTrace, "0af7", "1bf8", 1)
	ctx := metadata.AppendToOutgoingContext(as(t, token), "traceparent", "00-"+grpcTrace+"-"+callerSpan+"-01")
	var taskID int64
	fmt.Sscan(id, &taskID)
	if _, err := client.GetTask(ctx, &tasksv1.GetTaskRequest{Id: taskID}); err != nil {
		t.Fatal(err)
	}

	// As when the service stops: the servers drain first (a gRPC server span
	// ends after its response has gone, so only a drained server has ended
	// it), then Shutdown flushes.
	ts.stopGRPC()
	flushCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.app.tracing.Shutdown(flushCtx); err != nil {
		t.Fatal(err)
	}
	var restSpan, grpcSpan *tracingtest.Span
	for _, s := range rec.Spans() {
		if s.Kind != tracepb.Span_SPAN_KIND_SERVER {
			continue
		}
		switch s.TraceID {
		case callerTrace:
			restSpan = &s
		case grpcTrace:
			grpcSpan = &s
		}
		if s.Resource["service.name"] != "tasks" {
			t.Errorf("span %q from service.name %q", s.Name, s.Resource["service.name"])
		}
		if strings.Contains(s.Name, "readyz") || s.Attributes["url.path"] == "/readyz" {
			t.Errorf("a probe made a span: %+v", s)
		}
	}
	if restSpan == nil || restSpan.ParentSpanID != callerSpan || restSpan.Name != "GET /api/tasks/:id" ||
		restSpan.Attributes["http.route"] != "/api/tasks/:id" || restSpan.Attributes["http.response.status_code"] != "200" {
		t.Errorf("REST span %+v in %+v", restSpan, rec.Spans())
	}
	if grpcSpan == nil || grpcSpan.ParentSpanID != callerSpan || grpcSpan.Name != "latch.tasks.v1.TasksService/GetTask" {
		t.Errorf("gRPC span %+v in %+v", grpcSpan, rec.Spans())
	}
}

// TestTracingOffByDefault: without the variables the service builds no
// tracing at all.
func TestTracingOffByDefault(t *testing.T) {
	t.Parallel()
	ts := startTasks(t, newIssuer(t), nil)
	if ts.app.tracing.Enabled() {
		t.Fatal("tracing on without OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	cfg, err := loadConfig(func(string) string { return "" })
	if err != nil || cfg.Tracing != (tracing.Config{ServiceName: "tasks"}) {
		t.Fatalf("default tracing config %+v, %v", cfg.Tracing, err)
	}
}

// TestGRPCRequestIDs: the tasks gRPC server takes the caller's request id
// (forwarded by rpclog's client interceptor), answers with it, and logs
// the call once with it and the user, never the token.
func TestGRPCRequestIDs(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, map[string]string{"LOG_LEVEL": "info"})
	conn, err := grpc.NewClient(ts.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithChainUnaryInterceptor(rpclog.UnaryClientInterceptor()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := tasksv1.NewTasksServiceClient(conn)
	token := is.token("grpc-logged")

	tests := []struct {
		name, id, token string
		wantUser        bool
	}{
		{name: "authenticated", id: "gateway-req-1", token: token, wantUser: true},
		{name: "refused", id: "gateway-req-2", token: "not.a.jwt"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var header metadata.MD
			ctx := requestid.With(as(t, tc.token), tc.id)
			_, err := client.ListTasks(ctx, &tasksv1.ListTasksRequest{}, grpc.Header(&header))
			if (err == nil) != tc.wantUser {
				t.Fatalf("ListTasks: %v", err)
			}
			if got := header.Get(rpclog.MetadataKey); len(got) != 1 || got[0] != tc.id {
				t.Errorf("response x-request-id %q, want %q", got, tc.id)
			}
			var lines []map[string]any
			for _, raw := range strings.Split(ts.log.String(), "\n") {
				var line map[string]any
				if json.Unmarshal([]byte(raw), &line) == nil && line["request_id"] == tc.id {
					lines = append(lines, line)
				}
			}
			if len(lines) != 1 || lines[0]["method"] != "/latch.tasks.v1.TasksService/ListTasks" {
				t.Fatalf("log lines for %s: %v", tc.id, lines)
			}
			if user, _ := lines[0]["user_id"].(string); (user == "grpc-logged") != tc.wantUser {
				t.Errorf("user_id %q", user)
			}
		})
	}
	if strings.Contains(ts.log.String(), token) || strings.Contains(ts.log.String(), "not.a.jwt") {
		t.Errorf("a token reached the log")
	}
}
