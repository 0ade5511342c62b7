package resolve

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Dep is one dependency of a version: a package and the set of its
// versions that satisfy the dependency.
type Dep[S any] struct {
	Name string
	Set  S
}

// source is what the generic solver reads; Provider is its PEP 440 form.
type source[V any, S any] interface {
	Candidates(ctx context.Context, pkg string) ([]V, error)
	Dependencies(ctx context.Context, pkg string, v V) ([]Dep[S], error)
}

// UnavailableError, returned by a provider's Dependencies, says that this
// one version cannot be used (its metadata is broken, it has no wheel for
// the target, …). The solver then treats the version as unusable and
// carries on; Reason is a full clause such as "foo 1.0 has no wheel for
// CPython 3.11.0 on linux/arm64 (glibc 2.28)" and appears as written in an
// explanation.
type UnavailableError struct {
	Reason string
}

func (e *UnavailableError) Error() string { return e.Reason }

// Picked is one package of a solution.
type Picked[V any] struct {
	Name    string
	Version V
	// Depends lists the names of the packages this version depends on,
	// sorted, without duplicates.
	Depends []string
}

// NoSolutionError says that the requirements cannot be satisfied;
// Explanation is the chain of reasons, one sentence a line.
type NoSolutionError struct {
	Explanation string
}

func (e *NoSolutionError) Error() string { return e.Explanation }

// rootName is the root package: it cannot collide with a real name.
const rootName = ""

type solver[V any, S VersionSet[V, S]] struct {
	alg       algebra[V, S]
	src       source[V, S]
	preferred map[string]V
	ps        partial[V, S]
	incs      map[string][]*incompat[V, S]
	order     []string // packages in the order they became required
	seen      map[string]bool
	cands     map[string][]V
	sorted    map[string][]V                 // candidates in ascending version order
	deps      map[string]map[string][]Dep[S] // pkg → version string → deps
	attempts  map[string]int
	fetched   map[string]bool              // pkg@version whose dependencies were prefetched
	added     map[string]bool              // pkg@version whose incompatibilities were added
	counts    map[string][2]uint64         // pkg → {generation, allowed candidates (at most 2)}
	depIncs   map[string][]*incompat[V, S] // "pkg\x00dep" → dependency incompatibilities
	rootDeps  []Dep[S]

	prefetchCandidates   func(ctx context.Context, pkg string)
	prefetchDependencies func(ctx context.Context, pkg string, v V)
	explain              func(ctx context.Context, pkg string, set S) string
}

// solve runs PubGrub from a root that depends on rootDeps.
func (s *solver[V, S]) solve(ctx context.Context) ([]Picked[V], error) {
	s.ps = partial[V, S]{pkgs: map[string]*pkgState[V, S]{}}
	s.incs = map[string][]*incompat[V, S]{}
	s.seen = map[string]bool{}
	s.cands = map[string][]V{}
	s.sorted = map[string][]V{}
	s.deps = map[string]map[string][]Dep[S]{}
	s.attempts = map[string]int{}
	s.fetched = map[string]bool{}
	s.added = map[string]bool{}
	s.counts = map[string][2]uint64{}
	s.depIncs = map[string][]*incompat[V, S]{}

	s.addIncompat(newIncompat([]term[V, S]{{pkg: rootName, set: s.alg.full(), pos: false}}, causeRoot, rootName))
	next := rootName
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.propagate(ctx, next); err != nil {
			return nil, err
		}
		pkg, done, err := s.decide(ctx)
		if err != nil {
			return nil, err
		}
		if done {
			return s.solution(), nil
		}
		next = pkg
	}
}

func (s *solver[V, S]) addIncompat(ic *incompat[V, S]) {
	for _, t := range ic.terms {
		s.incs[t.pkg] = append(s.incs[t.pkg], ic)
	}
}

func (s *solver[V, S]) derive(ctx context.Context, t term[V, S], cause *incompat[V, S]) {
	if s.ps.derive(t, cause) && !s.seen[t.pkg] {
		s.seen[t.pkg] = true
		s.order = append(s.order, t.pkg)
		if s.prefetchCandidates != nil && t.pkg != rootName {
			s.prefetchCandidates(ctx, t.pkg)
		}
	}
}

