package resolve

// assignment is one entry of the partial solution: a decision (a version
// picked) or a derivation (a term implied by an incompatibility).
type assignment[V any, S VersionSet[V, S]] struct {
	term     term[V, S]
	level    int
	cause    *incompat[V, S] // nil for a decision
	decision bool
	version  V // for a decision
}

// pkgState is what the partial solution knows about one package.
type pkgState[V any, S VersionSet[V, S]] struct {
	idx     []int      // indices of its assignments, in order
	acc     term[V, S] // the intersection of their terms; valid when len(idx) > 0
	decided bool
	gen     uint64 // changes whenever acc changes; never reused
}

// partial is the partial solution: an ordered list of assignments with
// their decision levels, and per-package summaries.
type partial[V any, S VersionSet[V, S]] struct {
	list  []assignment[V, S]
	pkgs  map[string]*pkgState[V, S]
	level int
	gen   uint64
}

func (ps *partial[V, S]) state(pkg string) *pkgState[V, S] {
	st := ps.pkgs[pkg]
	if st == nil {
		st = &pkgState[V, S]{}
		ps.pkgs[pkg] = st
	}
	return st
}

// add appends an assignment and reports whether the package's summary went
// from unknown or negative to positive (it has become required).
func (ps *partial[V, S]) add(a assignment[V, S]) (newlyRequired bool) {
	st := ps.state(a.term.pkg)
	wasPositive := len(st.idx) > 0 && st.acc.pos
	st.idx = append(st.idx, len(ps.list))
	if len(st.idx) == 1 {
		st.acc = a.term
	} else {
		st.acc = intersect(st.acc, a.term)
	}
	if a.decision {
		st.decided = true
	}
	ps.gen++
	st.gen = ps.gen
	ps.list = append(ps.list, a)
	return !wasPositive && st.acc.pos
}

func (ps *partial[V, S]) decide(pkg string, v V, set S) {
	ps.level++
	ps.add(assignment[V, S]{term: term[V, S]{pkg: pkg, set: set, pos: true}, level: ps.level, decision: true, version: v})
}

func (ps *partial[V, S]) derive(t term[V, S], cause *incompat[V, S]) bool {
	return ps.add(assignment[V, S]{term: t, level: ps.level, cause: cause})
}

// backtrack removes every assignment above level.
func (ps *partial[V, S]) backtrack(level int) {
	cut := len(ps.list)
	for cut > 0 && ps.list[cut-1].level > level {
		cut--
	}
	touched := map[string]bool{}
	var order []string
	for _, a := range ps.list[cut:] {
		if !touched[a.term.pkg] {
			touched[a.term.pkg] = true
			order = append(order, a.term.pkg)
		}
	}
	ps.list = ps.list[:cut]
	ps.level = level
	for _, pkg := range order {
		st := ps.pkgs[pkg]
		keep := st.idx[:0]
		for _, i := range st.idx {
			if i < cut {
				keep = append(keep, i)
			}
		}
		st.idx = keep
		st.decided = false
		ps.gen++
		st.gen = ps.gen
		for n, i := range st.idx {
			a := ps.list[i]
			if a.decision {
				st.decided = true
			}
			if n == 0 {
				st.acc = a.term
			} else {
				st.acc = intersect(st.acc, a.term)
			}
		}
	}
}

// relation of one term with what the partial solution says about its package.
func (ps *partial[V, S]) relation(t term[V, S]) relation {
	st := ps.pkgs[t.pkg]
	if st == nil || len(st.idx) == 0 {
		if t.everything() {
			return satisfied
		}
		return inconclusive
	}
	if satisfies(st.acc, t) {
		return satisfied
	}
	if disjoint(st.acc, t) {
		return contradicted
	}
	return inconclusive
}

// relationOf an incompatibility: satisfied, contradicted, almost satisfied
// (all terms but one satisfied; that one is returned), or inconclusive.
// Terms about other packages than focus are looked at first, through a
// cache keyed by their package's generation: during propagation of focus
// they have not changed, and one contradicted term settles the answer
// without any set arithmetic.
func (ps *partial[V, S]) relationOf(ic *incompat[V, S], focus string) (relation, int) {
	if ic.cache == nil {
		ic.cache = make([]cachedRelation, len(ic.terms))
	}
	unsatisfied := -1
	check := func(i int) (relation, bool) {
		t := ic.terms[i]
		var gen uint64
		if st := ps.pkgs[t.pkg]; st != nil {
			gen = st.gen
		}
		c := &ic.cache[i]
		if !c.valid || c.gen != gen {
			c.rel, c.gen, c.valid = ps.relation(t), gen, true
		}
		switch c.rel {
		case contradicted:
			return contradicted, true
		case inconclusive:
			if unsatisfied >= 0 {
				return inconclusive, true
			}
			unsatisfied = i
		}
		return 0, false
	}
	for i, t := range ic.terms {
		if t.pkg != focus {
			if r, done := check(i); done {
				return r, -1
			}
		}
	}
	for i, t := range ic.terms {
		if t.pkg == focus {
			if r, done := check(i); done {
				return r, -1
			}
		}
	}
	if unsatisfied >= 0 {
		return almostSatisfied, unsatisfied
	}
	return satisfied, -1
}

// satisfierIndex is the index of the earliest assignment after which the
// partial solution satisfies t (-1 if it never does). With extra set, that
// term is intersected in as well and only assignments before limit count.
func (ps *partial[V, S]) satisfierIndex(t term[V, S], extra *term[V, S], limit int) int {
	st := ps.pkgs[t.pkg]
	if st == nil {
		return -1
	}
	var acc term[V, S]
	if extra != nil {
		if satisfies(*extra, t) {
			return -1
		}
	}
	for n, i := range st.idx {
		if i >= limit {
			break
		}
		if n == 0 {
			acc = ps.list[i].term
		} else {
			acc = intersect(acc, ps.list[i].term)
		}
		check := acc
		if extra != nil {
			check = intersect(acc, *extra)
		}
		if satisfies(check, t) {
			return i
		}
	}
	return -1
}
