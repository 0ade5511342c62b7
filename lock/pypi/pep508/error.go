package pep508

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// SyntaxError reports where a requirement or marker does not follow the
// grammar. Pos is a byte offset into Input.
type SyntaxError struct {
	Input string
	Pos   int
	Msg   string
}

// Error shows the message, then the input with a caret under the problem:
//
//	parsing "foo >= 1.0 ;" at column 13: expected a marker after ";"
//	    foo >= 1.0 ;
//	                ^
//
// A long input is shown as the part around the problem, cut with "…", so
// a 100 KB requirement is not echoed whole.
func (e *SyntaxError) Error() string {
	pos := min(max(e.Pos, 0), len(e.Input))
	col := utf8.RuneCountInString(e.Input[:pos])
	runes := []rune(e.Input)
	quoted := e.Input
	if len(runes) > maxShown {
		quoted = string(runes[:maxShown]) + "…"
	}
	from, to := 0, len(runes)
	if to-from > 2*window {
		from = max(0, col-window)
		to = min(len(runes), from+2*window)
	}
	shown := string(runes[from:to])
	caret := col - from
	if from > 0 {
		shown = "…" + shown
		caret++
	}
	if to < len(runes) {
		shown += "…"
	}
	return fmt.Sprintf("parsing %q at column %d: %s\n    %s\n    %s^", quoted, col+1, e.Msg, shown, strings.Repeat(" ", caret))
}

// maxShown is how much of a long input a message quotes; window how many
// characters either side of the problem are shown above the caret.
const (
	maxShown = 200
	window   = 60
)

// scanner walks an input string, reporting errors with positions.
type scanner struct {
	in  string
	pos int
	// lenient lets version specifiers be repaired
	// (pep440.ParseSpecifiersLenient); repaired records that one was.
	lenient, repaired bool
	// depth counts the parentheses open around the marker being read.
	depth int
}

func (s *scanner) errorf(pos int, format string, args ...any) error {
	return &SyntaxError{Input: s.in, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) eof() bool { return s.pos >= len(s.in) }

func (s *scanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.in[s.pos]
}

// skipSpace skips spaces and tabs (the grammar's whitespace) and reports
// whether any were skipped.
func (s *scanner) skipSpace() bool {
	start := s.pos
	for !s.eof() && isSpace(s.in[s.pos]) {
		s.pos++
	}
	return s.pos > start
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// keyword consumes word if it is next and not followed by an identifier
// character.
func (s *scanner) keyword(word string) bool {
	if !strings.HasPrefix(s.in[s.pos:], word) {
		return false
	}
	end := s.pos + len(word)
	if end < len(s.in) && (isAlnum(s.in[end]) || s.in[end] == '_' || s.in[end] == '.') {
		return false
	}
	s.pos = end
	return true
}

// name reads a project or extra name.
func (s *scanner) name(what string) (string, error) {
	start := s.pos
	if s.eof() || !isAlnum(s.in[s.pos]) {
		return "", s.errorf(start, "expected %s (letters, digits, \"-\", \"_\" or \".\", starting with a letter or digit)", what)
	}
	for !s.eof() && isNameChar(s.in[s.pos]) {
		s.pos++
	}
	n := s.in[start:s.pos]
	if !ValidName(n) {
		return "", s.errorf(s.pos-1, "%s %q must end with a letter or digit", what, n)
	}
	return n, nil
}
