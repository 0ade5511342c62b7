// Package spec is the model every user format is turned into: the Python
// version, the PyPI requirements and conda specs, channels, indexes, the base
// image, the platforms and the repository of one environment. Frontends
// (envbuild.toml, flags, Metaflow flows) produce a Spec; the locker and the
// builder consume it.
//
// It also holds Metaflow's rules for turning the {name: version}
// dictionaries of @pypi and @conda into requirement strings,
// because envbuild.toml and the flow reader share them.
//
// Standard library only; it knows nothing about locking or building.
package spec

import (
	"github.com/envbuild/envbuild/internal/httpc"
	"net/url"

	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
)

// Spec is one environment as the user declared it.
type Spec struct {
	// Name is the environment's name ("default", or a step name).
	Name string
	// Python is "3.11", "3.11.4", "3.13t" or "" (the base's interpreter).
	Python string
	// Base is the base image reference as written ("" when not given).
	Base string
	// Platforms are OCI platforms ("linux/amd64"); empty means linux/amd64.
	Platforms []string
	// Repository is where the image is pushed ("" means an OCI layout).
	Repository string
	PyPI       PyPI
	Conda      Conda
	Options    Options
	// Resolved is an already resolved input (uv.lock, pylock.toml) whose
	// pins become the lock without resolving, or nil.
	Resolved *Resolved
}

// Resolved is a lock written by another tool, read as the list of
// packages it pins; the locker chooses each package's file for the target.
type Resolved struct {
	// Source is the file it was read from, for messages.
	Source string
	// Digest is "sha256:…" of the file's bytes (the spec's wording).
	Digest string
	// RequiresPython is the lock's requires-python, or "".
	RequiresPython string
	// Environments are markers one of which the target must satisfy
	// (pylock.toml's environments); empty means any.
	Environments []string
	Packages     []ResolvedPackage
	// Roots, when set, are what the project asks for: the packages
	// installed are those reached from them through dependencies whose
	// markers hold for the target (uv.lock). When nil, every package
	// whose Marker holds is installed (pylock.toml).
	Roots []ResolvedDep
}

// ResolvedDep is one edge of a resolved input's graph.
type ResolvedDep struct {
	Name string
	// Version picks one of several packages of that name ("" when there
	// is one).
	Version string
	Marker  string
	Extras  []string
}

// ResolvedPackage is one pinned package of a resolved input.
type ResolvedPackage struct {
	Name    string
	Version string
	// Marker is a PEP 508 marker saying where the package is installed
	// ("" means everywhere).
	Marker string
	// Index is the index URL it came from, without credentials, or "".
	Index  string
	Wheels []ResolvedFile
	Sdist  *ResolvedFile
	// Depends are the names of the packages it needs (pylock.toml).
	Depends []string
	// Deps and Extras are its dependency edges, and those of each extra
	// (uv.lock).
	Deps   []ResolvedDep
	Extras map[string][]ResolvedDep
	// Requested marks a package asked for by the project itself.
	Requested bool
	// Where is "file:line" of the package's entry, for messages.
	Where string
	// Unusable, when set, says why the package cannot be installed (not
	// from an index); an error only when the target needs it.
	Unusable string
}

// ResolvedFile is one file of a resolved package.
type ResolvedFile struct {
	Filename string
	URL      string
	Sha256   string
	Size     int64
}

// PyPI is the PyPI part of a spec.
type PyPI struct {
	// Requirements are PEP 508 strings.
	Requirements []string
	// Constraints are PEP 508 strings that limit a package's versions
	// when it is in the environment, without adding it (pip's -c).
	Constraints    []string
	IndexURL       string
	ExtraIndexURLs []string
	// Hashes are the sha256 digests allowed for a project (normalised
	// name): the locked file's must be one of them (pip's --hash).
	Hashes map[string][]string
	// RequiresPython is a PEP 440 specifier the target's Python must
	// satisfy (pyproject.toml's requires-python), or "".
	RequiresPython string
}

// Conda is the conda part of a spec.
type Conda struct {
	// Specs are conda MatchSpec strings.
	Specs    []string
	Channels []string
}

// Options are install options that change what is built.
type Options struct {
	// AllowSdist lets the lock pick source distributions, built in the image.
	AllowSdist bool
	// NoBytecode skips compiling .pyc files.
	NoBytecode bool
}

// IsConda reports whether the environment needs conda (and so a conda
// Python, docs/reference.md).
func (s *Spec) IsConda() bool { return len(s.Conda.Specs) > 0 }

// PlatformsOrDefault returns the platforms, or linux/amd64 when none is set.
func (s *Spec) PlatformsOrDefault() []string {
	if len(s.Platforms) == 0 {
		return []string{"linux/amd64"}
	}
	return s.Platforms
}

