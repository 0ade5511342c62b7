// Package pylock reads and writes PEP 751 lock files (pylock.toml). A
// pylock.toml read here is a resolved input: its pinned packages and
// hashes become the lock without resolving; the locker chooses each
// package's wheel for the target. Errors name file:line.
package pylock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// Document is a pylock.toml, the keys envbuild reads and writes.
type Document struct {
	LockVersion      string         `toml:"lock-version"`
	Environments     []string       `toml:"environments,omitempty"`
	RequiresPython   string         `toml:"requires-python,omitempty"`
	Extras           []string       `toml:"extras,omitempty"`
	DependencyGroups []string       `toml:"dependency-groups,omitempty"`
	DefaultGroups    []string       `toml:"default-groups,omitempty"`
	CreatedBy        string         `toml:"created-by"`
	Packages         []Package      `toml:"packages"`
	Tool             map[string]any `toml:"tool,omitempty"`
}

// Package is one [[packages]] entry.
type Package struct {
	Name           string         `toml:"name"`
	Version        string         `toml:"version,omitempty"`
	Marker         string         `toml:"marker,omitempty"`
	RequiresPython string         `toml:"requires-python,omitempty"`
	Dependencies   []Dependency   `toml:"dependencies,omitempty"`
	Index          string         `toml:"index,omitempty"`
	VCS            map[string]any `toml:"vcs,omitempty"`
	Directory      map[string]any `toml:"directory,omitempty"`
	Archive        *File          `toml:"archive,omitempty"`
	Sdist          *File          `toml:"sdist,omitempty"`
	Wheels         []File         `toml:"wheels,omitempty"`
	Tool           *PackageTool   `toml:"tool,omitempty"`
}

// Dependency is one entry of a package's dependencies.
type Dependency struct {
	Name    string `toml:"name"`
	Version string `toml:"version,omitempty"`
}

// File is a wheel, sdist or archive.
type File struct {
	Name   string            `toml:"name,omitempty"`
	URL    string            `toml:"url,omitempty"`
	Path   string            `toml:"path,omitempty"`
	Size   int64             `toml:"size,omitempty"`
	Hashes map[string]string `toml:"hashes"`
}

// PackageTool is [packages.tool]; envbuild keeps what PEP 751 has no key
// for in its own table, so that a lock exported and read back is the same.
type PackageTool struct {
	Envbuild *EnvbuildTool `toml:"envbuild,omitempty"`
}

// EnvbuildTool is [packages.tool.envbuild].
type EnvbuildTool struct {
	Requested bool   `toml:"requested,omitempty"`
	Index     string `toml:"index-name,omitempty"`
}

// NameRE is the file name PEP 751 requires: pylock.toml or
// pylock.NAME.toml.
var NameRE = regexp.MustCompile(`^pylock\.([^.]+\.)?toml$`)

// Load reads path as a resolved input.
func Load(p string) (*spec.Resolved, error) {
	data, err := failure.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return Parse(data, p)
}

