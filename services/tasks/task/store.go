package task

import "context"

// Store persists tasks. Implementations return ErrNotFound for a missing id
// and wrap other failures in ErrUnavailable.
type Store interface {
	Create(ctx context.Context, t Task) (Task, error)
	Get(ctx context.Context, id int64) (Task, error)
	// Update reads the task, applies change and writes the result in one
	// transaction; an error from change aborts without writing.
	Update(ctx context.Context, id int64, change func(Task) (Task, error)) (Task, error)
	// Delete removes the task if check, given the current row, allows it.
	Delete(ctx context.Context, id int64, check func(Task) error) error
	// List returns one page of the owner's tasks matching q (a user's
	// personal tasks, or an organization's) and the total number that match.
	List(ctx context.Context, owner Owner, q Query) ([]Task, int, error)
	// DeleteOwner removes every personal task of the user (and their tags)
	// and says how many; none is not an error, so it may run any number of
	// times. Organization tasks the user created stay.
	DeleteOwner(ctx context.Context, userID string) (int64, error)
	// DeleteOrganization removes every task of the organization, likewise.
	DeleteOrganization(ctx context.Context, orgID string) (int64, error)
}

// Status filters by completion.
type Status string

// The completion filters.
const (
	All       Status = "all"
	Pending   Status = "pending"
	Completed Status = "completed"
)

// SortField is a column the list may be ordered by; only these exist, so no
// ORDER BY is ever built from input.
type SortField string

// The sortable fields.
const (
	SortCreatedAt SortField = "created_at"
	SortDueDate   SortField = "due_date"
	SortPriority  SortField = "priority"
	SortTitle     SortField = "title"
)

// Query is a validated list request.
type Query struct {
	Status     Status
	Priority   Priority // empty: any
	Search     string   // matches title or description, case-insensitively
	Tag        string   // empty: any
	Sort       SortField
	Descending bool
	Limit      int
	Offset     int
}

// Limits on what a client may ask for.
const (
	DefaultLimit   = 50
	MaxLimit       = 200
	MaxTitle       = 200
	MaxDescription = 10000
	MaxTags        = 20
	MaxTagLength   = 50
	MaxSearch      = 200
)
