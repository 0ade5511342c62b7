// Package pep440 implements Python version identifiers and version
// specifiers as defined by PEP 440 (now the "Version specifiers" page of the
// Python packaging specifications), plus a version-set algebra for the PyPI
// resolver.
//
// Version is an immutable value: Parse accepts every spelling the standard
// normalises (case, "-"/"_"/"." separators, alternate pre-release and
// post-release words, implicit post releases, a leading "v", surrounding
// whitespace) and String prints the normalised form. Compare orders versions
// the way the standard does: dev < pre < final < post, and a local version
// sorts just after its public version.
//
// Specifiers is a comma-separated specifier set ("~=1.4,!=1.4.3"). Contains
// answers membership, Filter applies the default pre-release policy, and Set
// turns the specifier set into a Set: a finite union of disjoint intervals
// over the version order, closed under Intersect, Union and Complement, which
// is what a PubGrub resolver needs. Set membership agrees with Contains (with
// pre-releases allowed) for every version; the pre-release policy is left to
// the caller, who filters candidate versions.
//
// Exclusive ordered comparisons follow the standard's wording:
//
//   - ">V" never matches a local version of V, and, unless V is itself a
//     post-release or a dev release, never matches a post-release of V
//     (">1.7" excludes 1.7.post1 and 1.7+local; ">1.7a1" excludes
//     1.7a1.post1; ">1.7.post2" excludes 1.7.post2+local only).
//   - "<V" never matches a pre-release of V unless V is itself a
//     pre-release ("<1.7" excludes 1.7a1 and 1.7.dev0; "<1.7.post2"
//     excludes 1.7.post2.dev0).
//
// These are the rules of the reference implementation ("packaging") in its
// current form too. Earlier releases of it compared base versions, which
// made ">1.7.post2" reject 1.7.post3+local but accept 1.7.post3 and
// 1.7.post4: a set no finite union of intervals can express.
//
// This package must not do I/O, talk to an index or know about wheels,
// markers or resolution policy beyond the pre-release rule of the standard.
// Standard library only.
package pep440
