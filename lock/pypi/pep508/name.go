package pep508

import (
	"regexp"
	"strings"
)

var (
	validName = regexp.MustCompile(`(?i)^([a-z0-9]|[a-z0-9][a-z0-9._-]*[a-z0-9])$`)
	nameRuns  = regexp.MustCompile(`[-_.]+`)
)

// NormalizeName returns the PEP 503 normal form of a project name: lower
// case, with every run of "-", "_" and "." replaced by a single "-"
// ("Foo.Bar__baz" gives "foo-bar-baz"). It does not validate; see ValidName.
func NormalizeName(s string) string {
	return nameRuns.ReplaceAllString(strings.ToLower(s), "-")
}

// ValidName reports whether s is a valid project (or extra) name: ASCII
// letters, digits, ".", "_" and "-", starting and ending with a letter or
// digit.
func ValidName(s string) bool { return validName.MatchString(s) }

// NormalizeExtra returns the PEP 685 normal form of an extra name, which is
// the same as a project name's.
func NormalizeExtra(s string) string { return NormalizeName(s) }
