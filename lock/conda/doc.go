// Package conda is the root of envbuild's conda support: the primitives a
// conda lock needs, each in its own subpackage.
//
//   - version: conda's VersionOrder and version spec grammar.
//   - matchspec: the MatchSpec query language.
//   - repodata: repodata.json records, channel configuration and fetching.
//   - virtual: virtual packages (__linux, __glibc, …) describing a target image.
//   - solve: a CDCL solver that picks one record per package name.
//
// This package holds no code itself. None of the subpackages runs conda,
// mamba or micromamba, and none inspects the machine it runs on: the target
// image is always described by the caller.
package conda
