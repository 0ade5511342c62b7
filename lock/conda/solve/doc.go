// Package solve picks one conda record per package name so that every
// requested MatchSpec and every dependency of every picked record is
// satisfied, and every "constrains" of a picked record holds.
//
// # Solver
//
// The solver is a CDCL SAT solver written here (watched literals, first-UIP
// clause learning, non-chronological backjumping), driven the way resolvo
// (rattler's solver) drives its own: a boolean variable per candidate
// record, clauses for "the request needs one of these", "this record needs
// one of these", "at most one record per name" and "this record forbids
// those records of another name" (constrains). A record's clauses are made
// the first time it becomes true, so only the part of a channel the search
// reaches is ever looked at (records can come lazily from a
// *repodata.Index, one package name at a time). Decisions always
// take the first unsatisfied requirement (the request's specs first, then
// dependencies in the order they were discovered) and try its most
// preferred candidate that is still possible. Learned clauses make the
// search backtrack far enough that an earlier choice can move to its next
// candidate. The result is deterministic and leans to the most preferred
// versions of the requested packages first, then of their dependencies.
//
// gophersat v1.4.0 was considered, from its documentation (it was not
// benchmarked here): a good CDCL SAT, MAXSAT and pseudo-boolean solver with
// RUP certificates and MUS extraction. It was not used because (1) it takes
// the whole formula up front, so every candidate's clauses would be built
// even for records the search never reaches, where the clauses here are made
// lazily; (2) candidate preference would have to be a weighted objective
// (pseudo-boolean optimisation, several solver calls) instead of a decision
// order, which is slower and harder to keep identical to rattler's choices;
// (3) a MUS is found by re-solving subsets, while the refutation here names
// the clauses it used directly. The CDCL core here is a few hundred lines.
//
// # Candidate preference
//
// Candidates of one name are ordered as rattler orders them:
//  1. a record equal to one in Request.Locked (name, version, build) first;
//  2. records without track_features before records with them;
//  3. higher version (conda's VersionOrder) first;
//  4. higher build number first;
//  5. among records equal so far, the one whose dependencies allow higher
//     versions of the dependencies they share, compared name by name in
//     alphabetical order (rattler's tie-break; e.g. the numpy build for the
//     newer python);
//  6. newer timestamp first; then the file name, for determinism.
//
// # Channels
//
// Channel priority is strict: for each package name, candidates come only
// from the first channel (in Request.Channels order) that has any record of
// that name, unless a requested spec names a channel ("conda-forge::numpy"),
// which then is the only source of that name. Virtual packages
// (Request.Virtual) are candidates for their names only.
//
// # Failures
//
// An unsatisfiable request is an *UnsatisfiableError whose message is built
// from the clauses of the refutation (the "unsat core" the CDCL proof
// touched): what the request asks for, which records need what, which
// constraints forbid what, grouped by package and version, never a list of
// every candidate. A name no channel has is reported with the channels
// searched; a spec no record matches lists the versions there are.
//
// The package does no I/O: repodata comes in, records go out.
package solve
