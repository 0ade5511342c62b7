// Package lock turns a spec into a locked environment: for every target
// platform it resolves the PyPI requirements (lock/pypi) — and, once conda
// is in, the conda specs (lock/conda) — against the target read from the
// base image or given by flags (CONTRACT §2), and returns the lock file
// entry. It decides where the environment's Python comes from (CONTRACT
// §1). It never talks to BuildKit or a registry.
package lock

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/target"
)

// Target is one platform to lock for, with what is known of its base.
type Target struct {
	target.Target
	// BaseRef is the base's per-platform reference ("repo@sha256:…"), or
	// "" when locking from flags.
	BaseRef string
}

// Request is one environment to lock.
type Request struct {
	Spec    spec.Spec
	Targets []Target
	// Existing is the environment's previous lock entry, whose versions
	// are preferred.
	Existing        *lockfile.Env
	Upgrade         bool
	UpgradePackages []string
	ExcludeNewer    time.Time
	Offline         bool
	CacheDir        string
	// Env is the process environment (pip's configuration variables).
	Env map[string]string
	Log io.Writer
}

// Env locks one environment.
func Env(ctx context.Context, req Request) (*lockfile.Env, error) {
	if req.Spec.IsConda() {
		return nil, failure.User(fmt.Errorf("environment %q asks for conda packages (%s), and this envbuild cannot lock conda environments yet; use PyPI packages", req.Spec.Name, strings.Join(req.Spec.Conda.Specs, ", ")))
	}
	indexes, err := index.FromPipConfig(req.Env, req.Spec.PyPI.IndexURL, req.Spec.PyPI.ExtraIndexURLs)
	if err != nil {
		return nil, failure.User(err)
	}
	out := &lockfile.Env{Name: req.Spec.Name, SpecDigest: req.Spec.Digest()}
	for _, t := range req.Targets {
		if err := checkPython(req.Spec, t); err != nil {
			return nil, err
		}
		var existing []lockfile.Package
		if req.Existing != nil {
			if et := req.Existing.Target(t.Platform); et != nil {
				existing = et.Packages
			}
		}
		pkgs, err := pypi.Lock(ctx, pypi.Request{
			Requirements:    req.Spec.PyPI.Requirements,
			Target:          t.Target,
			Indexes:         indexes,
			CacheDir:        req.CacheDir,
			Offline:         req.Offline,
			ExcludeNewer:    req.ExcludeNewer,
			AllowSdist:      req.Spec.Options.AllowSdist,
			Existing:        existing,
			Upgrade:         req.Upgrade,
			UpgradePackages: req.UpgradePackages,
			Log:             req.Log,
		})
		if err != nil {
			return nil, err
		}
		lt := lockfile.Target{
			Platform:       t.Platform,
			Python:         t.Python,
			Implementation: t.Implementation,
			FreeThreaded:   t.FreeThreaded,
			Libc:           t.LibcString(),
			Base:           t.BaseRef,
			Packages:       pkgs,
		}
		if t.Interpreter != "" {
			lt.PythonSource = "base"
			lt.Interpreter = t.Interpreter
		}
		out.Targets = append(out.Targets, lt)
	}
	return out, nil
}

// checkPython applies CONTRACT §1 for a PyPI-only environment: its python,
// when set, must be the base's major.minor (a conda Python is not available
// yet).
func checkPython(s spec.Spec, t Target) error {
	if s.Python == "" || t.Interpreter == "" {
		return nil
	}
	want, ft, err := target.NormalizePython(s.Python)
	if err != nil {
		return failure.User(err)
	}
	wmaj, wmin := splitVersion(want)
	tmaj, tmin := t.PythonMajorMinor()
	if wmaj != tmaj || wmin != tmin || ft != t.FreeThreaded {
		return failure.User(fmt.Errorf("environment %q asks for Python %s but the base image's interpreter %s is Python %s (%s); use a base with Python %s, or drop python from the spec to use the base's (a conda Python is not supported yet)", s.Name, s.Python, t.Interpreter, t.Python, t.Platform, s.Python))
	}
	return nil
}

func splitVersion(v string) (int, int) {
	var a, b int
	fmt.Sscanf(v, "%d.%d", &a, &b)
	return a, b
}

// TargetOf reads a lock target back into a target.Target.
func TargetOf(t lockfile.Target) (target.Target, error) {
	kind, ver, err := target.ParseLibc(t.Libc)
	if err != nil {
		return target.Target{}, err
	}
	return target.Target{Platform: t.Platform, Python: t.Python, Implementation: t.Implementation, FreeThreaded: t.FreeThreaded, Libc: kind, LibcVersion: ver, Interpreter: t.Interpreter}, nil
}