// Parse reads pylock.toml content; name is used in messages.
func Parse(data []byte, name string) (*spec.Resolved, error) {
	var doc Document
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, failure.User(fmt.Errorf("%s:%d:%d: %s", name, pe.Position.Line, pe.Position.Col, pe.Message))
		}
		return nil, failure.User(fmt.Errorf("%s: %v", name, err))
	}
	major, _, _ := strings.Cut(doc.LockVersion, ".")
	if major != "1" {
		return nil, failure.User(fmt.Errorf("%s:%d: lock-version %q: envbuild reads version 1 (PEP 751)", name, lineOf(string(data), "lock-version"), doc.LockVersion))
	}
	lines := headerLines(string(data), "[[packages]]")
	sum := sha256.Sum256(data)
	r := &spec.Resolved{Source: path.Base(name), Digest: "sha256:" + hex.EncodeToString(sum[:]), RequiresPython: doc.RequiresPython, Packages: []spec.ResolvedPackage{}}
	if len(doc.Environments) > 0 {
		r.Environments = doc.Environments
	}
	for i, p := range doc.Packages {
		where := name
		if i < len(lines) {
			where = fmt.Sprintf("%s:%d", name, lines[i])
		}
		if !pep508.ValidName(p.Name) {
			return nil, failure.User(fmt.Errorf("%s: package name %q is not a valid project name", where, p.Name))
		}
		switch {
		case p.VCS != nil:
			return nil, failure.User(fmt.Errorf("%s: %s comes from version control, which envbuild cannot install without building; lock it from an index", where, p.Name))
		case p.Directory != nil:
			return nil, failure.User(fmt.Errorf("%s: %s is a local directory, which cannot go into an image as pinned; publish it or give a wheel URL", where, p.Name))
		case p.Archive != nil:
			return nil, failure.User(fmt.Errorf("%s: %s is an archive (a direct URL); envbuild takes pinned packages from wheels and sdists", where, p.Name))
		}
		if p.Version == "" {
			return nil, failure.User(fmt.Errorf("%s: %s has no version: envbuild installs pinned versions only", where, p.Name))
		}
		if p.Marker != "" {
			if _, err := pep508.ParseMarker(p.Marker); err != nil {
				return nil, failure.User(fmt.Errorf("%s: %s: marker %q cannot be evaluated by envbuild: %v", where, p.Name, p.Marker, err))
			}
		}
		rp := spec.ResolvedPackage{Name: p.Name, Version: p.Version, Marker: p.Marker, Where: where}
		if p.Tool != nil && p.Tool.Envbuild != nil {
			rp.Requested = p.Tool.Envbuild.Requested
			rp.Index = p.Tool.Envbuild.Index
		}
		for _, d := range p.Dependencies {
			rp.Depends = append(rp.Depends, d.Name)
		}
		for _, w := range p.Wheels {
			f, err := file(w, where, p.Name)
			if err != nil {
				return nil, err
			}
			rp.Wheels = append(rp.Wheels, f)
		}
		if p.Sdist != nil {
			f, err := file(*p.Sdist, where, p.Name)
			if err != nil {
				return nil, err
			}
			rp.Sdist = &f
		}
		if len(rp.Wheels) == 0 && rp.Sdist == nil {
			return nil, failure.User(fmt.Errorf("%s: %s %s lists no wheel and no sdist", where, p.Name, p.Version))
		}
		r.Packages = append(r.Packages, rp)
	}
	return r, nil
}

func file(f File, where, pkg string) (spec.ResolvedFile, error) {
	n := f.Name
	if n == "" && f.URL != "" {
		n = path.Base(strings.SplitN(f.URL, "?", 2)[0])
	}
	if n == "" && f.Path != "" {
		n = path.Base(f.Path)
	}
	if f.URL == "" {
		return spec.ResolvedFile{}, failure.User(fmt.Errorf("%s: %s: the file %s has no url (a local path is not installed by envbuild)", where, pkg, n))
	}
	if len(f.Hashes) == 0 {
		return spec.ResolvedFile{}, failure.User(fmt.Errorf("%s: %s: the file %s has no hashes", where, pkg, n))
	}
	h := strings.ToLower(f.Hashes["sha256"])
	if h == "" {
		return spec.ResolvedFile{}, failure.User(fmt.Errorf("%s: %s: the file %s has no sha256 hash (envbuild verifies sha256)", where, pkg, n))
	}
	return spec.ResolvedFile{Filename: n, URL: f.URL, Sha256: h, Size: f.Size}, nil
}

// headerLines lists the 1-based lines where header starts a line.
func headerLines(src, header string) []int {
	var out []int
	for i, l := range strings.Split(src, "\n") {
		if strings.TrimSpace(l) == header {
			out = append(out, i+1)
		}
	}
	return out
}

func lineOf(src, needle string) int {
	if i := strings.Index(src, needle); i >= 0 {
		return strings.Count(src[:i], "\n") + 1
	}
	return 1
}
