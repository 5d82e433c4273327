package task

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Service applies the ownership and validation rules over a Store.
type Service struct {
	store Store
	now   func() time.Time
}

// NewService returns the tasks service.
func NewService(store Store, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// NewTask is what a user submits to create a task.
type NewTask struct {
	Title       string
	Description *string
	Priority    Priority // empty: medium
	DueDate     *time.Time
	Tags        []string
}

// Create makes a task in scope: the actor's own, or its organization's
// (created by the actor). The owner never comes from the request body.
func (s *Service) Create(ctx context.Context, a Actor, scope Scope, in NewTask) (Task, error) {
	owner, err := a.owner(scope)
	if err != nil {
		return Task{}, err
	}
	var v ValidationError
	if in.Priority == "" {
		in.Priority = Medium
	}
	checkTitle(&v, in.Title)
	checkDescription(&v, in.Description)
	checkPriority(&v, in.Priority)
	checkDueDate(&v, in.DueDate)
	tags := normalizeTags(&v, in.Tags)
	if err := v.orNil(); err != nil {
		return Task{}, err
	}
	now := s.clock()
	return s.store.Create(ctx, Task{
		UserID: a.UserID, OrganizationID: owner.OrganizationID, Title: in.Title, Description: in.Description, Priority: in.Priority,
		DueDate: utc(in.DueDate), Tags: tags, CreatedAt: now, UpdatedAt: now,
	})
}

// Get returns a task the actor may read: ErrNotFound when no task has the
// id, ErrForbidden when it is someone else's or another organization's.
func (s *Service) Get(ctx context.Context, a Actor, id int64) (Task, error) {
	t, err := s.store.Get(ctx, id)
	if err != nil {
		return Task{}, err
	}
	if err := a.canRead(t); err != nil {
		return Task{}, err
	}
	return t, nil
}

// Patch is a partial update; a nil field is left as it is.
type Patch struct {
	Title            *string
	Description      *string
	ClearDescription bool
	Priority         *Priority
	DueDate          *time.Time
	ClearDueDate     bool
	Tags             *[]string
	Completed        *bool
}

// Update applies p to a task the actor may change.
func (s *Service) Update(ctx context.Context, a Actor, id int64, p Patch) (Task, error) {
	var v ValidationError
	if p.Title != nil {
		checkTitle(&v, *p.Title)
	}
	checkDescription(&v, p.Description)
	checkDueDate(&v, p.DueDate)
	if p.Priority != nil {
		checkPriority(&v, *p.Priority)
	}
	var tags []string
	if p.Tags != nil {
		tags = normalizeTags(&v, *p.Tags)
	}
	if err := v.orNil(); err != nil {
		return Task{}, err
	}
	return s.store.Update(ctx, id, func(t Task) (Task, error) {
		if err := a.canChange(t); err != nil {
			return Task{}, err
		}
		if p.Title != nil {
			t.Title = *p.Title
		}
		if p.Description != nil || p.ClearDescription {
			t.Description = p.Description
		}
		if p.Priority != nil {
			t.Priority = *p.Priority
		}
		if p.DueDate != nil || p.ClearDueDate {
			t.DueDate = utc(p.DueDate)
		}
		if p.Tags != nil {
			t.Tags = tags
		}
		if p.Completed != nil {
			t.Completed = *p.Completed
		}
		t.UpdatedAt = s.clock()
		return t, nil
	})
}

// Toggle flips a task the actor may change between pending and completed.
func (s *Service) Toggle(ctx context.Context, a Actor, id int64) (Task, error) {
	return s.store.Update(ctx, id, func(t Task) (Task, error) {
		if err := a.canChange(t); err != nil {
			return Task{}, err
		}
		t.Completed = !t.Completed
		t.UpdatedAt = s.clock()
		return t, nil
	})
}

// Delete removes a task the actor may change.
func (s *Service) Delete(ctx context.Context, a Actor, id int64) error {
	return s.store.Delete(ctx, id, a.canChange)
}

// List returns a page of the tasks scope means for the actor (its own, or
// its organization's) and how many match in all.
func (s *Service) List(ctx context.Context, a Actor, scope Scope, q Query) ([]Task, int, error) {
	owner, err := a.owner(scope)
	if err != nil {
		return nil, 0, err
	}
	var v ValidationError
	switch q.Status {
	case "":
		q.Status = All
	case All, Pending, Completed:
	default:
		v.add("completed", "must be one of all, pending, completed")
	}
	if q.Priority != "" && !q.Priority.Valid() {
		v.add("priority", "must be one of low, medium, high")
	}
	switch q.Sort {
	case "":
		q.Sort = SortCreatedAt
	case SortCreatedAt, SortDueDate, SortPriority, SortTitle:
	default:
		v.add("sort", "must be one of created_at, due_date, priority, title")
	}
	switch {
	case q.Limit == 0:
		q.Limit = DefaultLimit
	case q.Limit < 1 || q.Limit > MaxLimit:
		v.add("limit", "must be between 1 and 200")
	}
	if q.Offset < 0 {
		v.add("offset", "must not be negative")
	}
	if utf8.RuneCountInString(q.Search) > MaxSearch {
		v.add("search", "must be at most 200 characters")
	}
	checkText(&v, "search", q.Search)
	checkText(&v, "tag", q.Tag)
	if err := v.orNil(); err != nil {
		return nil, 0, err
	}
	return s.store.List(ctx, owner, q)
}

// DeleteOwner deletes every personal task of a user who no longer exists
// (the auth service deleted them); running it again deletes nothing more.
// The organization tasks they created stay with their organizations, as a
// removed member's do.
func (s *Service) DeleteOwner(ctx context.Context, userID string) (int64, error) {
	if userID == "" {
		return 0, nil
	}
	return s.store.DeleteOwner(ctx, userID)
}

// DeleteOrganization deletes every task of an organization the auth
// service deleted; running it again deletes nothing more.
func (s *Service) DeleteOrganization(ctx context.Context, orgID string) (int64, error) {
	if orgID == "" {
		return 0, nil
	}
	return s.store.DeleteOrganization(ctx, orgID)
}

// checkText refuses what no text field may hold: invalid UTF-8 and NUL,
// which PostgreSQL rejects (and SQLite would store), so every store and
// every transport answers them alike, as the caller's mistake.
func checkText(v *ValidationError, field, s string) bool {
	switch {
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
		return false
	case strings.ContainsRune(s, 0):
		v.add(field, "must not contain NUL characters")
		return false
	}
	return true
}

func checkTitle(v *ValidationError, title string) {
	if !checkText(v, "title", title) {
		return
	}
	n := utf8.RuneCountInString(strings.TrimSpace(title))
	switch {
	case n == 0:
		v.add("title", "must not be empty")
	case utf8.RuneCountInString(title) > MaxTitle:
		v.add("title", "must be at most 200 characters")
	}
}

func checkDescription(v *ValidationError, d *string) {
	if d == nil || !checkText(v, "description", *d) {
		return
	}
	if utf8.RuneCountInString(*d) > MaxDescription {
		v.add("description", "must be at most 10000 characters")
	}
}

func checkPriority(v *ValidationError, p Priority) {
	if !p.Valid() {
		v.add("priority", "must be one of low, medium, high")
	}
}

// checkDueDate keeps due dates within the years RFC 3339 can write once in
// UTC (0001 to 9999): a later or earlier one is rendered as a date no client
// parses, and SQLite stores it as text it cannot read back.
func checkDueDate(v *ValidationError, d *time.Time) {
	if d == nil {
		return
	}
	if y := d.UTC().Year(); y < 1 || y > 9999 {
		v.add("due_date", "must be between 0001-01-01 and 9999-12-31 in UTC")
	}
}

// normalizeTags trims, drops duplicates and keeps the order given.
func normalizeTags(v *ValidationError, in []string) []string {
	out := make([]string, 0, len(in))
	for _, tag := range in {
		tag = strings.TrimSpace(tag)
		switch {
		case !utf8.ValidString(tag):
			v.add("tags", "tags must be valid UTF-8")
			return nil
		case tag == "":
			v.add("tags", "must not contain empty tags")
			return nil
		case utf8.RuneCountInString(tag) > MaxTagLength:
			v.add("tags", "each tag must be at most 50 characters")
			return nil
		case strings.ContainsFunc(tag, unicode.IsControl):
			v.add("tags", "tags must not contain control characters")
			return nil
		}
		if !slices.Contains(out, tag) {
			out = append(out, tag)
		}
	}
	if len(out) > MaxTags {
		v.add("tags", "at most 20 tags")
		return nil
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
