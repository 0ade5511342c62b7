// Package lock turns a spec into a locked environment: for every target
// platform it resolves the conda specs (lock/conda/envlock) and the PyPI
// requirements (lock/pypi) against the target read from the base image or
// given by flags, and returns the lock file entry. It decides
// where the environment's Python comes from: the base's
// interpreter, or a conda python package. It never talks to BuildKit or a
// registry.
package lock

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/conda/envlock"
	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/version"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/pypi/pep440"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
	"github.com/envbuild/envbuild/lock/target"
)

// Request is one environment to lock.
type Request struct {
	Spec spec.Spec
	// Targets are the platforms to lock for, with what is known of the
	// base (its reference and interpreter), when there is one.
	Targets []target.Target
	// Existing is the environment's previous lock entry, whose versions
	// are preferred.
	Existing        *lockfile.Env
	Upgrade         bool
	UpgradePackages []string
	ExcludeNewer    time.Time
	Offline         bool
	CacheDir        string
	// Cuda is the CUDA driver version of the target for conda's __cuda
	// virtual package ("12.4"); empty means CONDA_OVERRIDE_CUDA from Env,
	// and no __cuda when that is unset too.
	Cuda string
	// Env is the process environment (pip's configuration variables, and
	// CONDA_CHANNELS, CONDARC, CONDA_OVERRIDE_*, HOME for conda).
	Env map[string]string
	Log io.Writer
	// DownloadTimeout is how long any index transfer may go without a
	// byte (ENVBUILD_DOWNLOAD_TIMEOUT); IndexDeadline bounds one metadata
	// request, tries included (ENVBUILD_INDEX_TIMEOUT). Zero: the index
	// client's defaults.
	DownloadTimeout, IndexDeadline time.Duration
}

// Env locks one environment.
func Env(ctx context.Context, req Request) (*lockfile.Env, error) {
	indexes, err := index.FromPipConfig(req.Env, req.Spec.PyPI.IndexURL, req.Spec.PyPI.ExtraIndexURLs)
	if err != nil {
		return nil, failure.User(err)
	}
	if err := CheckPythonPin(req.Spec); err != nil {
		return nil, err
	}
	out := &lockfile.Env{Name: req.Spec.Name, SpecDigest: req.Spec.Digest()}
	for _, t := range req.Targets {
		var existing []lockfile.Package
		if req.Existing != nil && !req.Upgrade {
			if et := req.Existing.Target(t.Platform); et != nil {
				existing = et.Packages
			}
		}
		src, err := PythonSource(req.Spec, t)
		if err != nil {
			return nil, err
		}
		var lt lockfile.Target
		if req.Spec.Resolved != nil {
			if src == lockfile.PythonFromConda {
				return nil, failure.User(fmt.Errorf("environment %q: %s pins PyPI packages for a Python from the base image, but this environment's Python comes from conda (conda specs, or a python other than the base's %s): drop the conda part or --python", req.Spec.Name, req.Spec.Resolved.Source, t.Python))
			}
			lt, err = lockResolved(req, t)
		} else if src == lockfile.PythonFromConda {
			lt, err = lockConda(ctx, req, t, indexes, existing)
		} else {
			lt, err = lockPyPI(ctx, req, t, indexes, existing)
		}
		if err != nil {
			return nil, err
		}
		if err := checkRequiresPython(req.Spec, lt); err != nil {
			return nil, err
		}
		if err := CheckHashes(req.Spec, lt); err != nil {
			return nil, err
		}
		out.Targets = append(out.Targets, lt)
	}
	return out, nil
}

// PythonSource applies docs/reference.md to one target: "conda" when the
// environment has conda specs or asks for another Python than the base's
// interpreter (another major.minor, or free-threaded or not); "base" when
// the base's interpreter serves; "" when there is no base interpreter to
// compare with (a lock from flags, whose target Python is the spec's).
func PythonSource(s spec.Spec, t target.Target) (lockfile.PythonSource, error) {
	if s.IsConda() {
		return lockfile.PythonFromConda, nil
	}
	if t.Interpreter == "" {
		return "", nil
	}
	if s.Python == "" {
		return lockfile.PythonFromBase, nil
	}
	want, ft, err := target.NormalizePython(s.Python)
	if err != nil {
		return "", failure.User(fmt.Errorf("environment %q: %w", s.Name, err))
	}
	wmaj, wmin := splitVersion(want)
	tmaj, tmin := t.PythonMajorMinor()
	if wmaj != tmaj || wmin != tmin || ft != t.FreeThreaded {
		return lockfile.PythonFromConda, nil
	}
	return lockfile.PythonFromBase, nil
}

// The lockers, replaced by fakes in tests.
var (
	condaLocker = envlock.Lock
	pypiLocker  = pypi.Lock
)

