package metaflow

import (
	"errors"
	"fmt"
)

// Position is a place in a flow file; Line and Col are 1-based, Col counts
// bytes.
type Position struct {
	File string
	Line int
	Col  int
}

func (p Position) String() string {
	switch {
	case p.Line == 0:
		return p.File
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Error is a problem in a flow file at a known position.
type Error struct {
	Pos Position
	Msg string
	Err error // the cause, when there is one

	computed     bool // the argument is computed; see ErrComputed
	importFailed bool // metaflow could not import the flow's own imports
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Pos, e.Msg, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Pos, e.Msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrComputed and e is about a computed argument.
func (e *Error) Is(target error) bool { return target == ErrComputed && e.computed }

func errorf(pos Position, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// ErrComputed is wrapped by errors about decorator arguments that only
// Metaflow can evaluate (a Config, a variable, a call, an f-string).
var ErrComputed = errors.New("computed at load time")
