// Package layout is the one place that knows where an environment lives
// inside an image: the fixed prefix and the directories under
// it. Every package that writes or reads files of an environment asks this
// package for paths instead of spelling them out.
//
// It must not depend on anything but the standard library: the installer
// program that runs inside BuildKit imports it.
package layout

import "fmt"

// Prefix is the fixed location of every environment, in every image.
const Prefix = "/opt/envbuild/env"

// Version is the installer/layout version. It enters the env id and every
// layer cache key: bump it whenever the bytes the installer writes for the same inputs
// change, so old images are not mistaken for new ones.
const Version = "1"

// BinDir holds the environment's python and the entry-point scripts.
const BinDir = Prefix + "/bin"

// Python is the environment's interpreter path, used in shebangs.
const Python = BinDir + "/python"

// MetaDir holds envbuild's own records about the environment (the lock
// digest, the env id); it lives in the per-environment layer.
const MetaDir = Prefix + "/.envbuild"

// CondaMeta is the directory of conda's per-package records.
const CondaMeta = Prefix + "/conda-meta"

// LibDir is the directory of the standard library for Python major.minor
// (conda installs it here; a venv-style prefix only has site-packages under
// it).
func LibDir(major, minor int, freeThreaded bool) string {
	t := ""
	if freeThreaded {
		t = "t"
	}
	return fmt.Sprintf("%s/lib/python%d.%d%s", Prefix, major, minor, t)
}

// SitePackages is the environment's purelib and platlib directory.
func SitePackages(major, minor int, freeThreaded bool) string {
	return LibDir(major, minor, freeThreaded) + "/site-packages"
}

// Include is the directory for a wheel's headers (the "headers" scheme key).
func Include(name string) string { return Prefix + "/include/site/python/" + name }

// DataDir is the "data" scheme directory: the prefix itself.
const DataDir = Prefix

// Epoch is the modification time given to every file and directory the
// installer writes, so that layers are byte-reproducible (DESIGN rule 4).
// 1980-01-01T00:00:00Z: the earliest time a zip entry can hold, so wheel
// contents and layer contents agree.
const Epoch int64 = 315532800