// lockPyPI locks a PyPI-only environment on the base's interpreter (or on
// the target given by flags).
func lockPyPI(ctx context.Context, req Request, t target.Target, indexes []index.Index, existing []lockfile.Package) (lockfile.Target, error) {
	pkgs, err := pypiLocker(ctx, pypiRequest(req, t, req.Spec.PyPI.Requirements, indexes, existing))
	if err != nil {
		return lockfile.Target{}, err
	}
	return pypiTarget(t, pkgs), nil
}

// pypiTarget is the lock target of PyPI packages pkgs for t: on the base's
// interpreter when t has one.
func pypiTarget(t target.Target, pkgs []lockfile.Package) lockfile.Target {
	lt := lockfile.Target{Target: t, Packages: pkgs}
	if t.Interpreter != "" {
		lt.PythonSource = lockfile.PythonFromBase
	}
	return lt
}

func pypiRequest(req Request, t target.Target, reqs []string, indexes []index.Index, existing []lockfile.Package) pypi.Request {
	var prev []lockfile.Package
	for _, p := range existing {
		if p.Source == lockfile.SourcePyPI {
			prev = append(prev, p)
		}
	}
	return pypi.Request{
		Requirements:    reqs,
		Constraints:     req.Spec.PyPI.Constraints,
		Target:          t,
		Indexes:         indexes,
		CacheDir:        req.CacheDir,
		Offline:         req.Offline,
		ExcludeNewer:    req.ExcludeNewer,
		AllowSdist:      req.Spec.Options.AllowSdist,
		Existing:        prev,
		Upgrade:         req.Upgrade,
		UpgradePackages: req.UpgradePackages,
		Log:             req.Log,
		Timeout:         req.DownloadTimeout,
		Deadline:        req.IndexDeadline,
	}
}

// lockConda locks an environment whose Python is a conda package: the
// conda specs (with python added when no spec names it: the spec's
// python, else the target's major.minor), then the PyPI requirements
// against the conda Python, leaving out what a conda package provides.
func lockConda(ctx context.Context, req Request, t target.Target, indexes []index.Index, existing []lockfile.Package) (lockfile.Target, error) {
	s := req.Spec
	specs := append([]string(nil), s.Conda.Specs...)
	if namesPython(specs) && s.Python != "" {
		specs = narrowPythonPin(specs, s.Python)
	}
	if !namesPython(specs) {
		ps := "python"
		switch {
		case s.Python != "":
			var err error
			if ps, err = envlock.PythonSpec(s.Python); err != nil {
				return lockfile.Target{}, failure.User(fmt.Errorf("environment %q: %w", s.Name, err))
			}
		case t.Python != "":
			ps = "python " + t.PythonShort() + ".*"
			if t.FreeThreaded {
				ps, _ = envlock.PythonSpec(t.PythonShort())
			}
		}
		specs = append(specs, ps)
	}
	var prev []lockfile.Package
	for _, p := range existing {
		if p.Source == lockfile.SourceConda && !upgrading(req, p.Name) {
			prev = append(prev, p)
		}
	}
	condaPkgs, err := condaLocker(ctx, envlock.Request{
		Specs:    specs,
		Channels: s.Conda.Channels,
		Target:   t,
		CacheDir: condaCache(req.CacheDir),
		Offline:  req.Offline,
		Existing: prev,
		Env:      req.Env,
		Cuda:     req.Cuda,
		Fetch:    condaFetchOptions(req),
	})
	if err != nil {
		if !s.IsConda() && t.Interpreter != "" {
			// docs/reference.md: a PyPI-only environment gets a conda Python
			// when the base's is another version; say why conda is asked.
			return lockfile.Target{}, fmt.Errorf("environment %q asks for Python %s, and the base's interpreter %s is Python %s (%s), so its Python comes from conda: %w", s.Name, s.Python, t.Interpreter, t.Python, t.Platform, err)
		}
		return lockfile.Target{}, err
	}
	var py *lockfile.Package
	for i := range condaPkgs {
		if condaPkgs[i].Name == "python" {
			py = &condaPkgs[i]
		}
	}
	if py == nil {
		return lockfile.Target{}, failure.User(fmt.Errorf("environment %q: the conda solution has no python package", s.Name))
	}
	if req.Log != nil {
		fmt.Fprintf(req.Log, "locked %d conda packages for %s: Python %s %s from conda\n", len(condaPkgs), t.Platform, py.Version, py.Build)
	}
	// The conda Python replaces the base's: the target's Python is the
	// one conda chose, and there is no base interpreter.
	lt := lockfile.Target{Target: t, PythonSource: lockfile.PythonFromConda, Packages: condaPkgs}
	lt.Python, lt.Implementation, lt.FreeThreaded, lt.Interpreter = py.Version, target.DefaultImplementer, envlock.IsFreeThreaded(py.Build), ""
	if len(s.PyPI.Requirements) == 0 {
		return lt, nil
	}
	pypiPkgs, err := lockPyPIOnConda(ctx, req, lt.Target, indexes, existing, condaPkgs)
	if err != nil {
		return lockfile.Target{}, err
	}
	lt.Packages = append(lt.Packages, pypiPkgs...)
	sort.Slice(lt.Packages, func(i, j int) bool {
		if lt.Packages[i].Name != lt.Packages[j].Name {
			return lt.Packages[i].Name < lt.Packages[j].Name
		}
		return lt.Packages[i].Source < lt.Packages[j].Source
	})
	return lt, nil
}

