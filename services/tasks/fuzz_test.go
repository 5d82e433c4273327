package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzUser owns every task the fuzz targets make.
const fuzzUser = "fuzz-user"

// dialects are the same tasks service over PostgreSQL and over SQLite, fed
// the same requests: both must answer alike.
type dialects struct {
	token string
	pg    *tasksServer
	lite  *tasksServer
}

func startDialects(f *testing.F) dialects {
	is := newIssuer(f)
	return dialects{
		token: is.token(fuzzUser),
		pg:    startTasks(f, is, nil),
		lite:  startTasks(f, is, map[string]string{"DATABASE_URL": "sqlite:" + filepath.Join(f.TempDir(), "tasks.db")}),
	}
}

// serve runs one request through the service in process.
func (ts *tasksServer) serve(token, method, target, body string) reply {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	ts.handler.ServeHTTP(rec, req)
	return reply{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// checkAnswer fails t on a 5xx, or on a 4xx whose body is not FastAPI's
// {"detail": …}.
func checkAnswer(t *testing.T, what string, r reply) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	if r.status >= 400 {
		var e map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &e); err != nil || len(e["detail"]) == 0 {
			t.Fatalf("%s: %d with body %q, not {\"detail\": …}", what, r.status, r.body)
		}
	}
}

// taskOut is a task as the API renders it.
type taskOut struct {
	ID          int64    `json:"id"`
	UserID      string   `json:"user_id"`
	OrgID       *string  `json:"organization_id"`
	Title       string   `json:"title"`
	Description *string  `json:"description"`
	Completed   bool     `json:"completed"`
	Priority    string   `json:"priority"`
	DueDate     *string  `json:"due_date"`
	Tags        []string `json:"tags"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

// checkTask fails t unless r's body is a valid task of the fuzz user:
// title 1 to 200 characters and not blank, description at most 10000,
// priority one of three, RFC 3339 times, at most 20 distinct, trimmed,
// non-empty tags of at most 50 characters without control characters.
func checkTask(t *testing.T, what string, body []byte) taskOut {
	t.Helper()
	var out taskOut
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%s: body %q is not a task: %v", what, body, err)
	}
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("%s: %s in %s", what, fmt.Sprintf(format, args...), body)
	}
	if out.UserID != fuzzUser || out.ID < 1 || out.OrgID != nil {
		fail("owner %q, organization %v, id %d", out.UserID, out.OrgID, out.ID)
	}
	if n := utf8.RuneCountInString(out.Title); n > 200 || strings.TrimSpace(out.Title) == "" {
		fail("title of %d characters, or blank", n)
	}
	if out.Description != nil && utf8.RuneCountInString(*out.Description) > 10000 {
		fail("a description over 10000 characters")
	}
	if !slices.Contains([]string{"low", "medium", "high"}, out.Priority) {
		fail("priority %q", out.Priority)
	}
	for _, ts := range []*string{out.DueDate, &out.CreatedAt, &out.UpdatedAt} {
		if ts == nil {
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, *ts); err != nil {
			fail("time %q: %v", *ts, err)
		}
	}
	if out.Tags == nil || len(out.Tags) > 20 {
		fail("%d tags", len(out.Tags))
	}
	for i, tag := range out.Tags {
		if tag == "" || tag != strings.TrimSpace(tag) || utf8.RuneCountInString(tag) > 50 || strings.ContainsFunc(tag, unicode.IsControl) || slices.Contains(out.Tags[:i], tag) {
			fail("tag %q", tag)
		}
	}
	return out
}

// bodyIn is a request body read by encoding/json, the reference the
// service's own decoding is compared with.
type bodyIn struct {
	Title       *string   `json:"title"`
	Description *string   `json:"description"`
	Priority    *string   `json:"priority"`
	DueDate     *string   `json:"due_date"`
	Tags        *[]string `json:"tags"`
	Completed   *bool     `json:"completed"`
}

// checkApplied fails t unless every field body set was stored as given
// (completed is not the creator's to set: a new task is pending).
func checkApplied(t *testing.T, what, body string, got taskOut, creating bool) {
	t.Helper()
	var in bodyIn
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatalf("%s: accepted %q, which encoding/json refuses: %v", what, body, err)
	}
	if creating {
		if got.Completed {
			t.Fatalf("%s: a new task is completed", what)
		}
		in.Completed = nil
	}
	switch {
	case in.Title != nil && *in.Title != got.Title:
		t.Fatalf("%s: title %q stored as %q", what, *in.Title, got.Title)
	case in.Description != nil && (got.Description == nil || *in.Description != *got.Description):
		t.Fatalf("%s: description %q stored as %v", what, *in.Description, got.Description)
	case in.Priority != nil && *in.Priority != got.Priority:
		t.Fatalf("%s: priority %q stored as %q", what, *in.Priority, got.Priority)
	case in.Completed != nil && *in.Completed != got.Completed:
		t.Fatalf("%s: completed %v stored as %v", what, *in.Completed, got.Completed)
	}
	if in.DueDate != nil {
		want, err := time.Parse(time.RFC3339Nano, *in.DueDate)
		if err != nil || got.DueDate == nil {
			t.Fatalf("%s: due_date %q stored as %v (%v)", what, *in.DueDate, got.DueDate, err)
		}
		if stored, _ := time.Parse(time.RFC3339Nano, *got.DueDate); !stored.Equal(want) {
			t.Fatalf("%s: due_date %q stored as %q", what, *in.DueDate, *got.DueDate)
		}
	}
	if in.Tags != nil {
		var want []string
		for _, tag := range *in.Tags {
			if tag = strings.TrimSpace(tag); !slices.Contains(want, tag) {
				want = append(want, tag)
			}
		}
		if !slices.Equal(want, got.Tags) && !(len(want) == 0 && len(got.Tags) == 0) {
			t.Fatalf("%s: tags %q stored as %q", what, *in.Tags, got.Tags)
		}
	}
}

// FuzzTaskBodies creates a task from one JSON body and patches it with
// another, on PostgreSQL and on SQLite. Neither request is ever answered
// 5xx; malformed or invalid bodies are a 4xx {"detail": …}; both dialects
// answer with the same status; an accepted body is stored as a valid task
// holding exactly the values it gave (as encoding/json reads them), and
// reading the task back returns what the write answered.
func FuzzTaskBodies(f *testing.F) {
	d := startDialects(f)
	for _, s := range [][2]string{
		{`{"title":"Buy milk","description":"2 litres","priority":"high","due_date":"2026-12-31T23:59:59.999999Z","tags":["home"," errands ","home"]}`, `{"completed":true,"tags":null}`},
		{`{"title":"x"}`, `{"title":"renamed","description":null,"due_date":null}`},
		{`{"title":"  "}`, `{"title":null}`},
		{`{"title":"t","priority":"urgent"}`, `{"priority":null}`},
		{`{"title":"t","due_date":"2026-02-30T00:00:00Z"}`, `{"due_date":"tomorrow"}`},
		{`{"title":"t","due_date":"0001-01-01T00:00:00+14:00"}`, `{"due_date":"9999-12-31T23:59:59.123456789-12:00"}`},
		{`{"title":"t","tags":["a\u0007"]}`, `{"tags":[""]}`},
		{`{"title":"t","tags":"not a list"}`, `{"completed":"yes"}`},
		{`{"title":"\u00e9\ud83d\ude00 caf\u00e9"}`, `{"title":"` + strings.Repeat("é", 201) + `"}`},
		{`{"title":1}`, `[]`},
		{`{"title":"a"}{"title":"b"}`, `{"title":"a"} x`},
		{`null`, `{}`},
		{`{"title":"t","user_id":"someone-else","id":5,"completed":true}`, `{"user_id":"someone-else"}`},
		{`{"title":"dup","title":"keys"}`, `{"description":"` + strings.Repeat("d", 10001) + `"}`},
		// NUL and invalid UTF-8 once answered 503 on PostgreSQL (issue 13, finding 3).
		{`{"title":"a\u0000b"}`, `{}`}, {`{"title":"t"}`, `{"description":"\u0000"}`}, {"{\"title\":\"\xff\"}", `{"tags":["\u0000"]}`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, create, patch string) {
		var ids [2]int64
		var status [2]int
		for i, ts := range []*tasksServer{d.pg, d.lite} {
			r := ts.serve(d.token, http.MethodPost, "/api/tasks", create)
			checkAnswer(t, "POST "+create, r)
			status[i] = r.status
			if r.status != http.StatusCreated {
				continue
			}
			made := checkTask(t, "POST "+create, r.body)
			checkApplied(t, "POST "+create, create, made, true)
			ids[i] = made.ID
			path := "/api/tasks/" + strconv.FormatInt(made.ID, 10)
			if back := ts.serve(d.token, http.MethodGet, path, ""); back.status != http.StatusOK || !bytes.Equal(back.body, r.body) {
				t.Fatalf("POST %s answered %s, reading it back gives %d %s", create, r.body, back.status, back.body)
			}
		}
		if status[0] != status[1] {
			t.Fatalf("POST %q: PostgreSQL answers %d, SQLite %d", create, status[0], status[1])
		}
		if ids[0] == 0 {
			return
		}
		for i, ts := range []*tasksServer{d.pg, d.lite} {
			path := "/api/tasks/" + strconv.FormatInt(ids[i], 10)
			r := ts.serve(d.token, http.MethodPatch, path, patch)
			checkAnswer(t, "PATCH "+patch, r)
			status[i] = r.status
			if r.status != http.StatusOK {
				continue
			}
			checkApplied(t, "PATCH "+patch, patch, checkTask(t, "PATCH "+patch, r.body), false)
			if back := ts.serve(d.token, http.MethodGet, path, ""); back.status != http.StatusOK || !bytes.Equal(back.body, r.body) {
				t.Fatalf("PATCH %s answered %s, reading it back gives %d %s", patch, r.body, back.status, back.body)
			}
			ts.serve(d.token, http.MethodDelete, path, "")
		}
		if status[0] != status[1] {
			t.Fatalf("PATCH %q: PostgreSQL answers %d, SQLite %d", patch, status[0], status[1])
		}
	})
}

// rawGet sends "GET /api/tasks?<rawQuery>" byte for byte over TCP, as any
// client may, and reads the answer.
func rawGet(t *testing.T, ts *tasksServer, token, rawQuery string) reply {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(ts.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "GET /api/tasks?%s HTTP/1.1\r\nHost: tasks\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", rawQuery, token)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET ?%q: %v", rawQuery, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

// FuzzTaskQuery lists tasks with any query string, on both dialects. It is
// never answered 5xx; both dialects answer with the same status and count;
// a 200 means the query string parsed and every parameter the API reads held
// a valid value, and the page honours them (status, priority and tag
// filters, limit).
func FuzzTaskQuery(f *testing.F) {
	d := startDialects(f)
	for _, ts := range []*tasksServer{d.pg, d.lite} {
		for _, body := range []string{
			`{"title":"Buy milk","priority":"high","tags":["home"]}`,
			`{"title":"Éclair for ÅSA","description":"Crème brûlée","priority":"low","tags":["food","ünï"]}`,
			`{"title":"100% done_ok","due_date":"2026-01-02T03:04:05Z","tags":["work"]}`,
		} {
			if r := ts.serve(d.token, http.MethodPost, "/api/tasks", body); r.status != http.StatusCreated {
				f.Fatalf("seeding %s: %d %s", body, r.status, r.body)
			}
		}
		if r := ts.serve(d.token, http.MethodPatch, "/api/tasks/1/complete", ""); r.status != http.StatusOK {
			f.Fatalf("completing task 1: %d %s", r.status, r.body)
		}
	}
	for _, q := range []string{
		"", "completed=pending", "completed=completed&priority=high", "sort=title&order=asc", "sort=due_date&order=desc&limit=1&offset=1",
		"search=milk", "search=CLAIR", "search=100%25", "search=_", "tags=food", "tags=%C3%BCn%C3%AF",
		"limit=0", "limit=201", "limit=-1", "offset=-1", "limit=1e2", "order=up", "sort=title%3Bdrop",
		"priority=urgent", "completed=yes", "user_id=fuzz-user", "user_id=someone-else", "search=" + strings.Repeat("a", 201),
		"&&&", "=x", "search=+plus+", "x y", "a=1#frag",
		// Once 503 on PostgreSQL (NUL, invalid UTF-8) or a silent 200 (unparsable): issue 13, findings 3 and 6.
		"tags=%800", "search=a%00b", "%0X", "=%X00", ";",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, rawQuery string) {
		var answers [2]reply
		for i, ts := range []*tasksServer{d.pg, d.lite} {
			r := rawGet(t, ts, d.token, rawQuery)
			if r.status == http.StatusBadRequest && strings.HasPrefix(string(r.body), "400 Bad Request") {
				answers[i] = r // net/http refused the request line itself; the API never saw it
				continue
			}
			checkAnswer(t, "GET ?"+rawQuery, r)
			answers[i] = r
		}
		pg, lite := answers[0], answers[1]
		if pg.status != lite.status || pg.header.Get("X-Total-Count") != lite.header.Get("X-Total-Count") {
			t.Fatalf("GET ?%q: PostgreSQL answers %d (%s tasks), SQLite %d (%s tasks)", rawQuery,
				pg.status, pg.header.Get("X-Total-Count"), lite.status, lite.header.Get("X-Total-Count"))
		}
		if pg.status != http.StatusOK {
			return
		}
		values, err := url.ParseQuery(rawQuery)
		if err != nil {
			t.Fatalf("GET ?%q answered 200, but the query string does not parse: %v", rawQuery, err)
		}
		get := func(name, def string) string {
			if v, ok := values[name]; ok {
				return v[0]
			}
			return def
		}
		limit, errLimit := strconv.Atoi(get("limit", "50"))
		offset, errOffset := strconv.Atoi(get("offset", "0"))
		switch {
		case !slices.Contains([]string{"all", "pending", "completed"}, get("completed", "all")),
			!slices.Contains([]string{"", "low", "medium", "high"}, get("priority", "")),
			!slices.Contains([]string{"created_at", "due_date", "priority", "title"}, get("sort", "created_at")),
			!slices.Contains([]string{"asc", "desc"}, get("order", "desc")),
			errLimit != nil || limit < 1 || limit > 200, errOffset != nil || offset < 0,
			utf8.RuneCountInString(get("search", "")) > 200,
			get("user_id", "") != "" && get("user_id", "") != fuzzUser:
			t.Fatalf("GET ?%q answered 200 with an invalid parameter", rawQuery)
		}
		for i, ans := range answers {
			var page []json.RawMessage
			if err := json.Unmarshal(ans.body, &page); err != nil {
				t.Fatalf("GET ?%q: body %q is not a list: %v", rawQuery, ans.body, err)
			}
			total, err := strconv.Atoi(ans.header.Get("X-Total-Count"))
			if err != nil || len(page) > limit || len(page) > total {
				t.Fatalf("GET ?%q: %d tasks, total %q, limit %d", rawQuery, len(page), ans.header.Get("X-Total-Count"), limit)
			}
			for _, raw := range page {
				task := checkTask(t, fmt.Sprintf("GET ?%q (dialect %d)", rawQuery, i), raw)
				switch {
				case get("completed", "all") == "pending" && task.Completed,
					get("completed", "all") == "completed" && !task.Completed,
					get("priority", "") != "" && task.Priority != get("priority", ""),
					get("tags", "") != "" && !slices.Contains(task.Tags, get("tags", "")):
					t.Fatalf("GET ?%q listed a task the filters exclude: %s", rawQuery, raw)
				}
			}
		}
	})
}
