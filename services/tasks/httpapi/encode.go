package httpapi

import (
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/latchid/latch/services/tasks/task"
)

// appendTask writes t as json.Marshal(render(t)) would, byte for byte
// (encode_test.go holds it to that), without reflection: a page of 20 tasks
// through encoding/json was about a quarter of the server's CPU for a list.
func appendTask(b []byte, t task.Task) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, t.ID, 10)
	b = append(b, `,"user_id":`...)
	b = appendString(b, t.UserID)
	b = append(b, `,"organization_id":`...)
	if t.OrganizationID == "" {
		b = append(b, "null"...)
	} else {
		b = appendString(b, t.OrganizationID)
	}
	b = append(b, `,"title":`...)
	b = appendString(b, t.Title)
	b = append(b, `,"description":`...)
	if t.Description == nil {
		b = append(b, "null"...)
	} else {
		b = appendString(b, *t.Description)
	}
	b = append(b, `,"completed":`...)
	b = strconv.AppendBool(b, t.Completed)
	b = append(b, `,"priority":`...)
	b = appendString(b, string(t.Priority))
	b = append(b, `,"due_date":`...)
	if t.DueDate == nil {
		b = append(b, "null"...)
	} else {
		b = appendTime(b, *t.DueDate)
	}
	b = append(b, `,"tags":[`...)
	for i, tag := range t.Tags {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, tag)
	}
	b = append(b, `],"created_at":`...)
	b = appendTime(b, t.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = appendTime(b, t.UpdatedAt)
	return append(b, '}')
}

// appendTasks writes a JSON array of tasks.
func appendTasks(b []byte, tasks []task.Task) []byte {
	b = append(b, '[')
	for i, t := range tasks {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTask(b, t)
	}
	return append(b, ']')
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does by default: HTML-safe (<, >
// and & escaped), control characters escaped, invalid UTF-8 replaced by
// U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...) // as encoding/json writes it (Go 1.27): the character, not an escape
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
