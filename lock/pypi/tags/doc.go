// Package tags implements the platform compatibility tags of wheels
// (PEP 425, with the manylinux rules of PEP 600 and the musllinux rules of
// PEP 656) for Linux targets: parsing wheel and source distribution file
// names, listing the tags a target interpreter accepts in the priority
// order of packaging.tags.sys_tags(), and ranking wheels the way pip picks
// one.
//
// A Target is described by values (Python version, implementation,
// architecture, C library), never by inspecting the running machine. This
// package must not do I/O, download files or decide between versions; it
// only says which files of one version fit a target and which fits best.
// Standard library only (plus the sibling pep440 and pep508 packages).
package tags
