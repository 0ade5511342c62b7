// Package uvlock reads uv's lock file (uv.lock) as a resolved input: the
// project's dependencies (with the extras and dependency groups asked
// for) are followed through the lock's graph, and each package's pinned
// version and hashed files become the lock without resolving. Packages
// that are not from an index (git, local paths, the workspace's other
// members) are refused with file:line.
package uvlock

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

type document struct {
	Version        int    `toml:"version"`
	Revision       int    `toml:"revision"`
	RequiresPython string `toml:"requires-python"`
	Packages       []pkg  `toml:"package"`
	Distributions  []pkg  `toml:"distribution"`
}

type pkg struct {
	Name                 string           `toml:"name"`
	Version              string           `toml:"version"`
	Source               map[string]any   `toml:"source"`
	Dependencies         []dep            `toml:"dependencies"`
	OptionalDependencies map[string][]dep `toml:"optional-dependencies"`
	DevDependencies      map[string][]dep `toml:"dev-dependencies"`
	Sdist                *file            `toml:"sdist"`
	Wheels               []file           `toml:"wheels"`
}

type dep struct {
	Name    string         `toml:"name"`
	Version string         `toml:"version"`
	Marker  string         `toml:"marker"`
	Extra   []string       `toml:"extra"`
	Source  map[string]any `toml:"source"`
}

type file struct {
	URL  string `toml:"url"`
	Path string `toml:"path"`
	Hash string `toml:"hash"`
	Size int64  `toml:"size"`
}

// Load reads path; extras and groups choose the project's optional
// dependencies and dependency groups to install.
func Load(p string, extras, groups []string) (*spec.Resolved, error) {
	data, err := failure.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return Parse(data, p, extras, groups)
}

// Parse reads uv.lock content; name is used in messages.
func Parse(data []byte, name string, extras, groups []string) (*spec.Resolved, error) {
	var doc document
	if _, err := toml.Decode(string(data), &doc); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, failure.User(fmt.Errorf("%s:%d:%d: %s", name, pe.Position.Line, pe.Position.Col, pe.Message))
		}
		return nil, failure.User(fmt.Errorf("%s: %v", name, err))
	}
	if doc.Version != 1 {
		return nil, failure.User(fmt.Errorf("%s: version = %d: envbuild reads uv.lock version 1", name, doc.Version))
	}
	if len(doc.Distributions) > 0 {
		return nil, failure.User(fmt.Errorf("%s: [[distribution]] tables come from an early uv; lock again with a current uv", name))
	}
	lines := headerLines(string(data), "[[package]]")
	sum := sha256.Sum256(data)
	r := &spec.Resolved{Source: path.Base(name), Digest: "sha256:" + hex.EncodeToString(sum[:]), RequiresPython: doc.RequiresPython, Roots: []spec.ResolvedDep{}}
	var root *pkg
	rootWhere := name
	for i := range doc.Packages {
		p := &doc.Packages[i]
		where := name
		if i < len(lines) {
			where = fmt.Sprintf("%s:%d", name, lines[i])
		}
		kind, loc := source(p.Source)
		if (kind == "virtual" || kind == "editable" || kind == "directory") && loc == "." {
			root, rootWhere = p, where
			continue
		}
		rp := spec.ResolvedPackage{Name: p.Name, Version: p.Version, Where: where, Deps: edges(p.Dependencies), Extras: map[string][]spec.ResolvedDep{}}
		for e, ds := range p.OptionalDependencies {
			rp.Extras[pep508.NormalizeName(e)] = edges(ds)
		}
		switch kind {
		case "registry":
			if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
				rp.Index = spec.StripCredentials(loc)
			}
		default:
			// Kept, and refused only when the target needs it.
			rp.Unusable = fmt.Sprintf("%s comes from %s %q, not an index: envbuild installs pinned files from an index; publish it, or give it as NAME @ https://…whl", p.Name, kind, loc)
		}
		for _, w := range p.Wheels {
			f, err := toFile(w, where, p.Name)
			if err != nil {
				return nil, err
			}
			rp.Wheels = append(rp.Wheels, f)
		}
		if p.Sdist != nil && p.Sdist.URL != "" {
			f, err := toFile(*p.Sdist, where, p.Name)
			if err != nil {
				return nil, err
			}
			rp.Sdist = &f
		}
		r.Packages = append(r.Packages, rp)
	}
	if root == nil {
		return nil, failure.User(fmt.Errorf("%s: no package is the project itself (source = { virtual = \".\" } or { editable = \".\" }); envbuild installs a project's dependencies from its uv.lock", name))
	}
	r.Roots = append(r.Roots, edges(root.Dependencies)...)
	for _, e := range extras {
		ds, ok := lookup(root.OptionalDependencies, e)
		if !ok {
			return nil, failure.User(fmt.Errorf("%s: --extra %s: the project %s has no such extra in the lock; it has: %s", rootWhere, e, root.Name, spec.KeyList(root.OptionalDependencies)))
		}
		r.Roots = append(r.Roots, edges(ds)...)
	}
	for _, g := range groups {
		ds, ok := lookup(root.DevDependencies, g)
		if !ok {
			return nil, failure.User(fmt.Errorf("%s: --group %s: the project %s has no such dependency group in the lock; it has: %s", rootWhere, g, root.Name, spec.KeyList(root.DevDependencies)))
		}
		r.Roots = append(r.Roots, edges(ds)...)
	}
	return r, nil
}

func lookup(m map[string][]dep, k string) ([]dep, bool) {
	for n, v := range m {
		if pep508.NormalizeName(n) == pep508.NormalizeName(k) {
			return v, true
		}
	}
	return nil, false
}

func edges(ds []dep) []spec.ResolvedDep {
	out := []spec.ResolvedDep{}
	for _, d := range ds {
		out = append(out, spec.ResolvedDep{Name: d.Name, Version: d.Version, Marker: d.Marker, Extras: d.Extra})
	}
	return out
}

func source(s map[string]any) (kind, loc string) {
	for _, k := range []string{"registry", "virtual", "editable", "directory", "path", "git", "url"} {
		if v, ok := s[k]; ok {
			str, _ := v.(string)
			return k, str
		}
	}
	return "unknown", ""
}

func toFile(f file, where, pkgName string) (spec.ResolvedFile, error) {
	u := f.URL
	if u == "" {
		return spec.ResolvedFile{}, failure.User(fmt.Errorf("%s: %s: a file at the local path %q, which envbuild cannot fetch", where, pkgName, f.Path))
	}
	algo, hx, ok := strings.Cut(f.Hash, ":")
	if !ok || algo != "sha256" {
		return spec.ResolvedFile{}, failure.User(fmt.Errorf("%s: %s: %s has hash %q; envbuild needs sha256", where, pkgName, path.Base(u), f.Hash))
	}
	return spec.ResolvedFile{Filename: path.Base(strings.SplitN(u, "?", 2)[0]), URL: u, Sha256: strings.ToLower(hx), Size: f.Size}, nil
}

func headerLines(src, header string) []int {
	var out []int
	for i, l := range strings.Split(src, "\n") {
		if strings.TrimSpace(l) == header {
			out = append(out, i+1)
		}
	}
	return out
}
