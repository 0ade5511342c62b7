package pypi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
	"github.com/envbuild/envbuild/lock/pypi/resolve"
	"github.com/envbuild/envbuild/lock/pypi/tags"
	"github.com/envbuild/envbuild/lock/target"
)

// The pre-release policies of Request.Prerelease, as uv names them.
const (
	// PrereleaseIfNecessaryOrExplicit (the default) allows the
	// pre-releases of a project when one of the user's requirements on it
	// names a pre-release, or when it has no final release.
	PrereleaseIfNecessaryOrExplicit = "if-necessary-or-explicit"
	// PrereleaseAllow allows every pre-release.
	PrereleaseAllow = "allow"
	// PrereleaseDisallow never uses a pre-release.
	PrereleaseDisallow = "disallow"
)

// Request is one lock of PyPI requirements for one target.
type Request struct {
	// Requirements are PEP 508 strings, as the spec gives them.
	Requirements []string
	// Constraints are PEP 508 strings limiting the versions of a project
	// when it is in the solution, without requiring it (pip's -c).
	Constraints []string
	// Target is what the lock is for.
	Target target.Target
	// Indexes in priority order (see index.FromPipConfig). Default: PyPI.
	Indexes []index.Index
	// CacheDir holds the HTTP cache. Default: the index client's.
	CacheDir string
	// Offline answers from the cache only.
	Offline bool
	// ExcludeNewer hides files uploaded after it. Zero: none hidden.
	ExcludeNewer time.Time
	// AllowSdist lets a version with no wheel for the target be locked as
	// its source distribution; else such a version is unavailable, with a
	// reason saying so.
	AllowSdist bool
	// Prerelease is one of the Prerelease* policies. Default
	// PrereleaseIfNecessaryOrExplicit.
	Prerelease string
	// Existing is the previous lock of this target: its versions are kept
	// when they still fit.
	Existing []lockfile.Package
	// Upgrade ignores Existing; UpgradePackages ignores it for these
	// projects only.
	Upgrade         bool
	UpgradePackages []string
	// Log receives progress lines (files hashed by download, …). Default:
	// discard.
	Log io.Writer
	// Timeout and Retries tune each index request (see index.Options).
	// Zero: the index client's defaults.
	Timeout time.Duration
	// Deadline bounds one metadata request, tries included.
	Deadline time.Duration
	Retries  int
	// CertFile is a CA bundle to trust instead of the system's (pip's
	// `cert`). Default: the system's.
	CertFile string
}

// indexConcurrency bounds the index requests in flight: enough for the
// metadata prefetched while backtracking through many versions (uv's
// default is 50 concurrent downloads too).
const indexConcurrency = 50

// Lock resolves req.Requirements for req.Target and returns one package per
// chosen project, sorted by name.
func Lock(ctx context.Context, req Request) ([]lockfile.Package, error) {
	if req.Log == nil {
		req.Log = io.Discard
	}
	client, err := index.New(index.Options{
		Indexes:      req.Indexes,
		CacheDir:     req.CacheDir,
		Offline:      req.Offline,
		ExcludeNewer: req.ExcludeNewer,
		Log:          req.Log,
		Timeout:      req.Timeout,
		Deadline:     req.Deadline,
		Retries:      req.Retries,
		CertFile:     req.CertFile,
		Concurrency:  indexConcurrency,
	})
	if err != nil {
		return nil, err
	}
	return lockWith(ctx, client, req)
}

