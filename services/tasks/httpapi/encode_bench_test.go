package httpapi

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/latchid/latch/services/tasks/task"
)

func benchTasks() []task.Task {
	d := "Details for task 7: call, write, review and ship."
	due := time.Date(2030, 1, 9, 9, 0, 0, 0, time.UTC)
	out := make([]task.Task, 20)
	for i := range out {
		out[i] = task.Task{ID: int64(1000 + i), UserID: "user-0003", OrganizationID: "org-001", Title: "Team task 7 of organization 1",
			Description: &d, Priority: task.High, DueDate: &due, Tags: []string{"work", "home"},
			CreatedAt: time.Date(2025, 12, 31, 10, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2025, 12, 31, 10, 0, 30, 0, time.UTC)}
	}
	return out
}

// BenchmarkRenderPage is the page through encoding/json, as before appendTasks.
func BenchmarkRenderPage(b *testing.B) {
	tasks := benchTasks()
	b.ReportAllocs()
	for b.Loop() {
		out := make([]taskJSON, len(tasks))
		for i, t := range tasks {
			out[i] = render(t)
		}
		if _, err := json.Marshal(out); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendPage is what the list handler now does.
func BenchmarkAppendPage(b *testing.B) {
	tasks := benchTasks()
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = appendTasks(buf[:0], tasks)
	}
}
