package main

import (
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"

	tasksv1 "github.com/latchid/latch/proto/latch/tasks/v1"
)

// TestBadBytesAreBadInputNotAnOutage is issue 13's attack: a NUL or invalid
// UTF-8 in a title, a search or a tag filter made PostgreSQL refuse the
// statement, which the store reported as an outage (503, gRPC UNAVAILABLE,
// which clients retry, and an ERROR "store unavailable" line). It is the
// caller's mistake: 422 / INVALID_ARGUMENT, nothing written, no outage logged.
func TestBadBytesAreBadInputNotAnOutage(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, map[string]string{"LOG_LEVEL": "info"})
	ann := is.token("ann")
	created := ts.create(ann, `{"title":"kept"}`)
	id := int(created["id"].(float64))

	rest := []struct{ name, method, path, body string }{
		{"NUL in a new title", "POST", "/api/tasks", `{"title":"a\u0000b"}`},
		{"NUL in a new description", "POST", "/api/tasks", `{"title":"ok","description":"x\u0000"}`},
		{"NUL in a tag", "POST", "/api/tasks", `{"title":"ok","tags":["a\u0000"]}`},
		{"NUL in a changed title", "PATCH", "/api/tasks/" + strconv.Itoa(id), `{"title":"\u0000"}`},
		{"NUL in a changed description", "PATCH", "/api/tasks/" + strconv.Itoa(id), `{"description":"\u0000"}`},
		{"NUL in search", "GET", "/api/tasks?search=%00", ""},
		{"invalid UTF-8 in search", "GET", "/api/tasks?search=%FF", ""},
		{"NUL in the tag filter", "GET", "/api/tasks?tags=a%00", ""},
		{"invalid UTF-8 in the tag filter", "GET", "/api/tasks?tags=%C3%28", ""},
	}
	for _, tc := range rest {
		r := ts.call(ann, tc.method, tc.path, tc.body)
		if r.status != 422 || !strings.Contains(string(r.body), `"detail":[`) {
			t.Errorf("%s: %d %s, want 422 with a FastAPI detail list", tc.name, r.status, r.body)
		}
	}
	if n := ts.rows(); n != 1 {
		t.Errorf("rows = %d after refused requests, want 1", n)
	}
	if r := ts.call(ann, "GET", "/api/tasks/"+strconv.Itoa(id), ""); r.object(t)["title"] != "kept" || r.object(t)["description"] != nil {
		t.Errorf("the task changed: %s", r.body)
	}

	client, _ := ts.grpcClient()
	wantCode(t, "gRPC NUL in a title", errOf(client.CreateTask(as(t, ann), &tasksv1.CreateTaskRequest{Title: "a\x00b"})), codes.InvalidArgument)
	wantCode(t, "gRPC NUL in search", errOf(client.ListTasks(as(t, ann), &tasksv1.ListTasksRequest{Search: "\x00"})), codes.InvalidArgument)
	wantCode(t, "gRPC NUL in the tag filter", errOf(client.ListTasks(as(t, ann), &tasksv1.ListTasksRequest{Tag: "\x00"})), codes.InvalidArgument)
	if strings.Contains(ts.log.String(), "store unavailable") {
		t.Errorf("bad input was logged as an outage:\n%s", ts.log.String())
	}
}

// TestMalformedQueryStringsAreRefused is issue 13's finding 6: the pair with
// ";" was dropped by Go's query parser, and ?sort=title;drop answered 200
// with the default sort. A query string that does not parse is the client's
// mistake, answered 422 rather than silently ignored.
func TestMalformedQueryStringsAreRefused(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	ann := is.token("ann")
	created := ts.create(ann, `{"title":"one"}`)
	id := strconv.Itoa(int(created["id"].(float64)))
	for _, path := range []string{
		"/api/tasks?sort=title;drop",
		"/api/tasks?sort=title&order=asc;limit=1",
		"/api/tasks?search=%zz",
		"/api/tasks?search=100%",
		"/api/tasks/" + id + "?x=%",
	} {
		r := ts.call(ann, "GET", path, "")
		if r.status != 422 || !strings.Contains(string(r.body), `"loc":["query"]`) {
			t.Errorf("GET %s: %d %s, want 422 on the query", path, r.status, r.body)
		}
	}
	if r := ts.call(ann, "PATCH", "/api/tasks/"+id+"?a;b", `{"title":"changed"}`); r.status != 422 {
		t.Errorf("PATCH with a malformed query: %d %s, want 422", r.status, r.body)
	}
	if r := ts.call(ann, "GET", "/api/tasks/"+id, ""); r.object(t)["title"] != "one" {
		t.Errorf("a refused request changed the task: %s", r.body)
	}
	if r := ts.call(ann, "GET", "/api/tasks?sort=title&search=%25", ""); r.status != 200 {
		t.Errorf("a well-formed query: %d %s", r.status, r.body)
	}
}

// A parameter given without a value is a mistake, never a silent default
// (found by FuzzTaskQuery: ?order= was refused while ?sort= meant created_at).
// Empty strings stay valid for the string filters.
func TestEmptyQueryValuesAreRefused(t *testing.T) {
	t.Parallel()
	is := newIssuer(t)
	ts := startTasks(t, is, nil)
	ann := is.token("ann")
	for _, name := range []string{"completed", "priority", "sort", "order", "limit", "offset"} {
		for _, q := range []string{name + "=", name} {
			r := ts.call(ann, "GET", "/api/tasks?"+q, "")
			if r.status != 422 || !strings.Contains(string(r.body), `"loc":["query","`+name+`"]`) {
				t.Errorf("GET /api/tasks?%s: %d %s, want 422 on query.%s", q, r.status, r.body, name)
			}
		}
	}
	if r := ts.call(ann, "GET", "/api/tasks?search=&tags=", ""); r.status != 200 {
		t.Errorf("empty string filters: %d %s, want 200 (no filter)", r.status, r.body)
	}
}