func lockWith(ctx context.Context, src source, req Request) ([]lockfile.Package, error) {
	switch req.Prerelease {
	case "":
		req.Prerelease = PrereleaseIfNecessaryOrExplicit
	case PrereleaseIfNecessaryOrExplicit, PrereleaseAllow, PrereleaseDisallow:
	default:
		return nil, failure.User(fmt.Errorf("pre-release policy %q: want %q, %q or %q", req.Prerelease, PrereleaseIfNecessaryOrExplicit, PrereleaseAllow, PrereleaseDisallow))
	}
	t := req.Target
	tt, err := tags.ForTarget(t)
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking for %s: %w", t, err))
	}
	env, err := pep508.EnvironmentFor(t.Python, t.Implementation, t.Machine())
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking for %s: %w", t, err))
	}
	pyVersion, err := pep440.Parse(t.Python)
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking for %s: reading the Python version %q: %w", t, t.Python, err))
	}
	bg, cancel := context.WithCancel(ctx)
	p := &provider{
		src: src, target: t, tags: tt, env: env, python: pyVersion,
		allowSdist: req.AllowSdist, prerelease: req.Prerelease, log: req.Log,
		explicit: map[string]bool{}, pins: map[string][]pep440.Version{},
		direct: map[string]*directRef{}, preferred: map[string]pep440.Version{},
		bg: bg, projects: map[string]*projectEntry{}, metas: map[string]*metaEntry{}, prefetched: map[string]bool{},
		hints: map[string][]string{},
	}
	defer func() {
		cancel()
		p.wg.Wait()
	}()
	p.indexes = "pypi"
	if len(req.Indexes) > 0 {
		var names []string
		for _, ix := range req.Indexes {
			names = append(names, ix.Name)
		}
		p.indexes = strings.Join(names, ", ")
	}
	start := time.Now()

	for _, s := range req.Constraints {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, failure.User(fmt.Errorf("reading constraint %q: %w", index.Redact(s), err))
		}
		if r.URL != "" {
			return nil, failure.User(fmt.Errorf("constraint %q is a direct reference: give it as a requirement instead", index.Redact(s)))
		}
		if !r.Marker.Evaluate(env, nil) {
			continue
		}
		set, err := r.Specifiers.Set()
		if err != nil {
			return nil, failure.User(fmt.Errorf("reading constraint %q: %w", index.Redact(s), err))
		}
		if p.constraints == nil {
			p.constraints = map[string]pep440.Set{}
		}
		name := pep508.NormalizeName(r.Name)
		if c, ok := p.constraints[name]; ok {
			set = set.Intersect(c)
		}
		p.constraints[name] = set
	}

	var roots []resolve.Dependency
	requested := map[string]bool{}
	for _, s := range req.Requirements {
		r, err := pep508.ParseRequirement(s)
		if err != nil {
			return nil, failure.User(fmt.Errorf("reading requirement %s: %w", failure.Quote(s), err))
		}
		if !r.Marker.Evaluate(env, nil) {
			fmt.Fprintf(req.Log, "skipping %q: its marker does not hold for %s\n", index.Redact(s), t)
			continue
		}
		name := pep508.NormalizeName(r.Name)
		requested[name] = true
		set := pep440.Full()
		if r.URL != "" {
			d, err := p.lockDirect(ctx, s, name, r.URL, req.Log)
			if err != nil {
				return nil, err
			}
			p.direct[name] = d
			set = pep440.Exact(d.version)
		} else {
			set, err = r.Specifiers.Set()
			if err != nil {
				return nil, failure.User(fmt.Errorf("reading requirement %s: %w", failure.Quote(s), err))
			}
			if r.Specifiers.MentionsPrerelease() {
				p.explicit[name] = true
			}
			for _, sp := range r.Specifiers {
				switch {
				case sp.Op == pep440.OpEqual && !sp.Wildcard:
					p.pins[name] = append(p.pins[name], sp.Version)
				case sp.Op == pep440.OpArbitrary:
					if v, err := pep440.Parse(sp.Arbitrary); err == nil {
						p.pins[name] = append(p.pins[name], v)
					}
				}
			}
		}
		roots = append(roots, resolve.Dependency{Name: name, Set: set})
		for _, e := range r.Extras {
			roots = append(roots, resolve.Dependency{Name: name + "[" + e + "]", Set: set})
		}
	}

	upgrade := map[string]bool{}
	for _, n := range req.UpgradePackages {
		upgrade[pep508.NormalizeName(n)] = true
	}
	opts := resolve.Options{Upgrade: req.Upgrade}
	for n := range upgrade {
		opts.UpgradePackages = append(opts.UpgradePackages, n)
	}
	sort.Strings(opts.UpgradePackages)
	if !req.Upgrade {
		for _, e := range req.Existing {
			if e.Source != "" && e.Source != lockfile.SourcePyPI {
				continue
			}
			v, err := pep440.Parse(e.Version)
			if err != nil || upgrade[pep508.NormalizeName(e.Name)] {
				continue
			}
			p.preferred[pep508.NormalizeName(e.Name)] = v
		}
		opts.Preferred = p.preferred
	}

	solution, err := resolve.Resolve(ctx, p, roots, opts)
	var ns *resolve.NoSolutionError
	if errors.As(err, &ns) {
		hints := ""
		for _, h := range p.hintsFor(ns.Explanation) {
			hints += "\nhint: " + h
		}
		return nil, failure.User(fmt.Errorf("no set of packages for %s satisfies the requirements:\n%w%s", t, err, hints))
	}
	if err != nil {
		return nil, err
	}
	pkgs, err := p.packages(ctx, solution, requested, req.Log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(req.Log, "locked %d packages for %s in %v\n", len(pkgs), t, time.Since(start).Round(time.Millisecond))
	return pkgs, nil
}

