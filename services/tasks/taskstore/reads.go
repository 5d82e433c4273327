package taskstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/latchid/latch/pkg/sqldb"
	"github.com/latchid/latch/services/tasks/task"
)

// The two reads every request makes (a task by id, a page of a user's
// tasks) skip gorm: on PostgreSQL they go straight to pgx, on SQLite to
// database/sql. Both dialects run the same SQL, built here from fixed
// fragments with every value bound.

// readQuery accumulates a read's bound arguments and writes their
// placeholders in the dialect's style.
type readQuery struct {
	dialect sqldb.Dialect
	args    []any
}

func (s *Store) newRead() *readQuery { return &readQuery{dialect: s.dialect} }

// arg binds v and returns its placeholder.
func (q *readQuery) arg(v any) string {
	q.args = append(q.args, v)
	if q.dialect == sqldb.Postgres {
		return "$" + strconv.Itoa(len(q.args))
	}
	return "?"
}

// taskColumns are scanned by scanTask, in this order.
const taskColumns = "id, user_id, organization_id, title, description, completed, priority, due_date, created_at, updated_at, tag_list"

// selectTasks selects a task with its tags.
const selectTasks = "SELECT " + taskColumns

// filter is the WHERE clause selecting the owner's tasks that match q: an
// organization's, or a user's personal ones (not those they created in an
// organization).
func (q *readQuery) filter(owner task.Owner, tq task.Query) string {
	var w strings.Builder
	if owner.OrganizationID != "" {
		w.WriteString(" WHERE organization_id = " + q.arg(owner.OrganizationID))
	} else {
		w.WriteString(" WHERE user_id = " + q.arg(owner.UserID) + " AND organization_id IS NULL")
	}
	switch tq.Status {
	case task.Pending:
		w.WriteString(" AND completed = " + q.arg(false))
	case task.Completed:
		w.WriteString(" AND completed = " + q.arg(true))
	}
	if tq.Priority != "" {
		w.WriteString(" AND priority = " + q.arg(string(tq.Priority)))
	}
	if tq.Search != "" {
		pattern := "%" + escapeLike(strings.ToLower(tq.Search)) + "%"
		w.WriteString(` AND (lower(title) LIKE ` + q.arg(pattern) + ` ESCAPE '\'` +
			` OR lower(coalesce(description, '')) LIKE ` + q.arg(pattern) + ` ESCAPE '\')`)
	}
	if tq.Tag != "" {
		w.WriteString(" AND EXISTS (SELECT 1 FROM task_tags tt WHERE tt.task_id = tasks.id AND tt.tag = " + q.arg(tq.Tag) + ")")
	}
	return w.String()
}

// rowScanner is a result row of pgx or database/sql.
type rowScanner interface{ Scan(dest ...any) error }

// read runs a query and hands each row to scan.
func (s *Store) read(ctx context.Context, sql string, args []any, scan func(rowScanner) error) error {
	if s.pg != nil {
		rows, err := s.pg.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return each(rows, scan)
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	rows, err := sqlDB.QueryContext(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return each(rows, scan)
}

// resultRows is what pgx.Rows and *sql.Rows have in common.
type resultRows interface {
	rowScanner
	Next() bool
	Err() error
}

func each(rows resultRows, scan func(rowScanner) error) error {
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// listedTask is a task and, in a list, the total the page is part of.
type listedTask struct {
	task.Task
	total int64
}

// readTasks runs a query selecting selectTasks' columns and, withTotal, a
// total after them.
func (s *Store) readTasks(ctx context.Context, sql string, args []any, withTotal bool) ([]listedTask, error) {
	var out []listedTask
	err := s.read(ctx, sql, args, func(r rowScanner) error {
		var (
			row   taskRow
			total int64
		)
		dest := []any{&row.ID, &row.UserID, &row.OrgID, &row.Title, &row.Description, &row.Completed, &row.Priority,
			&row.DueDate, &row.CreatedAt, &row.UpdatedAt, &row.TagList}
		if withTotal {
			dest = append(dest, &total)
		}
		if err := r.Scan(dest...); err != nil {
			return err
		}
		out = append(out, listedTask{Task: row.domain(row.tags()), total: total})
		return nil
	})
	return out, err
}
