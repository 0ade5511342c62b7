package resolve

import (
	"context"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
)

// Dependency is one requirement of a version (or of the user): a package
// name, already normalised, and the versions that satisfy it.
type Dependency = Dep[pep440.Set]

// Package is one package of a solution.
type Package = Picked[pep440.Version]

// Provider answers the solver's questions about packages. Both methods are
// called from one goroutine and should cache their answers; a provider may
// also implement Prefetcher and Explainer.
type Provider interface {
	// Candidates lists the usable versions of pkg, best first (normally
	// newest first, after the provider's pre-release, yank and
	// compatibility filters). An unknown package has no candidates.
	Candidates(ctx context.Context, pkg string) ([]pep440.Version, error)
	// Dependencies lists the requirements of one candidate. An
	// *UnavailableError marks the version unusable with a reason; any
	// other error stops the resolution.
	Dependencies(ctx context.Context, pkg string, v pep440.Version) ([]Dependency, error)
}

// Prefetcher is an optional extension of Provider: the solver calls it, on
// its own goroutine, to say what it will probably ask next. Both methods
// must return at once and do their work in the background.
type Prefetcher interface {
	// PrefetchCandidates is called when pkg first becomes required.
	PrefetchCandidates(ctx context.Context, pkg string)
	// PrefetchDependencies is called for the next candidates of a package
	// whose versions keep being rejected.
	PrefetchDependencies(ctx context.Context, pkg string, v pep440.Version)
}

// Explainer is an optional extension of Provider: when no candidate of pkg
// lies in set, the solver asks why, to say more than "no version of pkg
// matches set". Unavailable returns a full clause ("foo 2.0 has no wheel
// for CPython 3.11.0 on linux/arm64 (glibc 2.28)", "foo requires Python
// >=3.12") or "" to keep the default.
type Explainer interface {
	Unavailable(ctx context.Context, pkg string, set pep440.Set) string
}

// Options changes which versions are tried first.
type Options struct {
	// Preferred maps a package name to a version tried before every other
	// candidate (the version of an existing lock), when it is still a
	// candidate and allowed. Default: none.
	Preferred map[string]pep440.Version
	// Upgrade ignores every preference.
	Upgrade bool
	// UpgradePackages ignores the preferences of these packages only.
	UpgradePackages []string
}

// Resolve finds, for the requirements, one version of every package they
// need, preferring the versions of opts.Preferred and otherwise the first
// candidate the provider lists. The result is sorted by name. When no
// solution exists the error is a *NoSolutionError whose Explanation says
// why; provider errors are returned as they are.
func Resolve(ctx context.Context, p Provider, requirements []Dependency, opts Options) ([]Package, error) {
	s := &solver[pep440.Version, pep440.Set]{
		alg: algebra[pep440.Version, pep440.Set]{
			full:     pep440.Full,
			exactly:  pep440.Exact,
			atLeast:  pep440.AtLeast,
			lessThan: pep440.LessThan,
			less:     pep440.Version.Less,
			str:      pep440.Version.String,
		},
		src:       p,
		preferred: preferences(opts),
		rootDeps:  requirements,
	}
	if pf, ok := p.(Prefetcher); ok {
		s.prefetchCandidates = pf.PrefetchCandidates
		s.prefetchDependencies = pf.PrefetchDependencies
	}
	if ex, ok := p.(Explainer); ok {
		s.explain = ex.Unavailable
	}
	return s.solve(ctx)
}

func preferences(opts Options) map[string]pep440.Version {
	if opts.Upgrade || len(opts.Preferred) == 0 {
		return nil
	}
	skip := map[string]bool{}
	for _, n := range opts.UpgradePackages {
		skip[n] = true
	}
	out := make(map[string]pep440.Version, len(opts.Preferred))
	for n, v := range opts.Preferred {
		if !skip[n] {
			out[n] = v
		}
	}
	return out
}