// Digest is "sha256:…" of the canonicalised spec: the parts that decide
// what the lock contains. The base image is not in it (the lock records the
// base per target and `build` compares targets), nor the repository, nor
// credentials or tokens in index and channel URLs (a teammate with other
// credentials has the same spec).
func (s *Spec) Digest() string {
	canon := struct {
		Python       string   `json:"python"`
		Platforms    []string `json:"platforms"`
		Requirements []string `json:"pypi"`
		IndexURL     string   `json:"index_url,omitempty"`
		ExtraIndex   []string `json:"extra_index_urls,omitempty"`
		CondaSpecs   []string `json:"conda,omitempty"`
		Channels     []string `json:"channels,omitempty"`
		AllowSdist   bool     `json:"allow_sdist,omitempty"`
		Constraints  []string `json:"constraints,omitempty"`
		Hashes       []string `json:"hashes,omitempty"`
		RequiresPy   string   `json:"requires_python,omitempty"`
		Resolved     string   `json:"resolved,omitempty"`
	}{
		Python:       s.Python,
		Platforms:    sortedCopy(s.PlatformsOrDefault()),
		Requirements: sortedCopy(trimAll(s.PyPI.Requirements)),
		IndexURL:     StripCredentials(s.PyPI.IndexURL),
		CondaSpecs:   sortedCopy(trimAll(s.Conda.Specs)),
		Channels:     stripAll(s.Conda.Channels), // order is priority
		AllowSdist:   s.Options.AllowSdist,
		Constraints:  sortedCopy(trimAll(s.PyPI.Constraints)),
		RequiresPy:   s.PyPI.RequiresPython,
	}
	if len(canon.Constraints) == 0 {
		canon.Constraints = nil
	}
	for _, n := range sortedKeysOf(s.PyPI.Hashes) {
		for _, h := range sortedCopy(s.PyPI.Hashes[n]) {
			canon.Hashes = append(canon.Hashes, n+":"+h)
		}
	}
	if s.Resolved != nil {
		canon.Resolved = s.Resolved.Digest
	}
	for _, u := range s.PyPI.ExtraIndexURLs {
		canon.ExtraIndex = append(canon.ExtraIndex, StripCredentials(u))
	}
	b, _ := json.Marshal(canon)
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// StripCredentials removes user:password@ from a URL, so that a digest, a
// lock or a log never carries a secret. (A conda channel's token is taken
// out by httpc.StripURL, for channels only: "/t/…" can be an ordinary
// path of an index.)
func StripCredentials(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	clean, _, _, _ := httpc.StripCredentials(u)
	return clean.String()
}

// PypiRequirement turns one entry of a @pypi packages dictionary into a PEP
// 508 string, as Metaflow does: a version starting with <, >, !, ~ or @ is
// appended as written, an empty one means any version, anything else means
// ==version.
func PypiRequirement(name, version string) string {
	name = strings.TrimSpace(name)
	v := strings.TrimSpace(version)
	switch {
	case v == "":
		return name
	case strings.HasPrefix(v, "@"):
		return name + " " + v
	case strings.ContainsAny(v[:1], "<>!~"):
		return name + v
	}
	return name + "==" + v
}

// CondaSpec turns one entry of a @conda packages dictionary into a MatchSpec,
// as Metaflow does: name==version, except that a version starting with <, >,
// =, ! or ~ is appended as written (so "=1.2" is conda's 1.2.*), and an empty
// version means any.
func CondaSpec(name, version string) string {
	name = strings.TrimSpace(name)
	v := strings.TrimSpace(version)
	switch {
	case v == "":
		return name
	case strings.ContainsAny(v[:1], "<>=!~"):
		return name + v
	}
	return name + "==" + v
}

// PypiRequirements applies PypiRequirement to a dictionary, sorted by name.
func PypiRequirements(pkgs map[string]string) []string {
	var out []string
	for _, n := range sortedKeys(pkgs) {
		out = append(out, PypiRequirement(n, pkgs[n]))
	}
	return out
}

// CondaSpecs applies CondaSpec to a dictionary, sorted by name.
func CondaSpecs(pkgs map[string]string) []string {
	var out []string
	for _, n := range sortedKeys(pkgs) {
		out = append(out, CondaSpec(n, pkgs[n]))
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedKeysOf(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortedCopy(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	return out
}

func trimAll(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// KeyList is a map's keys, sorted and comma-separated, or "none": what a
// message lists as the names there are.
func KeyList[V any](m map[string]V) string {
	if len(m) == 0 {
		return "none"
	}
	k := make([]string, 0, len(m))
	for n := range m {
		k = append(k, n)
	}
	sort.Strings(k)
	return strings.Join(k, ", ")
}

func stripAll(urls []string) []string {
	var out []string
	for _, u := range urls {
		out = append(out, httpc.StripURL(u))
	}
	return out
}
