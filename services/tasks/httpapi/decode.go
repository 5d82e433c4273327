package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/latchid/latch/services/tasks/caller"
	"github.com/latchid/latch/services/tasks/task"
)

// requestError is a request the transport itself refuses (bad JSON, a
// non-integer id, a query of the wrong type), in FastAPI's words.
type requestError struct {
	status int
	detail any
}

func (e *requestError) Error() string { return http.StatusText(e.status) }

// issue is one entry of FastAPI's 422 detail list.
type issue struct {
	Loc  []string `json:"loc"`
	Msg  string   `json:"msg"`
	Type string   `json:"type"`
}

func unprocessable(issues ...issue) error {
	return &requestError{status: http.StatusUnprocessableEntity, detail: issues}
}

func validationDetail(v *task.ValidationError) []issue {
	out := make([]issue, len(v.Fields))
	for i, f := range v.Fields {
		loc, name := "body", f.Field
		switch f.Field {
		case "completed", "sort", "order", "limit", "offset", "search":
			loc = "query"
		case "tag": // the list's tag filter, ?tags=
			loc, name = "query", "tags"
		}
		out[i] = issue{Loc: []string{loc, name}, Msg: f.Message, Type: "value_error"}
	}
	return out
}

// checkQuery refuses a query string that does not parse: Go's parser drops
// a pair with ";" or a broken %-escape, and ?sort=title;drop would otherwise
// be answered with the default sort, the client's mistake silently ignored.
func (h *handler) checkQuery(c *gin.Context) {
	if _, err := url.ParseQuery(c.Request.URL.RawQuery); err != nil {
		h.fail(c, unprocessable(issue{Loc: []string{"query"}, Msg: "The query string does not parse: use & between pairs and valid %-escapes", Type: "query_parsing"}))
	}
}

func taskID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, unprocessable(issue{Loc: []string{"path", "task_id"}, Msg: "Input should be a valid integer", Type: "int_parsing"})
	}
	return id, nil
}

// readObject decodes a JSON object body, keeping each member raw so that
// "absent", "null" and "wrong type" stay distinguishable.
func readObject(c *gin.Context) (map[string]json.RawMessage, error) {
	raw, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, detail: "Request body too large"}
		}
		return nil, unprocessable(issue{Loc: []string{"body"}, Msg: "Could not read the body", Type: "body_read"})
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&obj); err != nil || dec.More() {
		return nil, unprocessable(issue{Loc: []string{"body"}, Msg: "Body must be a JSON object", Type: "json_invalid"})
	}
	if obj == nil {
		return nil, unprocessable(issue{Loc: []string{"body"}, Msg: "Body must be a JSON object", Type: "json_invalid"})
	}
	return obj, nil
}

// fields collects type errors across one body.
type fields struct {
	obj    map[string]json.RawMessage
	issues []issue
}

