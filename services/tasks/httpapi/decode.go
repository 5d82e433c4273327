package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

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
		loc := "body"
		switch f.Field {
		case "completed", "sort", "order", "limit", "offset", "search":
			loc = "query"
		}
		out[i] = issue{Loc: []string{loc, f.Field}, Msg: f.Message, Type: "value_error"}
	}
	return out
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

func decodeNewTask(c *gin.Context) (task.NewTask, error) {
	obj, err := readObject(c)
	if err != nil {
		return task.NewTask{}, err
	}
	f := fields{obj: obj}
	var in task.NewTask
	// user_id, id, completed and timestamps in the body are ignored: the
	// owner is the caller and the rest is the server's to set.
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
	return in, f.err()
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

// taskJSON is the task as the REST API's clients know it (the FastAPI backend's JSON).
type taskJSON struct {
	ID          int64    `json:"id"`
	UserID      string   `json:"user_id"`
	Title       string   `json:"title"`
	Description *string  `json:"description"`
	Completed   bool     `json:"completed"`
	Priority    string   `json:"priority"`
	DueDate     *string  `json:"due_date"`
	Tags        []string `json:"tags"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

func render(t task.Task) taskJSON {
	var due *string
	if t.DueDate != nil {
		s := t.DueDate.UTC().Format(time.RFC3339Nano)
		due = &s
	}
	tags := t.Tags
	if tags == nil {
		tags = []string{}
	}
	return taskJSON{
		ID: t.ID, UserID: t.UserID, Title: t.Title, Description: t.Description, Completed: t.Completed,
		Priority: string(t.Priority), DueDate: due, Tags: tags,
		CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: t.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}
