package resolve

// VersionSet is the algebra the solver needs from a set of versions of one
// package. S is the set type itself; every method returns a new set.
type VersionSet[V any, S any] interface {
	Intersect(S) S
	Union(S) S
	Complement() S
	Contains(V) bool
	IsEmpty() bool
	IsFull() bool
	IsSubsetOf(S) bool
	IsDisjoint(S) bool
	String() string
}

// algebra supplies what a set type cannot say about itself: the set of all
// versions, the set of one version, and how a version is written.
type algebra[V any, S VersionSet[V, S]] struct {
	full     func() S
	exactly  func(V) S
	atLeast  func(V) S
	lessThan func(V) S
	less     func(a, b V) bool
	str      func(V) string
}

// term is a statement about one package: positive, "a version in set is
// selected"; negative, "no version in set is selected" (the package may
// also be absent).
type term[V any, S VersionSet[V, S]] struct {
	pkg string
	set S
	pos bool
}

func (t term[V, S]) negate() term[V, S] { return term[V, S]{pkg: t.pkg, set: t.set, pos: !t.pos} }

// empty reports whether no outcome satisfies t. A negative term always
// allows the package to be absent, so only a positive term can be empty.
func (t term[V, S]) empty() bool { return t.pos && t.set.IsEmpty() }

// everything reports whether every outcome satisfies t (a negative term
// over the empty set says nothing).
func (t term[V, S]) everything() bool { return !t.pos && t.set.IsEmpty() }

// intersect returns the outcomes allowed by both a and b (same package).
func intersect[V any, S VersionSet[V, S]](a, b term[V, S]) term[V, S] {
	switch {
	case a.pos && b.pos:
		return term[V, S]{pkg: a.pkg, set: a.set.Intersect(b.set), pos: true}
	case a.pos && !b.pos:
		return term[V, S]{pkg: a.pkg, set: a.set.Intersect(b.set.Complement()), pos: true}
	case !a.pos && b.pos:
		return term[V, S]{pkg: a.pkg, set: b.set.Intersect(a.set.Complement()), pos: true}
	default:
		return term[V, S]{pkg: a.pkg, set: a.set.Union(b.set), pos: false}
	}
}

// satisfies reports whether every outcome of a is an outcome of b.
func satisfies[V any, S VersionSet[V, S]](a, b term[V, S]) bool {
	switch {
	case a.pos && b.pos:
		return a.set.IsSubsetOf(b.set)
	case a.pos:
		return a.set.IsDisjoint(b.set)
	case b.pos:
		return false // a leaves the package out, b does not
	default:
		return b.set.IsSubsetOf(a.set)
	}
}

// disjoint reports whether a and b share no outcome.
func disjoint[V any, S VersionSet[V, S]](a, b term[V, S]) bool {
	switch {
	case a.pos && b.pos:
		return a.set.IsDisjoint(b.set)
	case a.pos:
		return a.set.IsSubsetOf(b.set)
	case b.pos:
		return b.set.IsSubsetOf(a.set)
	default:
		return false // both allow the package to be left out
	}
}

type relation int

const (
	inconclusive relation = iota
	satisfied
	contradicted
	almostSatisfied
)
