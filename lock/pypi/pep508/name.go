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
	// ASCII names (all real ones) in one pass, and without a copy when
	// already normal: a lock normalizes the name of every file on every
	// project page it reads.
	normal := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			return nameRuns.ReplaceAllString(strings.ToLower(s), "-")
		}
		if 'A' <= c && c <= 'Z' || c == '_' || c == '.' || c == '-' && i > 0 && isSep(s[i-1]) {
			normal = false
		}
	}
	if normal {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSep(c):
			if len(b) == 0 || b[len(b)-1] != '-' || !isSep(s[i-1]) {
				b = append(b, '-')
			}
		case 'A' <= c && c <= 'Z':
			b = append(b, c+'a'-'A')
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isSep(c byte) bool { return c == '-' || c == '_' || c == '.' }

// ValidName reports whether s is a valid project (or extra) name: ASCII
// letters, digits, ".", "_" and "-", starting and ending with a letter or
// digit.
func ValidName(s string) bool { return validName.MatchString(s) }

// NormalizeExtra returns the PEP 685 normal form of an extra name, which is
// the same as a project name's.
func NormalizeExtra(s string) string { return NormalizeName(s) }