// propagate is unit propagation starting from the assignments of pkg.
func (s *solver[V, S]) propagate(ctx context.Context, pkg string) error {
	changed := []string{pkg}
	inChanged := map[string]bool{pkg: true}
	for len(changed) > 0 {
		p := changed[len(changed)-1]
		changed = changed[:len(changed)-1]
		delete(inChanged, p)
		incs := s.incs[p]
		for i := len(incs) - 1; i >= 0; i-- {
			ic := incs[i]
			rel, k := s.ps.relationOf(ic, p)
			switch rel {
			case satisfied:
				rootCause, err := s.resolveConflict(ic)
				if err != nil {
					return err
				}
				rel, k = s.ps.relationOf(rootCause, "\x00")
				if rel != almostSatisfied {
					return fmt.Errorf("resolver bug: the learned incompatibility is not almost satisfied after backtracking")
				}
				t := rootCause.terms[k]
				s.derive(ctx, t.negate(), rootCause)
				changed = changed[:0]
				clear(inChanged)
				changed = append(changed, t.pkg)
				inChanged[t.pkg] = true
				i = -1 // leave the loop over p's incompatibilities
			case almostSatisfied:
				t := ic.terms[k]
				s.derive(ctx, t.negate(), ic)
				if !inChanged[t.pkg] {
					inChanged[t.pkg] = true
					changed = append(changed, t.pkg)
				}
			}
		}
	}
	return nil
}

// resolveConflict learns from a satisfied incompatibility, backtracks, and
// returns the incompatibility that propagation should use next.
func (s *solver[V, S]) resolveConflict(ic *incompat[V, S]) (*incompat[V, S], error) {
	original := ic
	for {
		if len(ic.terms) == 0 || (len(ic.terms) == 1 && ic.terms[0].pos && ic.terms[0].pkg == rootName) {
			return nil, &NoSolutionError{Explanation: s.explainFailure(ic)}
		}
		// The satisfier: the assignment after which ic became satisfied.
		satIdx, satTerm := -1, -1
		idx := make([]int, len(ic.terms))
		for i, t := range ic.terms {
			idx[i] = s.ps.satisfierIndex(t, nil, len(s.ps.list))
			if idx[i] > satIdx {
				satIdx, satTerm = idx[i], i
			}
		}
		if satIdx < 0 {
			return nil, fmt.Errorf("resolver bug: conflict resolution on an incompatibility that is not satisfied")
		}
		sat := s.ps.list[satIdx]
		t := ic.terms[satTerm]
		prevIdx := -1
		for i, j := range idx {
			if i != satTerm && j > prevIdx {
				prevIdx = j
			}
		}
		if j := s.ps.satisfierIndex(t, &sat.term, satIdx); j > prevIdx {
			prevIdx = j
		}
		prevLevel := 1
		if prevIdx >= 0 && s.ps.list[prevIdx].level > prevLevel {
			prevLevel = s.ps.list[prevIdx].level
		}
		if sat.decision || prevLevel != sat.level {
			if ic != original {
				s.addIncompat(ic)
			}
			s.ps.backtrack(prevLevel)
			return ic, nil
		}
		terms := make([]term[V, S], 0, len(ic.terms)+len(sat.cause.terms))
		for _, x := range ic.terms {
			if x.pkg != t.pkg {
				terms = append(terms, x)
			}
		}
		for _, x := range sat.cause.terms {
			if x.pkg != t.pkg {
				terms = append(terms, x)
			}
		}
		if !satisfies(sat.term, t) {
			terms = append(terms, intersect(sat.term, t.negate()).negate())
		}
		next := newIncompat(terms, causeDerived, rootName)
		next.left, next.right = ic, sat.cause
		ic = next
	}
}

