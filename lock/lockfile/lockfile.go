// Package lockfile reads and writes envbuild.lock: a TOML
// document listing, for every environment and every target platform, each
// artifact to install with its URL, sha256 and size.
//
// Writing is byte-stable: environments, targets and packages are sorted,
// fields come in a fixed order, and the file ends with a newline, so the
// same lock always has the same bytes and the same digest. Reading is
// strict: an unknown key is an error with its position.
//
// This package holds no resolution logic and never talks to the network.
package lockfile

import "github.com/envbuild/envbuild/lock/target"

// Version is the lock-version this package writes and reads.
const Version = 1

// File is a whole envbuild.lock.
type File struct {
	LockVersion int   `json:"lock-version"`
	Envs        []Env `json:"env"`
}

// Env is one named environment.
type Env struct {
	Name string `json:"name"`
	// SpecDigest is "sha256:…" of the canonicalised spec; `lock --check`
	// compares it with the spec's current digest.
	SpecDigest string   `json:"spec-digest"`
	Targets    []Target `json:"target"`
}

// Target is the environment locked for one platform: the target (its
// platform, Python, C library and, when the lock was made against a base,
// the base's per-platform manifest "repo@sha256:…" and interpreter path),
// where its Python comes from and its packages. On disk it is a
// [[env.target]] table whose libc is one string ("glibc 2.36"); Parse and
// Marshal, and its JSON form, convert between the two (decodeTarget,
// encodeTarget).
type Target struct {
	target.Target
	// PythonSource says where the environment's interpreter comes from:
	// PythonFromBase or PythonFromConda; "" in a lock made before the
	// field existed.
	PythonSource PythonSource
	Packages     []Package
}

// PythonSource is where a target's interpreter comes from, spelled as in
// the lock file's python-source key. It is a type of its own so that a
// misspelled source is a compile error rather than a silent mismatch.
type PythonSource string

// Where a target's interpreter comes from (Target.PythonSource).
const (
	// PythonFromBase is a venv-style prefix on the base's interpreter.
	PythonFromBase PythonSource = "base"
	// PythonFromConda is Python as a conda package in the prefix.
	PythonFromConda PythonSource = "conda"
)

// OnBase reports whether the environment runs on the base's interpreter:
// PythonSource "base", or unset (a lock made before the field existed).
func (t Target) OnBase() bool {
	return t.PythonSource == PythonFromBase || t.PythonSource == ""
}

// Kind is a locked artifact's kind, spelled as in the lock file's kind
// key. It is a type of its own so that a misspelled kind is a compile
// error rather than a silent mismatch.
type Kind string

// A locked artifact's kind (Package.Kind).
const (
	KindWheel  Kind = "wheel"
	KindSdist  Kind = "sdist"
	KindConda  Kind = "conda"   // a .conda archive
	KindTarBz2 Kind = "tar.bz2" // a conda .tar.bz2 archive
)

// Source is the ecosystem a locked artifact comes from, spelled as in the
// lock file's source key; a type of its own for the same reason as Kind.
type Source string

// Where a locked artifact comes from (Package.Source).
const (
	SourcePyPI  Source = "pypi"
	SourceConda Source = "conda"
)

// IsConda reports whether the artifact is a conda package archive.
func (p Package) IsConda() bool { return p.Kind == KindConda || p.Kind == KindTarBz2 }

// Package is one locked artifact.
type Package struct {
	Name    string `toml:"name" json:"name"`
	Version string `toml:"version" json:"version"`
	// Source is SourcePyPI or SourceConda.
	Source Source `toml:"source" json:"source"`
	// Kind is KindWheel, KindSdist, KindConda (a .conda archive) or
	// KindTarBz2.
	Kind     Kind   `toml:"kind" json:"kind"`
	URL      string `toml:"url" json:"url"`
	Filename string `toml:"filename" json:"filename"`
	Sha256   string `toml:"sha256" json:"sha256"`
	Size     int64  `toml:"size" json:"size"`
	// Depends lists the normalised names of locked packages it needs.
	Depends []string `toml:"depends" json:"depends"`
	// Requested marks a package the spec asked for by name.
	Requested bool `toml:"requested,omitempty" json:"requested,omitempty"`
	// Index is the name of the index or channel it came from ("pypi",
	// "extra-1", "conda-forge"), never its URL with credentials.
	Index string `toml:"index,omitempty" json:"index,omitempty"`

	// Conda records only.
	Channel     string `toml:"channel,omitempty" json:"channel,omitempty"`
	Subdir      string `toml:"subdir,omitempty" json:"subdir,omitempty"`
	Build       string `toml:"build,omitempty" json:"build,omitempty"`
	BuildNumber int    `toml:"build-number,omitempty" json:"build-number,omitempty"`
	Noarch      string `toml:"noarch,omitempty" json:"noarch,omitempty"`
	// Spec is the MatchSpec or requirement that asked for it, when requested.
	Spec string `toml:"spec,omitempty" json:"spec,omitempty"`
}
