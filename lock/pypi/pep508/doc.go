// Package pep508 parses dependency specifiers (PEP 508, now the "Dependency
// specifiers" page of the Python packaging specifications): project names
// and their normalisation (PEP 503), extras (normalised per PEP 685),
// version specifiers, direct references ("name @ url") and environment
// markers, and evaluates markers against a target environment.
//
// Errors from the parsers are *SyntaxError values that carry the input and
// the byte position of the problem, so callers can point at it.
//
// This package must not do I/O, fetch URLs, resolve anything or guess
// environment values it cannot know: EnvironmentFor documents the ones that
// stay empty. Standard library only (plus the sibling pep440 package).
package pep508