func (f *fields) bad(name, msg, typ string) {
	f.issues = append(f.issues, issue{Loc: []string{"body", name}, Msg: msg, Type: typ})
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// str reads a string member: present reports the key was there, null that it was null.
func (f *fields) str(name string) (value *string, present bool) {
	raw, ok := f.obj[name]
	if !ok {
		return nil, false
	}
	if isNull(raw) {
		return nil, true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.bad(name, "Input should be a valid string", "string_type")
		return nil, false
	}
	return &s, true
}

func (f *fields) boolean(name string) (*bool, bool) {
	raw, ok := f.obj[name]
	if !ok {
		return nil, false
	}
	var b bool
	if isNull(raw) || json.Unmarshal(raw, &b) != nil {
		f.bad(name, "Input should be a valid boolean", "bool_type")
		return nil, false
	}
	return &b, true
}

func (f *fields) date(name string) (*time.Time, bool) {
	s, present := f.str(name)
	if s == nil {
		return nil, present
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		f.bad(name, "Input should be a valid datetime in RFC 3339 format", "datetime_parsing")
		return nil, false
	}
	return &t, true
}

func (f *fields) tags(name string) (*[]string, bool) {
	raw, ok := f.obj[name]
	if !ok {
		return nil, false
	}
	var tags []string
	if isNull(raw) {
		return &[]string{}, true
	}
	if err := json.Unmarshal(raw, &tags); err != nil {
		f.bad(name, "Input should be a list of strings", "list_type")
		return nil, false
	}
	return &tags, true
}

func (f *fields) err() error {
	if len(f.issues) == 0 {
		return nil
	}
	return unprocessable(f.issues...)
}

// decodeNewTask reads a create's body and its organization_id member (nil
// when absent or null: the query and the token decide).
func decodeNewTask(c *gin.Context) (task.NewTask, *string, error) {
	obj, err := readObject(c)
	if err != nil {
		return task.NewTask{}, nil, err
	}
	f := fields{obj: obj}
	var in task.NewTask
	// user_id, id, completed and timestamps in the body are ignored: the
	// owner is the caller and the rest is the server's to set. An
	// organization_id is only a request, checked against the token (caller).
	org, _ := f.str("organization_id")
	_, given := obj["title"]
	switch title, present := f.str("title"); {
	case title != nil:
		in.Title = *title
	case present: // null
		f.bad("title", "Input should be a valid string", "string_type")
	case !given:
		f.bad("title", "Field required", "missing")
	}
	in.Description, _ = f.str("description")
	if p, present := f.str("priority"); p != nil {
		in.Priority = task.Priority(*p)
	} else if present {
		f.bad("priority", "Input should be 'low', 'medium' or 'high'", "enum")
	}
	in.DueDate, _ = f.date("due_date")
	if tags, _ := f.tags("tags"); tags != nil {
		in.Tags = *tags
	}
	return in, org, f.err()
}

// namedIn is what a request names about whom it acts for: ?user_id=,
// ?organization_id= (or a create body's organization_id, which must then
// agree with the query's) and ?scope=personal|organization (default
// personal; naming an organization implies organization).
func namedIn(c *gin.Context, bodyOrg *string) (caller.Named, error) {
	n := caller.Named{UserID: c.Query("user_id"), OrganizationID: c.Query("organization_id")}
	if bodyOrg != nil && *bodyOrg != "" {
		if n.OrganizationID != "" && n.OrganizationID != *bodyOrg {
			return n, unprocessable(issue{Loc: []string{"body", "organization_id"}, Msg: "differs from the query's organization_id", Type: "value_error"})
		}
		n.OrganizationID = *bodyOrg
	}
	switch scope, given := c.GetQuery("scope"); {
	case !given:
	case scope == "organization":
		n.Organization = true
	case scope == "personal" && n.OrganizationID == "":
	case scope == "personal":
		return n, unprocessable(issue{Loc: []string{"query", "scope"}, Msg: "personal scope names no organization", Type: "value_error"})
	default:
		return n, unprocessable(issue{Loc: []string{"query", "scope"}, Msg: "Input should be 'personal' or 'organization'", Type: "enum"})
	}
	return n, nil
}

func decodePatch(c *gin.Context) (task.Patch, error) {
	obj, err := readObject(c)
	if err != nil {
		return task.Patch{}, err
	}
	f := fields{obj: obj}
	var p task.Patch
	if title, present := f.str("title"); title != nil {
		p.Title = title
	} else if present {
		f.bad("title", "Input should be a valid string", "string_type")
	}
	if d, present := f.str("description"); present {
		p.Description, p.ClearDescription = d, d == nil
	}
	if pr, present := f.str("priority"); pr != nil {
		v := task.Priority(*pr)
		p.Priority = &v
	} else if present {
		f.bad("priority", "Input should be 'low', 'medium' or 'high'", "enum")
	}
	if due, present := f.date("due_date"); present {
		p.DueDate, p.ClearDueDate = due, due == nil
	}
	p.Tags, _ = f.tags("tags")
	p.Completed, _ = f.boolean("completed")
	return p, f.err()
}

func decodeQuery(c *gin.Context) (task.Query, error) {
	var issues []issue
	bad := func(name, msg, typ string) {
		issues = append(issues, issue{Loc: []string{"query", name}, Msg: msg, Type: typ})
	}
	q := task.Query{
		Status:   task.Status(c.DefaultQuery("completed", "all")),
		Priority: task.Priority(c.Query("priority")),
		Search:   c.Query("search"),
		Tag:      c.Query("tags"),
		Sort:     task.SortField(c.DefaultQuery("sort", "created_at")),
	}
	// A parameter given with no value (?sort= or a bare ?completed) is a
	// mistake, not a request for the default: FastAPI refuses an empty enum
	// or integer, and so do we. search= and tags= are strings, where empty
	// means no filter.
	for _, name := range []string{"completed", "priority", "sort", "limit", "offset"} {
		if v, given := c.GetQuery(name); given && v == "" {
			bad(name, "Input should not be empty: leave the parameter out for its default", "value_error")
		}
	}
	switch c.DefaultQuery("order", "desc") {
	case "desc":
		q.Descending = true
	case "asc":
	default:
		bad("order", "Input should be 'asc' or 'desc'", "enum")
	}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if v := c.Query(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				bad(name, "Input should be a valid integer", "int_parsing")
				continue
			}
			*dst = n
			if name == "limit" && n == 0 {
				bad(name, "must be between 1 and 200", "value_error")
			}
		}
	}
	if len(issues) > 0 {
		return q, unprocessable(issues...)
	}
	return q, nil
}
