// Package resolve is a PubGrub version solver (Natalie Weizenbaum, "PubGrub:
// next-generation version solving", 2018): unit propagation over
// incompatibilities, conflict-driven backtracking that learns new
// incompatibilities, and a derivation tree turned into a chain of human
// sentences when no solution exists.
//
// The solver knows nothing about indexes, wheels, markers or extras. A
// Provider lists the usable versions of a package (best first) and the
// dependencies of one version; markers are evaluated and extras turned into
// virtual packages ("name[extra]") by the caller before anything reaches the
// solver. The solver is deterministic: the same provider answers give the
// same solution and the same explanation, whatever the map iteration order
// or the timing of prefetches.
//
// It must not do I/O of its own, start goroutines other than through the
// provider's optional Prefetch hook, or depend on the lock file format.
package resolve
