// Package pypi locks PyPI requirements for one target: it
// reads the files and metadata of projects from the configured indexes,
// keeps the files a correct installer on that target could use (not
// yanked, not newer than --exclude-newer, Requires-Python satisfied, a
// wheel whose tags the target accepts, or an sdist when allowed), evaluates
// markers for the target, turns extras into virtual packages, runs the
// PubGrub solver of lock/pypi/resolve and writes one lockfile.Package per
// chosen project, with the URL, sha256 and size of the file to install.
//
// The choices follow uv's defaults, so that a lock equals `uv pip compile
// --python-version X.Y --python-platform ARCH-manylinux_2_28` for the same
// inputs (TestCompareWithUV checks it on the real index):
//
//   - the newest allowed version first, or the version of the existing
//     lock while it still fits (--upgrade, --upgrade-package drop that);
//   - pre-releases of a project only when one of the user's requirements
//     on it names a pre-release, or when it has nothing but pre-releases
//     (Request.Prerelease changes that);
//   - a yanked file only when the user pins its version with == or ===
//     (PEP 592);
//   - of one version, the file pip would install on the target: the
//     compatible wheel of best tag rank, then highest build tag; its
//     metadata gives the dependencies;
//   - packages become required in the order their requirements are
//     written, which decides between equally good solutions.
//
// A failure to resolve is explained as PubGrub does, one sentence a line,
// followed by "hint:" lines (the newest version with a wheel for the
// target, --allow-sdist, --prerelease allow) for the projects it names.
//
// It classifies its failures: what the user can fix (a malformed or
// unsatisfiable requirement, an unknown project, a direct reference that
// cannot be locked) is failure.User; index failures keep the class the
// index client gave them (failure.Infra).
//
// It must not choose files for another target than the request's, write
// credentials into a lock or a log, or build anything.
package pypi
