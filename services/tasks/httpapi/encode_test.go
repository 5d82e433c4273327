package httpapi

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/latchid/latch/services/tasks/task"
)

// appendTask must write what encoding/json writes for render(t), for every
// string a task can hold (the domain refuses NUL and invalid UTF-8 in most
// fields, but the encoder does not rely on it).
func TestAppendTaskIsEncodingJSON(t *testing.T) {
	t.Parallel()
	strs := []string{"", "plain", `quote " and \ backslash`, "<script>&</script>", "tab\tnl\nret\rbs\bff\f",
		"\x00\x01\x1f\x7f", "é😀 café", "line\u2028para\u2029", "\xff\xfe bad", "caf\xc3", "\xed\xa0\x80 surrogate",
		"x\u0085y", "\uFFFD", "a\x1bb"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		n := rng.IntN(12)
		s := make([]byte, n)
		for i := range s {
			s[i] = byte(rng.IntN(256))
		}
		strs = append(strs, string(s))
	}
	due := time.Date(2030, 1, 9, 9, 0, 0, 123456789, time.FixedZone("x", 3600))
	created := time.Date(2025, 12, 31, 10, 0, 0, 0, time.UTC)
	for i, s := range strs {
		desc := s
		tk := task.Task{ID: int64(i + 1), UserID: s, Title: s, Priority: task.Priority(s), CreatedAt: created, UpdatedAt: created.Add(time.Duration(i) * time.Microsecond)}
		switch i % 3 {
		case 0:
			tk.OrganizationID, tk.Description, tk.DueDate, tk.Tags, tk.Completed = s, &desc, &due, []string{s, "b"}, true
		case 1:
			tk.Tags = []string{}
		}
		want, err := json.Marshal(render(tk))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendTask(nil, tk); !bytes.Equal(got, want) {
			t.Fatalf("string %q:\n got %s\nwant %s", s, got, want)
		}
	}
	page := benchTasks()
	out := make([]taskJSON, len(page))
	for i, tk := range page {
		out[i] = render(tk)
	}
	want, _ := json.Marshal(out)
	if got := appendTasks(nil, page); !bytes.Equal(got, want) {
		t.Fatalf("page:\n got %s\nwant %s", got, want)
	}
	if got := appendTasks(nil, nil); string(got) != "[]" {
		t.Fatalf("empty page %s", got)
	}
}

// taskJSON and render are the reference appendTask is held to: the task as
// the REST API's clients know it (the FastAPI backend's JSON), through
// encoding/json.
type taskJSON struct {
	ID     int64  `json:"id"`
	UserID string `json:"user_id"`
	// OrganizationID is null on a personal task.
	OrganizationID *string  `json:"organization_id"`
	Title          string   `json:"title"`
	Description    *string  `json:"description"`
	Completed      bool     `json:"completed"`
	Priority       string   `json:"priority"`
	DueDate        *string  `json:"due_date"`
	Tags           []string `json:"tags"`
	CreatedAt      string   `json:"created_at"`
	UpdatedAt      string   `json:"updated_at"`
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
	var org *string
	if t.OrganizationID != "" {
		org = &t.OrganizationID
	}
	return taskJSON{
		ID: t.ID, UserID: t.UserID, OrganizationID: org, Title: t.Title, Description: t.Description, Completed: t.Completed,
		Priority: string(t.Priority), DueDate: due, Tags: tags,
		CreatedAt: t.CreatedAt.UTC().Format(time.RFC3339Nano), UpdatedAt: t.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}
