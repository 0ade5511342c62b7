// Package pypi locks PyPI requirements for one target (CONTRACT §2): it
// reads the files and metadata of projects from the configured indexes,
// keeps the files a correct installer on that target could use (not
// yanked, not newer than --exclude-newer, Requires-Python satisfied, a
// wheel whose tags the target accepts, or an sdist when allowed), evaluates
// markers for the target, turns extras into virtual packages, runs the
// PubGrub solver of lock/pypi/resolve and writes one lockfile.Package per
// chosen project, with the URL, sha256 and size of the file to install.
//
// It classifies its failures: what the user can fix (a malformed or
// unsatisfiable requirement, an unknown project, a direct reference that
// cannot be locked) is failure.User; index failures keep the class the
// index client gave them (failure.Infra).
//
// It must not choose files for another target than the request's, write
// credentials into a lock or a log, or build anything.
package pypi
