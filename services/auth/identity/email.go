package identity

import (
	"regexp"
	"strings"
)

// emailPattern is zod 4's z.email() pattern, which Better Auth validates
// sign-up emails with; using the same one means an address is accepted by
// both servers or by neither.
var emailPattern = regexp.MustCompile(`^(?:[A-Za-z0-9_'+\-]+\.)*[A-Za-z0-9_'+\-]*[A-Za-z0-9_+-]@(?:[A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`)

// ValidEmail reports whether s is an email address as Better Auth accepts one.
func ValidEmail(s string) bool { return emailPattern.MatchString(s) }

// NormalizeEmail is the stored and compared form of an email: lower case.
func NormalizeEmail(s string) string { return strings.ToLower(s) }
