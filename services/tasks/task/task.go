// Package task holds the tasks domain: what a task is, who may see and
// change it, and what a valid one looks like. It knows nothing of HTTP,
// gRPC or SQL.
package task

import (
	"errors"
	"time"
)

// Priority is how urgent a task is.
type Priority string

// The priorities, lowest first.
const (
	Low    Priority = "low"
	Medium Priority = "medium"
	High   Priority = "high"
)

// Valid reports whether p is one of the three priorities.
func (p Priority) Valid() bool { return p == Low || p == Medium || p == High }

// Task is one to-do item: a user's own (OrganizationID empty) or an
// organization's, created by UserID.
type Task struct {
	ID     int64
	UserID string // the owner of a personal task; the creator of an organization's
	// OrganizationID is the organization the task belongs to; empty for a
	// personal task. It never changes after creation.
	OrganizationID string
	Title          string
	Description    *string
	Completed      bool
	Priority       Priority
	DueDate        *time.Time
	Tags           []string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Errors of the domain; each transport maps them to its status once.
var (
	// ErrNotFound: no task has that id.
	ErrNotFound = errors.New("task not found")
	// ErrForbidden: the task exists but the actor may not do that to it
	// (another user's, another organization's, or a member changing a task
	// someone else created).
	ErrForbidden = errors.New("task belongs to another user")
	// ErrNoOrganization: an organization's tasks were asked for (a list or
	// a create in organization scope) but the actor is in no organization:
	// the token names none, or no role the tasks service knows there.
	ErrNoOrganization = errors.New("no active organization")
	// ErrUnavailable wraps store failures that are not the caller's fault.
	ErrUnavailable = errors.New("task store unavailable")
	// ErrInvalidData wraps data the database refused (a NUL byte, invalid
	// UTF-8, a broken constraint) that the rules let through: the request's
	// fault, answered as invalid input, never as an outage.
	ErrInvalidData = errors.New("data refused by the task store")
)

// FieldError is one invalid input field.
type FieldError struct {
	Field   string // "title", "priority", "due_date", "tags", ...
	Message string
}

// ValidationError lists every invalid field of one request.
type ValidationError struct{ Fields []FieldError }

func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return "invalid task"
	}
	return e.Fields[0].Field + ": " + e.Fields[0].Message
}

func (e *ValidationError) add(field, msg string) { e.Fields = append(e.Fields, FieldError{field, msg}) }

func (e *ValidationError) orNil() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}