func upgrading(req Request, name string) bool {
	if req.Upgrade {
		return true
	}
	for _, n := range req.UpgradePackages {
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}

func condaCache(dir string) string {
	if dir == "" {
		return ""
	}
	return filepath.Join(dir, "conda")
}

// CondaPythonPin is the conda spec that names python ("python=3.11",
// "python>=3.10,<3.12"), or "" when none does. Such a pin is the
// environment's Python: the conda solve picks the version, and the PyPI
// packages are locked for that version.
func CondaPythonPin(s spec.Spec) string {
	for _, sp := range s.Conda.Specs {
		if namesPython([]string{sp}) {
			return strings.TrimSpace(sp)
		}
	}
	return ""
}

// CheckPythonPin refuses an environment whose python (--python, python =
// in envbuild.toml, @conda(python=…)) no release allowed by its conda
// python pin can satisfy: the two would silently disagree otherwise.
func CheckPythonPin(s spec.Spec) error {
	pin := CondaPythonPin(s)
	if pin == "" || s.Python == "" {
		return nil
	}
	full, ft, err := target.NormalizePython(s.Python)
	if err != nil {
		return failure.User(fmt.Errorf("environment %q: %w", s.Name, err))
	}
	conflict := func() error {
		return failure.User(fmt.Errorf("environment %q asks for Python %s, but its conda spec %q allows no Python %s: drop one of them (the conda pin alone is enough) or make them agree", s.Name, s.Python, pin, s.Python))
	}
	written := strings.TrimSpace(pin)
	pinFT := strings.HasSuffix(written, "t")
	if pinFT {
		written = strings.TrimSuffix(written, "t")
	}
	m, err := matchspec.Parse(written)
	if err != nil {
		return nil // the conda solve reports an unreadable spec, with its text
	}
	if pinFT != ft {
		return conflict()
	}
	// "3.11" asks for any 3.11.Z: it agrees with the pin when one such
	// release matches it.
	candidates := []string{full}
	if strings.Count(strings.TrimSuffix(strings.TrimSpace(s.Python), "t"), ".") == 1 {
		maj, min := splitVersion(full)
		candidates = candidates[:0]
		for z := 0; z < 100; z++ {
			candidates = append(candidates, fmt.Sprintf("%d.%d.%d", maj, min, z))
		}
	}
	for _, v := range candidates {
		pv, err := version.Parse(v)
		if err == nil && (m.Version.IsAny() || m.Version.Match(pv)) {
			return nil
		}
	}
	return conflict()
}

// narrowPythonPin adds python (X.Y or X.Y.Z) to the conda spec that pins
// python, so that the solve picks a release both allow
// ("python>=3.10" and 3.11 make "python >=3.10,3.11.*"); CheckPythonPin
// has made sure one can exist. A pin with a build, a subdir or bracket
// fields, or a free-threaded one, is left as written.
func narrowPythonPin(specs []string, python string) []string {
	want, err := envlock.PythonSpec(python)
	if err != nil || strings.HasSuffix(strings.TrimSpace(python), "t") {
		return specs
	}
	glob := strings.TrimPrefix(want, "python ")
	out := append([]string(nil), specs...)
	for i, sp := range out {
		if !namesPython([]string{sp}) {
			continue
		}
		m, err := matchspec.Parse(strings.TrimSpace(sp))
		if err != nil || m.Build != "" || m.Subdir != "" || m.BuildNumber != nil || m.MD5 != "" || m.SHA256 != "" || m.Fn != "" || m.URL != "" || m.License != "" || len(m.TrackFeatures) > 0 || len(m.Features) > 0 {
			return specs
		}
		v := glob
		if strings.Contains(m.Version.String(), "|") {
			return specs // "," binds tighter than "|": left as written
		}
		if !m.Version.IsAny() {
			v = m.Version.String() + "," + glob
		}
		prefix := ""
		if m.Channel != "" {
			prefix = m.Channel + "::"
		}
		out[i] = prefix + "python " + v
	}
	return out
}

// namesPython reports whether a conda spec names python (including
// Metaflow's "python=3.13t", which matchspec alone does not read).
func namesPython(specs []string) bool {
	for _, sp := range specs {
		sp = strings.TrimSpace(sp)
		if m, err := matchspec.Parse(sp); err == nil && m.Name == "python" {
			return true
		}
		if rest, ok := strings.CutPrefix(sp, "python"); ok && strings.HasSuffix(rest, "t") && rest != "" && strings.ContainsAny(rest[:1], "= ") {
			return true
		}
	}
	return false
}

// condaDists are the conda packages that install a Python distribution of
// the same (normalised) name: those that need python (noarch: python, or
// built for one), python itself excepted. A conda package's name is
// usually its distribution's (numpy, requests, pyyaml); those whose names
// differ (pytorch and torch) are not recognised.
func condaDists(pkgs []lockfile.Package) map[string]lockfile.Package {
	out := map[string]lockfile.Package{}
	for _, p := range pkgs {
		if p.Name == "python" {
			continue
		}
		needsPython := p.Noarch == "python"
		for _, d := range p.Depends {
			if d == "python" {
				needsPython = true
			}
		}
		if needsPython {
			out[pep508.NormalizeName(p.Name)] = p
		}
	}
	return out
}

// lockPyPIOnConda locks the PyPI requirements for the conda Python. What
// a conda package already installs is not locked again: a requirement
// naming it is checked against the conda version and dropped (kept, for
// its extras' dependencies, when it names extras); a dependency of the
// PyPI packages is pinned to the conda version, so that the rest of the
// resolution agrees with it, and left out of the result.
func lockPyPIOnConda(ctx context.Context, req Request, t target.Target, indexes []index.Index, existing []lockfile.Package, conda []lockfile.Package) ([]lockfile.Package, error) {
	dists := condaDists(conda)
	markerEnv, err := pep508.EnvironmentFor(t.Python, t.Implementation, t.Machine())
	if err != nil {
		return nil, failure.User(fmt.Errorf("locking PyPI requirements for %s: %w", t, err))
	}
	var reqs []string
	for _, r := range req.Spec.PyPI.Requirements {
		pr, err := pep508.ParseRequirement(r)
		if err != nil {
			reqs = append(reqs, r) // pypi.Lock reports it, with its position
			continue
		}
		cp, ok := dists[pr.NormalizedName()]
		if !ok || !pr.Marker.Evaluate(markerEnv, nil) {
			reqs = append(reqs, r)
			continue
		}
		if pr.URL != "" {
			return nil, failure.User(fmt.Errorf("PyPI requirement %q names %s, which conda package %s %s already installs; drop one of them", r, pr.Name, cp.Name, cp.Version))
		}
		v, err := pep440.Parse(cp.Version)
		if err != nil || !pr.Specifiers.Contains(v, true) {
			return nil, failure.User(fmt.Errorf("PyPI requirement %q is not satisfied by conda package %s %s, which installs the same distribution; change the requirement or the conda spec", r, cp.Name, cp.Version))
		}
		if len(pr.Extras) > 0 {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) == 0 {
		return nil, nil
	}
	// Each round that locks again adds a pin, so there are at most as many
	// rounds as conda packages with a distribution.
	pins := map[string]string{}
	for {
		all := append([]string(nil), reqs...)
		for _, n := range sortedKeys(pins) {
			all = append(all, n+"=="+pins[n])
		}
		pkgs, err := pypiLocker(ctx, pypiRequest(req, t, all, indexes, existing))
		if err != nil {
			if len(pins) > 0 {
				return nil, fmt.Errorf("locking the PyPI requirements with %s pinned to the versions conda installs: %w", pinList(pins), err)
			}
			return nil, err
		}
		var kept []lockfile.Package
		again := false
		for _, p := range pkgs {
			cp, ok := dists[pep508.NormalizeName(p.Name)]
			if !ok {
				kept = append(kept, p)
				continue
			}
			if _, pinned := pins[cp.Name]; !pinned {
				pins[cp.Name] = cp.Version
				if p.Version != cp.Version {
					again = true
				}
			}
		}
		if !again {
			return kept, nil
		}
	}
}

func pinList(pins map[string]string) string {
	var s []string
	for _, n := range sortedKeys(pins) {
		s = append(s, n+" "+pins[n])
	}
	return strings.Join(s, ", ")
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func splitVersion(v string) (int, int) {
	var a, b int
	fmt.Sscanf(v, "%d.%d", &a, &b)
	return a, b
}

// condaFetchOptions applies the download inactivity timeout to repodata,
// and logs the fetcher's retries where the index client logs its own.
func condaFetchOptions(req Request) []repodata.Option {
	var opts []repodata.Option
	if req.DownloadTimeout > 0 {
		opts = append(opts, repodata.WithTimeout(req.DownloadTimeout))
	}
	if req.Log != nil {
		opts = append(opts, repodata.WithLog(func(format string, args ...any) { fmt.Fprintf(req.Log, format+"\n", args...) }))
	}
	return opts
}