// decide picks the next package and version, or reports that every
// required package has a version.
//
// The package: among those required and undecided, one with no allowed
// candidate (its conflict is found at once), else one with exactly one
// (nothing to choose), else the first to have become required. PubGrub
// suggests the fewest candidates; counting beyond two mostly reorders
// independent packages, while the order of discovery is what uv uses, so
// that the two agree where several solutions exist.
//
// The version: the preferred one (from an existing lock) when it is still
// allowed, else the first allowed candidate in the provider's order.
func (s *solver[V, S]) decide(ctx context.Context) (string, bool, error) {
	best, bestCount := "", 3
	var bestCands []V
	for _, name := range s.order {
		st := s.ps.pkgs[name]
		if st.decided || len(st.idx) == 0 || !st.acc.pos {
			continue
		}
		if name == rootName {
			s.ps.decide(rootName, *new(V), s.alg.full())
			// Propagation visits the newest incompatibilities first:
			// adding them last to first makes packages become required
			// in the order they were written, which decides ties.
			for i := len(s.rootDeps) - 1; i >= 0; i-- {
				s.addIncompat(s.dependencyIncompat(rootName, s.alg.full(), s.rootDeps[i]))
			}
			return rootName, false, nil
		}
		cands, err := s.candidates(ctx, name)
		if err != nil {
			return "", false, err
		}
		n := 0
		if c, ok := s.counts[name]; ok && c[0] == st.gen {
			n = int(c[1])
		} else {
			for _, v := range cands {
				if st.acc.set.Contains(v) {
					n++
					if n == 2 {
						break
					}
				}
			}
			s.counts[name] = [2]uint64{st.gen, uint64(n)}
		}
		if n < bestCount {
			best, bestCount, bestCands = name, n, cands
			if n == 0 {
				break
			}
		}
	}
	if best == "" {
		return "", true, nil
	}
	st := s.ps.pkgs[best]
	allowed := st.acc.set
	var pick V
	found := false
	if pv, ok := s.preferred[best]; ok && allowed.Contains(pv) {
		for _, v := range bestCands {
			if s.alg.exactly(pv).Contains(v) {
				pick, found = v, true
				break
			}
		}
	}
	if !found {
		for _, v := range bestCands {
			if allowed.Contains(v) {
				pick, found = v, true
				break
			}
		}
	}
	if !found {
		ic := newIncompat([]term[V, S]{{pkg: best, set: allowed, pos: true}}, causeNoVersions, rootName)
		if s.explain != nil {
			ic.reason = s.explain(ctx, best, allowed)
		}
		s.addIncompat(ic)
		return best, false, nil
	}
	s.attempts[best]++
	if s.attempts[best] >= 2 && s.prefetchDependencies != nil {
		s.prefetchAhead(ctx, best, pick, allowed, bestCands)
	}
	deps, err := s.dependencies(ctx, best, pick)
	var unavailable *UnavailableError
	if errors.As(err, &unavailable) {
		ic := newIncompat([]term[V, S]{{pkg: best, set: s.span(best, pick), pos: true}}, causeUnavailable, rootName)
		ic.reason = unavailable.Reason
		s.addIncompat(ic)
		return best, false, nil
	}
	if err != nil {
		return "", false, err
	}
	exact := s.alg.exactly(pick)
	span := s.span(best, pick)
	key := best + "@" + s.alg.str(pick)
	if s.added[key] {
		// Decided before and backtracked: its incompatibilities are known.
		if s.decisionConflicts(best, pick, deps) {
			return best, false, nil
		}
		s.ps.decide(best, pick, exact)
		return best, false, nil
	}
	s.added[key] = true
	conflict := false
	for i := len(deps) - 1; i >= 0; i-- { // see the root's dependencies in decide
		d := deps[i]
		if d.Name == best {
			if !d.Set.Contains(pick) {
				ic := newIncompat([]term[V, S]{{pkg: best, set: span, pos: true}}, causeUnavailable, rootName)
				ic.reason = fmt.Sprintf("%s %s depends on itself at %s", best, s.alg.str(pick), d.Set.String())
				s.addIncompat(ic)
				conflict = true
			}
			continue
		}
		ic := s.addDependency(best, span, d)
		// Deciding would satisfy this incompatibility at once: let
		// propagation find the conflict instead.
		if len(ic.terms) == 2 && s.ps.relation(ic.terms[1]) == satisfied {
			conflict = true
		}
	}
	if !conflict {
		s.ps.decide(best, pick, exact)
	}
	return best, false, nil
}

// decisionConflicts reports whether deciding pkg v would at once satisfy
// one of its (already added) dependency incompatibilities.
func (s *solver[V, S]) decisionConflicts(pkg string, v V, deps []Dep[S]) bool {
	for _, d := range deps {
		if d.Name == pkg {
			if !d.Set.Contains(v) {
				return true
			}
			continue
		}
		if s.ps.relation(term[V, S]{pkg: d.Name, set: d.Set, pos: false}) == satisfied {
			return true
		}
	}
	return false
}

// span is the widest set of versions around v that holds no other
// candidate: the versions strictly between v's neighbours in the candidate
// list. What is true of v is true of every selectable version of the span,
// so incompatibilities about v are stated over it; that keeps learned sets
// few and whole, and lets an explanation say "a depends on b" when a has a
// single candidate, as the PubGrub paper does by merging version ranges.
func (s *solver[V, S]) span(pkg string, v V) S {
	sorted := s.sortedCandidates(pkg)
	i := sort.Search(len(sorted), func(i int) bool { return !s.alg.less(sorted[i], v) })
	out := s.alg.full()
	if i > 0 {
		prev := sorted[i-1]
		out = out.Intersect(s.alg.atLeast(prev)).Intersect(s.alg.exactly(prev).Complement())
	}
	j := i
	for j < len(sorted) && !s.alg.less(v, sorted[j]) {
		j++
	}
	if j < len(sorted) {
		out = out.Intersect(s.alg.lessThan(sorted[j]))
	}
	return out
}

