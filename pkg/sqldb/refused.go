package sqldb

import (
	"errors"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// SQLite's primary result codes for data it refuses (sqlite.org/rescode.html).
const (
	sqliteTooBig     = 18
	sqliteConstraint = 19
	sqliteMismatch   = 20
)

// Refused reports whether the database refused a statement's data rather
// than failing to run it: PostgreSQL's SQLSTATE class 22 (data exception:
// invalid UTF-8, a value out of range), class 23 (integrity constraint
// violation) or class 54 (program limit exceeded, which is how a NUL byte in
// a text parameter is refused: 54000 "null character not permitted"),
// SQLite's constraint, type and size errors, and the errors gorm translates
// them into. Retrying such a statement fails the same
// way, so a store reports it as the request's fault, never as an outage.
func Refused(err error) bool {
	if err == nil {
		return false
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		if len(pg.Code) != 5 {
			return false
		}
		switch pg.Code[:2] {
		case "22", "23", "54":
			return true
		}
		return false
	}
	var lite *gosqlite.Error
	if errors.As(err, &lite) {
		switch lite.Code() & 0xff { // the primary code; extended codes add the detail above it
		case sqliteTooBig, sqliteConstraint, sqliteMismatch:
			return true
		}
		return false
	}
	return errors.Is(err, gorm.ErrDuplicatedKey) || errors.Is(err, gorm.ErrForeignKeyViolated) ||
		errors.Is(err, gorm.ErrCheckConstraintViolated)
}
