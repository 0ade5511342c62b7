package lock

import (
	"fmt"
	"sort"
	"strings"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
	"github.com/envbuild/envbuild/lock/pypi/tags"
	"github.com/envbuild/envbuild/lock/target"
)

// lockResolved turns a resolved input (uv.lock, pylock.toml) into the lock
// of one target without resolving: the packages that apply to the target
// (markers), each with the file that fits it best. What cannot be
// honoured for the target is refused, naming the package.
func lockResolved(req Request, t target.Target) (lockfile.Target, error) {
	r := req.Spec.Resolved
	env, err := pep508.EnvironmentFor(t.Python, t.Implementation, t.Machine())
	if err != nil {
		return lockfile.Target{}, failure.User(fmt.Errorf("%s: %w", r.Source, err))
	}
	tt, err := tags.ForTarget(t)
	if err != nil {
		return lockfile.Target{}, failure.User(fmt.Errorf("%s: %w", r.Source, err))
	}
	holds := func(where, m string) (bool, error) {
		if strings.TrimSpace(m) == "" {
			return true, nil
		}
		mk, err := pep508.ParseMarker(m)
		if err != nil {
			return false, failure.User(fmt.Errorf("%s: marker %q: %w", where, m, err))
		}
		return mk.Evaluate(env, nil), nil
	}
	if len(r.Environments) > 0 {
		ok := false
		for _, e := range r.Environments {
			h, err := holds(r.Source, e)
			if err != nil {
				return lockfile.Target{}, err
			}
			ok = ok || h
		}
		if !ok {
			return lockfile.Target{}, failure.User(fmt.Errorf("%s was locked for the environments %q, and %s is none of them; lock it for this target", r.Source, r.Environments, t))
		}
	}
	chosen, err := resolvedPackages(r, holds)
	if err != nil {
		return lockfile.Target{}, err
	}
	in := map[string]bool{}
	for _, p := range chosen {
		in[pep508.NormalizeName(p.pkg.Name)] = true
	}
	var out []lockfile.Package
	for _, c := range chosen {
		p := c.pkg
		if p.Unusable != "" {
			return lockfile.Target{}, failure.User(fmt.Errorf("%s: %s", p.Where, p.Unusable))
		}
		lp := lockfile.Package{Name: pep508.NormalizeName(p.Name), Version: p.Version, Source: lockfile.SourcePyPI, Requested: p.Requested || c.requested, Depends: []string{}}
		if u := p.Index; u != "" {
			lp.Index = spec.StripCredentials(u)
		}
		for _, d := range c.depends {
			if n := pep508.NormalizeName(d); in[n] && n != lp.Name && !contains(lp.Depends, n) {
				lp.Depends = append(lp.Depends, n)
			}
		}
		sort.Strings(lp.Depends)
		var names []tags.WheelName
		var files []spec.ResolvedFile
		for _, w := range p.Wheels {
			wn, err := tags.ParseWheelFilename(w.Filename)
			if err != nil {
				continue
			}
			names = append(names, wn)
			files = append(files, w)
		}
		var f *spec.ResolvedFile
		if best, ok := tt.Best(names); ok {
			f = &files[best]
			lp.Kind = lockfile.KindWheel
		} else if p.Sdist != nil && req.Spec.Options.AllowSdist {
			f = p.Sdist
			lp.Kind = lockfile.KindSdist
		} else {
			why := fmt.Sprintf("none of its %d wheel(s) fits %s", len(p.Wheels), t)
			if p.Sdist != nil {
				why += "; it has a source distribution, which --allow-sdist lets envbuild build"
			}
			return lockfile.Target{}, failure.User(fmt.Errorf("%s: %s %s cannot be installed as pinned: %s", p.Where, p.Name, p.Version, why))
		}
		if f.Sha256 == "" {
			return lockfile.Target{}, failure.User(fmt.Errorf("%s: %s %s: the file %s has no sha256 in the lock; envbuild installs hashed files only", p.Where, p.Name, p.Version, f.Filename))
		}
		if f.URL == "" {
			return lockfile.Target{}, failure.User(fmt.Errorf("%s: %s %s: the file %s has no URL (a local path?); envbuild installs files from an index or https URL", p.Where, p.Name, p.Version, f.Filename))
		}
		lp.URL, lp.Filename, lp.Sha256, lp.Size = spec.StripCredentials(f.URL), f.Filename, strings.ToLower(f.Sha256), f.Size
		out = append(out, lp)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if req.Log != nil {
		fmt.Fprintf(req.Log, "took %d pinned packages of %s for %s, without resolving\n", len(out), r.Source, t.Platform)
	}
	if out == nil {
		out = []lockfile.Package{}
	}
	return pypiTarget(t, out), nil
}

type chosenPackage struct {
	pkg       *spec.ResolvedPackage
	depends   []string
	requested bool
}

// resolvedPackages picks the packages of r that apply: with roots, those
// reached through edges whose markers hold; without, those whose own
// marker holds. Two versions of one name applying is an error.
func resolvedPackages(r *spec.Resolved, holds func(where, marker string) (bool, error)) ([]chosenPackage, error) {
	byName := map[string][]*spec.ResolvedPackage{}
	for i := range r.Packages {
		p := &r.Packages[i]
		n := pep508.NormalizeName(p.Name)
		byName[n] = append(byName[n], p)
	}
	var out []chosenPackage
	picked := map[string]*spec.ResolvedPackage{}
	if r.Roots == nil {
		for i := range r.Packages {
			p := &r.Packages[i]
			ok, err := holds(p.Where, p.Marker)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			n := pep508.NormalizeName(p.Name)
			if q := picked[n]; q != nil {
				return nil, failure.User(fmt.Errorf("%s: %s %s and %s (%s) both apply to this target; their markers must exclude each other", p.Where, p.Name, p.Version, q.Version, q.Where))
			}
			picked[n] = p
			out = append(out, chosenPackage{pkg: p, depends: p.Depends})
		}
		return out, nil
	}
	type item struct {
		dep       spec.ResolvedDep
		from      string
		requested bool
	}
	var queue []item
	for _, d := range r.Roots {
		queue = append(queue, item{dep: d, from: r.Source, requested: true})
	}
	index := map[*spec.ResolvedPackage]int{}
	doneExtra := map[string]bool{}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		ok, err := holds(it.from, it.dep.Marker)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		n := pep508.NormalizeName(it.dep.Name)
		var p *spec.ResolvedPackage
		for _, c := range byName[n] {
			if it.dep.Version == "" || c.Version == it.dep.Version {
				if p != nil {
					return nil, failure.User(fmt.Errorf("%s: the dependency on %s names no version, and the lock has several", it.from, it.dep.Name))
				}
				p = c
			}
		}
		if p == nil {
			return nil, failure.User(fmt.Errorf("%s: the dependency on %s %s is not in the lock", it.from, it.dep.Name, it.dep.Version))
		}
		if q := picked[n]; q != nil && q != p {
			return nil, failure.User(fmt.Errorf("%s: %s %s and %s both apply to this target", p.Where, p.Name, p.Version, q.Version))
		}
		first := picked[n] == nil
		if first {
			picked[n] = p
			index[p] = len(out)
			out = append(out, chosenPackage{pkg: p, requested: it.requested})
			for _, d := range p.Deps {
				queue = append(queue, item{dep: d, from: p.Where})
			}
		}
		if it.requested {
			out[index[p]].requested = true
		}
		for _, e := range it.dep.Extras {
			key := n + "[" + pep508.NormalizeName(e) + "]"
			if doneExtra[key] {
				continue
			}
			doneExtra[key] = true
			deps, ok := p.Extras[pep508.NormalizeName(e)]
			if !ok {
				deps = p.Extras[e]
			}
			for _, d := range deps {
				queue = append(queue, item{dep: d, from: p.Where})
			}
		}
	}
	// Depends: the names each chosen package's holding edges reach.
	for i := range out {
		p := out[i].pkg
		var deps []string
		for _, d := range p.Deps {
			if ok, _ := holds(p.Where, d.Marker); ok {
				deps = append(deps, d.Name)
			}
		}
		n := pep508.NormalizeName(p.Name)
		for key := range doneExtra {
			if base, extra, ok := strings.Cut(key, "["); ok && base == n {
				for _, d := range p.Extras[strings.TrimSuffix(extra, "]")] {
					if ok, _ := holds(p.Where, d.Marker); ok {
						deps = append(deps, d.Name)
					}
				}
			}
		}
		out[i].depends = deps
	}
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
