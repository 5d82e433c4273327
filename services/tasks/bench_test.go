package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkGetTaskByID is GET /api/tasks/{id} through the whole service
// (authn with a remembered token, gin, the domain, gorm, PostgreSQL), in
// process, so a profile shows where a request's time goes.
func BenchmarkGetTaskByID(b *testing.B) {
	is := newIssuer(b)
	ts := startTasks(b, is, nil)
	token := is.token("bench-user")
	created := ts.create(token, `{"title":"benchmark me","tags":["a","b"]}`)
	path := fmt.Sprintf("/api/tasks/%v", created["id"])
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		ts.handler.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
