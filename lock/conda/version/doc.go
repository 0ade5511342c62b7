// Package version implements conda's version ordering (VersionOrder) and
// conda's version spec grammar (">=1.2,<2", "1.2.*", "1.2|1.4", "~=1.2", …).
//
// Ordering follows conda exactly: a version is split into an epoch ("1!"),
// the main version and a local version ("+local"); each part into components
// at "." and "_" (a "-" counts as "_" when the string has no "_"); each
// component into runs of digits and non-digits. Numbers compare numerically,
// strings lexicographically and below numbers, "dev" sorts below every other
// string, "post" above every number, a component that starts with a letter
// gets a leading 0, and a missing component counts as 0 (so 1.1 == 1.1.0).
// A trailing "_" stays attached to the last component (openssl-style
// "1.0.1_" versions).
//
// Specs follow conda's models/version.py: "," binds tighter than "|",
// parentheses group, "=1.2" and "1.2.*" and "1.2*" mean "starts with 1.2",
// "~=1.2.3" means ">=1.2.3,1.2.*", "==1.2" and a bare "1.2" mean equality in
// VersionOrder terms (1.2 == 1.2.0), "*" matches anything, a "*" inside a
// version ("1.*.3") is a glob, and "^…$" is a regular expression matched
// against the normalised version string (Go's RE2 syntax).
//
// The package parses and compares; it does no I/O and knows nothing of
// package names or records.
package version
