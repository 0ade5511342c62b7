// Package failure classifies errors into the exit codes, so
// that every package can say what kind of failure it reports and only
// cmd/envbuild turns that into a number.
//
//	1  the user's input cannot be satisfied or is invalid
//	2  usage error (flags)
//	3  lock --check: the lock is out of date
//	4  infrastructure: index, channel, registry or BuildKit unreachable or failing
//
// Wrap an error with User, Usage, Stale or Infra where its kind is known;
// the innermost classification wins, so a low-level package's Infra is not
// turned into User by a caller that wraps everything it returns.
//
// Standard library only.
package failure

import "errors"

// Kind is the class of a failure, numerically equal to its exit code.
type Kind int

const (
	// KindUser: bad spec, unsatisfiable, unknown package, base without Python.
	KindUser Kind = 1
	// KindUsage: wrong flags.
	KindUsage Kind = 2
	// KindStale: `lock --check` found the lock out of date.
	KindStale Kind = 3
	// KindInfra: an index, channel, registry or BuildKit failed or is unreachable.
	KindInfra Kind = 4
)

type classified struct {
	kind Kind
	err  error
}

func (c *classified) Error() string { return c.err.Error() }
func (c *classified) Unwrap() error { return c.err }

func wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &classified{kind: k, err: err}
}

// User marks err as a problem with the user's input (exit 1).
func User(err error) error { return wrap(KindUser, err) }

// Usage marks err as a usage error (exit 2).
func Usage(err error) error { return wrap(KindUsage, err) }

// Stale marks err as "the lock is out of date" (exit 3).
func Stale(err error) error { return wrap(KindStale, err) }

// Infra marks err as an infrastructure failure (exit 4).
func Infra(err error) error { return wrap(KindInfra, err) }

// KindOf returns the innermost classification of err, or KindUser when
// nothing classified it (an unexplained error is reported as exit 1).
func KindOf(err error) Kind {
	k := KindUser
	for e := err; e != nil; e = errors.Unwrap(e) {
		if c, ok := e.(*classified); ok {
			k = c.kind
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				if ik := KindOf(inner); ik != KindUser {
					return ik
				}
			}
		}
	}
	return k
}

// IsInfra reports whether err is an infrastructure failure.
func IsInfra(err error) bool { return KindOf(err) == KindInfra }
