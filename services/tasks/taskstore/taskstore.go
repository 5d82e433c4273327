// Package taskstore keeps tasks in PostgreSQL or SQLite through gorm.
package taskstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/tasks/task"
)

//go:embed migrations
var migrations embed.FS

// Migrate brings the tasks schema up to date.
func Migrate(ctx context.Context, db *sqldb.DB) ([]string, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, err
	}
	return db.Migrate(ctx, sub, "latch_tasks_migrations")
}

// Store implements task.Store.
type Store struct {
	db      *gorm.DB
	pg      *pgxpool.Pool // nil on SQLite
	dialect sqldb.Dialect
}

// New returns the store over db.
func New(db *sqldb.DB) *Store { return &Store{db: db.Gorm, pg: db.PG, dialect: db.Dialect} }

var _ task.Store = (*Store)(nil)

type taskRow struct {
	ID          int64      `gorm:"column:id;primaryKey;autoIncrement"`
	UserID      string     `gorm:"column:user_id"`
	OrgID       *string    `gorm:"column:organization_id"` // NULL: a personal task
	Title       string     `gorm:"column:title"`
	Description *string    `gorm:"column:description"`
	Completed   bool       `gorm:"column:completed"`
	Priority    string     `gorm:"column:priority"`
	DueDate     *time.Time `gorm:"column:due_date"`
	CreatedAt   time.Time  `gorm:"column:created_at;autoCreateTime:false"`
	UpdatedAt   time.Time  `gorm:"column:updated_at;autoUpdateTime:false"`
	// TagList is the task's tags joined by tagSeparator: a copy of its
	// task_tags rows kept on the task, so a read needs neither a join nor an
	// aggregate. Written with them, in the same transaction.
	TagList string `gorm:"column:tag_list"`
}

func (taskRow) TableName() string { return "tasks" }

// tagSeparator joins tags in TagList; the domain refuses control characters in tags.
const tagSeparator = "\x1f"

func (r taskRow) tags() []string {
	if r.TagList == "" {
		return []string{}
	}
	return strings.Split(r.TagList, tagSeparator)
}

type tagRow struct {
	TaskID   int64  `gorm:"column:task_id;primaryKey"`
	Tag      string `gorm:"column:tag;primaryKey"`
	Position int    `gorm:"column:position"`
}

func (tagRow) TableName() string { return "task_tags" }

func rowOf(t task.Task) taskRow {
	var org *string
	if t.OrganizationID != "" {
		org = &t.OrganizationID
	}
	return taskRow{
		ID: t.ID, UserID: t.UserID, OrgID: org, Title: t.Title, Description: t.Description, Completed: t.Completed,
		Priority: string(t.Priority), DueDate: t.DueDate, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		TagList: strings.Join(t.Tags, tagSeparator),
	}
}

func (r taskRow) domain(tags []string) task.Task {
	if tags == nil {
		tags = []string{}
	}
	var due *time.Time
	if r.DueDate != nil {
		d := r.DueDate.UTC()
		due = &d
	}
	var org string
	if r.OrgID != nil {
		org = *r.OrgID
	}
	return task.Task{
		ID: r.ID, UserID: r.UserID, OrganizationID: org, Title: r.Title, Description: r.Description, Completed: r.Completed,
		Priority: task.Priority(r.Priority), DueDate: due, Tags: tags,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return task.ErrNotFound
	case errors.Is(err, task.ErrForbidden), errors.Is(err, task.ErrNotFound), errors.Is(err, context.Canceled):
		return err
	case sqldb.Refused(err):
		return fmt.Errorf("%s: %w: %w", op, task.ErrInvalidData, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, task.ErrUnavailable, err)
	}
}

func (s *Store) Create(ctx context.Context, t task.Task) (task.Task, error) {
	row := rowOf(t)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&row).Error; err != nil {
			return err
		}
		return writeTags(tx, row.ID, t.Tags)
	})
	if err != nil {
		return task.Task{}, classify("create task", err)
	}
	return row.domain(t.Tags), nil
}

func writeTags(tx *gorm.DB, id int64, tags []string) error {
	if err := tx.Where("task_id = ?", id).Delete(&tagRow{}).Error; err != nil {
		return err
	}
	if len(tags) == 0 {
		return nil
	}
	rows := make([]tagRow, len(tags))
	for i, tag := range tags {
		rows[i] = tagRow{TaskID: id, Tag: tag, Position: i}
	}
	return tx.Create(&rows).Error
}

func (s *Store) Get(ctx context.Context, id int64) (task.Task, error) {
	q := s.newRead()
	found, err := s.readTasks(ctx, selectTasks+" FROM tasks WHERE id = "+q.arg(id), q.args, false)
	if err != nil {
		return task.Task{}, classify("get task", err)
	}
	if len(found) == 0 {
		return task.Task{}, task.ErrNotFound
	}
	return found[0].Task, nil
}