// addDependency records that the versions of span of pkg depend on d. When
// other versions of pkg already depend on exactly the same set of d, the
// two incompatibilities become one over both spans, as PubGrub
// implementations merge them: fewer, wider incompatibilities make
// propagation cheaper and explanations say "a>=1.2, <=1.9 depends on b"
// once instead of once per version.
func (s *solver[V, S]) addDependency(pkg string, span S, d Dep[S]) *incompat[V, S] {
	key := pkg + "\x00" + d.Name
	for i, old := range s.depIncs[key] {
		if len(old.terms) != 2 || !old.terms[1].set.IsSubsetOf(d.Set) || !d.Set.IsSubsetOf(old.terms[1].set) {
			continue
		}
		merged := s.dependencyIncompat(pkg, old.terms[0].set.Union(span), d)
		for _, t := range old.terms {
			list := s.incs[t.pkg]
			for j := range list {
				if list[j] == old {
					list[j] = merged
				}
			}
		}
		s.depIncs[key][i] = merged
		return merged
	}
	ic := s.dependencyIncompat(pkg, span, d)
	s.addIncompat(ic)
	s.depIncs[key] = append(s.depIncs[key], ic)
	return ic
}

// sortedCandidates returns the candidates of pkg in ascending order.
func (s *solver[V, S]) sortedCandidates(pkg string) []V {
	sorted, ok := s.sorted[pkg]
	if !ok {
		sorted = append([]V(nil), s.cands[pkg]...)
		sort.SliceStable(sorted, func(i, j int) bool { return s.alg.less(sorted[i], sorted[j]) })
		s.sorted[pkg] = sorted
	}
	return sorted
}

func (s *solver[V, S]) dependencyIncompat(pkg string, set S, d Dep[S]) *incompat[V, S] {
	return newIncompat([]term[V, S]{{pkg: pkg, set: set, pos: true}, {pkg: d.Name, set: d.Set, pos: false}}, causeDependency, rootName)
}

// prefetchAhead asks the provider for the dependencies of the next
// candidates of a package that keeps being rejected (backtracking through
// many versions, as boto3 with an old botocore does).
func (s *solver[V, S]) prefetchAhead(ctx context.Context, pkg string, pick V, allowed S, cands []V) {
	// The window doubles with every rejected version, up to 100: a
	// package tried twice may be fine at its third version, one tried six
	// times is probably being walked down release by release.
	ahead := 10
	for i := 2; i < s.attempts[pkg] && ahead < 100; i++ {
		ahead *= 2
	}
	ahead = min(ahead, 100)
	n := 0
	for _, v := range cands {
		if n == ahead {
			break
		}
		if !allowed.Contains(v) || s.alg.exactly(pick).Contains(v) {
			continue
		}
		key := pkg + "@" + s.alg.str(v)
		if !s.fetched[key] {
			s.fetched[key] = true
			s.prefetchDependencies(ctx, pkg, v)
		}
		n++
	}
}

func (s *solver[V, S]) candidates(ctx context.Context, pkg string) ([]V, error) {
	if c, ok := s.cands[pkg]; ok {
		return c, nil
	}
	c, err := s.src.Candidates(ctx, pkg)
	if err != nil {
		return nil, err
	}
	s.cands[pkg] = c
	return c, nil
}

func (s *solver[V, S]) dependencies(ctx context.Context, pkg string, v V) ([]Dep[S], error) {
	key := s.alg.str(v)
	if d, ok := s.deps[pkg][key]; ok {
		return d, nil
	}
	d, err := s.src.Dependencies(ctx, pkg, v)
	if err != nil {
		return nil, err
	}
	if s.deps[pkg] == nil {
		s.deps[pkg] = map[string][]Dep[S]{}
	}
	s.deps[pkg][key] = d
	return d, nil
}

func (s *solver[V, S]) solution() []Picked[V] {
	var out []Picked[V]
	for name, st := range s.ps.pkgs {
		if name == rootName || !st.decided {
			continue
		}
		var v V
		for _, i := range st.idx {
			if a := s.ps.list[i]; a.decision {
				v = a.version
			}
		}
		seen := map[string]bool{}
		var depends []string
		for _, d := range s.deps[name][s.alg.str(v)] {
			if d.Name != name && !seen[d.Name] {
				seen[d.Name] = true
				depends = append(depends, d.Name)
			}
		}
		sort.Strings(depends)
		out = append(out, Picked[V]{Name: name, Version: v, Depends: depends})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
