package resolve

type causeKind int

const (
	// causeRoot: the root package must be selected.
	causeRoot causeKind = iota
	// causeDependency: a version depends on a set of another package (or
	// the user asked for one, when the depender is the root).
	causeDependency
	// causeNoVersions: no usable version lies in a set.
	causeNoVersions
	// causeUnavailable: one version cannot be used, for a stated reason.
	causeUnavailable
	// causeDerived: learned from two other incompatibilities.
	causeDerived
)

// incompat is a set of terms that must not all be true at once.
type incompat[V any, S VersionSet[V, S]] struct {
	terms       []term[V, S]
	kind        causeKind
	reason      string // causeNoVersions, causeUnavailable
	left, right *incompat[V, S]
	cache       []cachedRelation // per term, see partial.relationOf
}

type cachedRelation struct {
	gen   uint64
	rel   relation
	valid bool
}

func (ic *incompat[V, S]) derived() bool { return ic.kind == causeDerived }

// newIncompat merges terms about the same package (an incompatibility is a
// conjunction, so they intersect), drops terms that every outcome
// satisfies, and, for a learned incompatibility with other terms, drops the
// root's positive term (the root is always selected), keeping the first
// appearance order of packages so that explanations are deterministic.
func newIncompat[V any, S VersionSet[V, S]](terms []term[V, S], kind causeKind, root string) *incompat[V, S] {
	merged := make([]term[V, S], 0, len(terms))
	index := make(map[string]int, len(terms))
	for _, t := range terms {
		if i, ok := index[t.pkg]; ok {
			merged[i] = intersect(merged[i], t)
			continue
		}
		index[t.pkg] = len(merged)
		merged = append(merged, t)
	}
	out := merged[:0]
	for _, t := range merged {
		if t.everything() {
			continue
		}
		out = append(out, t)
	}
	if kind == causeDerived && len(out) > 1 {
		kept := out[:0]
		for _, t := range out {
			if t.pkg == root && t.pos {
				continue
			}
			kept = append(kept, t)
		}
		out = kept
	}
	return &incompat[V, S]{terms: out, kind: kind}
}