// packages turns a solution into lock entries: virtual "name[extra]"
// packages fold into their project, whose depends gain the extra's.
func (p *provider) packages(ctx context.Context, solution []resolve.Package, requested map[string]bool, log io.Writer) ([]lockfile.Package, error) {
	depends := map[string]map[string]bool{}
	versions := map[string]pep440.Version{}
	var names []string
	for _, s := range solution {
		base, _ := splitExtra(s.Name)
		if depends[base] == nil {
			depends[base] = map[string]bool{}
		}
		for _, d := range s.Depends {
			db, _ := splitExtra(d)
			if db != base {
				depends[base][db] = true
			}
		}
		if base == s.Name {
			versions[base] = s.Version
			names = append(names, base)
		}
	}
	sort.Strings(names)
	out := make([]lockfile.Package, 0, len(names))
	for _, name := range names {
		v := versions[name]
		var deps []string
		for d := range depends[name] {
			deps = append(deps, d)
		}
		sort.Strings(deps)
		if deps == nil {
			deps = []string{}
		}
		pkg := lockfile.Package{Name: name, Version: v.String(), Source: lockfile.SourcePyPI, Depends: deps, Requested: requested[name]}
		if d, ok := p.direct[name]; ok {
			pkg.Kind, pkg.URL, pkg.Filename, pkg.Sha256, pkg.Size = lockfile.KindWheel, d.url, d.filename, d.sha256, d.size
			out = append(out, pkg)
			continue
		}
		r, err := p.release(ctx, name, v)
		if err != nil {
			return nil, err
		}
		f := r.file
		pkg.Kind, pkg.URL, pkg.Filename, pkg.Size, pkg.Index = r.kind, stripCredentials(f.URL), f.Filename, f.Size, f.Index
		pkg.Sha256 = strings.ToLower(f.Hashes["sha256"])
		if pkg.Sha256 == "" {
			fmt.Fprintf(log, "%s: the index gives no sha256; downloading it to hash it\n", f.Filename)
			sum, size, err := p.src.Download(ctx, f.URL, io.Discard)
			if err != nil {
				return nil, fmt.Errorf("hashing %s: %w", f.Filename, err)
			}
			pkg.Sha256, pkg.Size = sum, size
		}
		if !lockfile.IsSha256(pkg.Sha256) {
			return nil, failure.Infra(fmt.Errorf("the index gives %s the sha256 %s, which is not 64 hex digits", f.Filename, failure.Quote(pkg.Sha256)))
		}
		out = append(out, pkg)
	}
	return out, nil
}

// stripCredentials removes user:password@ from a URL.
func stripCredentials(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	u.User = nil
	return u.String()
}