// lockRow reads task id inside tx and, on PostgreSQL, locks it until tx
// ends, so that a concurrent change waits instead of being overwritten
// (SQLite has one writer at a time anyway).
func (s *Store) lockRow(tx *gorm.DB, id int64) (taskRow, error) {
	var row taskRow
	q := tx.Where("id = ?", id)
	if s.dialect == sqldb.Postgres {
		q = q.Clauses(clause.Locking{Strength: "UPDATE"})
	}
	err := q.Take(&row).Error
	return row, err
}

func (s *Store) Update(ctx context.Context, id int64, change func(task.Task) (task.Task, error)) (task.Task, error) {
	var out task.Task
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lockRow(tx, id)
		if err != nil {
			return err
		}
		before := row.domain(row.tags())
		after, err := change(before)
		if err != nil {
			return err
		}
		after.ID, after.UserID, after.OrganizationID, after.CreatedAt = before.ID, before.UserID, before.OrganizationID, before.CreatedAt
		newRow := rowOf(after)
		if err := tx.Model(&taskRow{}).Where("id = ?", id).Select("*").Omit("id", "user_id", "organization_id", "created_at").Updates(&newRow).Error; err != nil {
			return err
		}
		if !slices.Equal(before.Tags, after.Tags) {
			if err := writeTags(tx, id, after.Tags); err != nil {
				return err
			}
		}
		if after.Tags == nil {
			after.Tags = []string{}
		}
		out = after
		return nil
	})
	return out, classify("update task", err)
}

func (s *Store) Delete(ctx context.Context, id int64, check func(task.Task) error) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row, err := s.lockRow(tx, id)
		if err != nil {
			return err
		}
		if err := check(row.domain(nil)); err != nil {
			return err
		}
		// Tags go with the task (ON DELETE CASCADE).
		return tx.Where("id = ?", id).Delete(&taskRow{}).Error
	})
	return classify("delete task", err)
}

func (s *Store) DeleteOwner(ctx context.Context, userID string) (int64, error) {
	// Tags go with their tasks (ON DELETE CASCADE, foreign keys on in SQLite too).
	res := s.db.WithContext(ctx).Where("user_id = ? AND organization_id IS NULL", userID).Delete(&taskRow{})
	return res.RowsAffected, classify("delete the user's tasks", res.Error)
}

func (s *Store) DeleteOrganization(ctx context.Context, orgID string) (int64, error) {
	res := s.db.WithContext(ctx).Where("organization_id = ?", orgID).Delete(&taskRow{})
	return res.RowsAffected, classify("delete the organization's tasks", res.Error)
}

// orderBy maps each allowed sort field to fixed SQL; id breaks ties so pages
// never overlap.
var orderBy = map[task.SortField]string{
	task.SortCreatedAt: "created_at %[1]s, id %[1]s",
	task.SortDueDate:   "due_date IS NULL, due_date %[1]s, id %[1]s",
	task.SortPriority:  "CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END %[1]s, created_at DESC, id DESC",
	task.SortTitle:     "lower(title) %[1]s, id %[1]s",
}

func (s *Store) List(ctx context.Context, owner task.Owner, q task.Query) ([]task.Task, int, error) {
	order, ok := orderBy[q.Sort]
	if !ok {
		return nil, 0, fmt.Errorf("sort field %q is not allowed", q.Sort)
	}
	dir := "ASC"
	if q.Descending {
		dir = "DESC"
	}
	page := s.newRead()
	// count(*) OVER () carries the total on every row: one query per page.
	sql := selectTasks + ", count(*) OVER () AS total FROM tasks" + page.filter(owner, q) +
		" ORDER BY " + fmt.Sprintf(order, dir)
	if q.Limit > 0 {
		sql += " LIMIT " + page.arg(q.Limit)
	}
	if q.Offset > 0 {
		sql += " OFFSET " + page.arg(q.Offset)
	}
	rows, err := s.readTasks(ctx, sql, page.args, true)
	if err != nil {
		return nil, 0, classify("list tasks", err)
	}
	out := make([]task.Task, len(rows))
	for i, r := range rows {
		out[i] = r.Task
	}
	switch {
	case len(rows) > 0:
		return out, int(rows[0].total), nil
	case q.Offset == 0:
		return out, 0, nil
	}
	// A page past the end has no row to carry the total.
	count := s.newRead()
	var total int64
	err = s.read(ctx, "SELECT count(*) FROM tasks"+count.filter(owner, q), count.args, func(r rowScanner) error {
		return r.Scan(&total)
	})
	if err != nil {
		return nil, 0, classify("count tasks", err)
	}
	return out, int(total), nil
}

// escapeLike makes user text match literally inside a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
