// Package integration holds envbuild's end-to-end tests: the envbuild
// binary, built static as users get it, against the real test bed of
// integration/testbed (buildkitd, Distribution registries, debootstrap
// Debian bases for amd64 and arm64) and the machine's real package index.
package integration
