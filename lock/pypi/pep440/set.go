package pep440

import (
	"fmt"
	"slices"
	"strings"
)

// Set is a set of versions: a finite union of disjoint, non-adjacent
// intervals of the PEP 440 order. It is an immutable value; the zero Set is
// empty.
//
// A Set is pure order: it says nothing about pre-releases (Exact, ranges and
// Specifiers.Set all include the pre-releases that lie inside them), so a
// resolver applies its pre-release policy by filtering candidate versions
// before asking Contains. Local versions are ordinary points of the order
// ("1.0+cpu" lies just above "1.0"), which is how "==1.0" comes to contain
// "1.0+cpu" while Exact(1.0) does not.
//
// Bounds are cuts between versions rather than versions, so every rule of
// the standard is exact: ">1.7" is the cut above every version whose release
// is 1.7, which no finite version can express. Emptiness and equality are
// decided on cuts, so an interval that only spans a gap of the integer
// segments (">1.0.post1, <1.0.post2", holding no version) is not reported
// empty; a resolver finds no candidate in it, which is equally correct.
type Set struct {
	ivs []interval
}

// interval is the set of versions strictly between two cuts.
type interval struct{ lo, hi cut }

type cutKind uint8

const (
	cutNegInf       cutKind = iota // below every version
	cutBelow                       // just below v (and below its equals)
	cutAbove                       // just above v (below anything greater)
	cutAboveRelease                // above every version with v's epoch and release
	cutPosInf                      // above every version
)

// cut is a position between versions; no version lies on a cut.
type cut struct {
	kind cutKind
	v    Version
}

func below(v Version) cut        { return cut{kind: cutBelow, v: v} }
func above(v Version) cut        { return cut{kind: cutAbove, v: v} }
func aboveRelease(v Version) cut { return cut{kind: cutAboveRelease, v: v.BaseVersion()} }

var (
	negInf = cut{kind: cutNegInf}
	posInf = cut{kind: cutPosInf}
)

// compareCuts orders two cuts.
func compareCuts(a, b cut) int {
	if a.kind == cutNegInf || b.kind == cutNegInf || a.kind == cutPosInf || b.kind == cutPosInf {
		return cmpInt(infRank(a), infRank(b))
	}
	if a.kind == cutAboveRelease || b.kind == cutAboveRelease {
		if c := cmpInt(a.v.epoch, b.v.epoch); c != 0 {
			return c
		}
		if c := compareRelease(a.v.rel(), b.v.rel()); c != 0 {
			return c
		}
		return cmpBool(a.kind == cutAboveRelease, b.kind == cutAboveRelease)
	}
	if c := a.v.Compare(b.v); c != 0 {
		return c
	}
	return cmpInt(int(a.kind), int(b.kind))
}

// infRank ranks a cut for comparisons that involve an infinite one.
func infRank(c cut) int {
	switch c.kind {
	case cutNegInf:
		return 0
	case cutPosInf:
		return 2
	}
	return 1
}

// cutBeforeVersion reports whether cut c lies below version v.
func cutBeforeVersion(c cut, v Version) bool {
	switch c.kind {
	case cutNegInf:
		return true
	case cutPosInf:
		return false
	case cutBelow:
		return c.v.Compare(v) <= 0
	case cutAbove:
		return c.v.Compare(v) < 0
	}
	if x := cmpInt(c.v.epoch, v.epoch); x != 0 {
		return x < 0
	}
	return compareRelease(c.v.rel(), v.rel()) < 0
}

// Full returns the set of every version.
func Full() Set { return Set{ivs: []interval{{negInf, posInf}}} }

// Empty returns the set of no version.
func Empty() Set { return Set{} }

// Exact returns the set holding v alone (and its other spellings, like
// "1.0.0" for "1.0"; not its local versions unless v is itself local).
func Exact(v Version) Set { return Set{ivs: []interval{{below(v), above(v)}}} }

// AtLeast returns the versions >= v (pure order).
func AtLeast(v Version) Set { return Set{ivs: []interval{{below(v), posInf}}} }

// LessThan returns the versions < v (pure order: "1.0a1" is in
// LessThan(1.0); compare the "<" specifier).
func LessThan(v Version) Set { return Set{ivs: []interval{{negInf, below(v)}}} }

// IsEmpty reports whether the set has no interval.
func (s Set) IsEmpty() bool { return len(s.ivs) == 0 }

// IsFull reports whether the set holds every version.
func (s Set) IsFull() bool {
	return len(s.ivs) == 1 && s.ivs[0].lo.kind == cutNegInf && s.ivs[0].hi.kind == cutPosInf
}

// Contains reports whether v lies in the set.
func (s Set) Contains(v Version) bool {
	// Intervals are sorted: find the first whose upper cut is above v.
	i, _ := slices.BinarySearchFunc(s.ivs, v, func(iv interval, v Version) int {
		if cutBeforeVersion(iv.hi, v) {
			return -1
		}
		return 1
	})
	return i < len(s.ivs) && cutBeforeVersion(s.ivs[i].lo, v)
}

// Equal reports whether s and o are the same set of cuts.
func (s Set) Equal(o Set) bool {
	if len(s.ivs) != len(o.ivs) {
		return false
	}
	for i := range s.ivs {
		if compareCuts(s.ivs[i].lo, o.ivs[i].lo) != 0 || compareCuts(s.ivs[i].hi, o.ivs[i].hi) != 0 {
			return false
		}
	}
	return true
}

// Complement returns every version not in s.
func (s Set) Complement() Set {
	out := make([]interval, 0, len(s.ivs)+1)
	prev := negInf
	for _, iv := range s.ivs {
		if compareCuts(prev, iv.lo) < 0 {
			out = append(out, interval{prev, iv.lo})
		}
		prev = iv.hi
	}
	if compareCuts(prev, posInf) < 0 {
		out = append(out, interval{prev, posInf})
	}
	return Set{ivs: out}
}

// Intersect returns the versions in both s and o.
func (s Set) Intersect(o Set) Set {
	var out []interval
	s.eachCommon(o, func(iv interval) bool {
		out = append(out, iv)
		return true
	})
	return Set{ivs: out}
}

// eachCommon calls f with each interval of s ∩ o in order, until f returns
// false; it reports whether f was never stopped.
func (s Set) eachCommon(o Set, f func(interval) bool) bool {
	i, j := 0, 0
	for i < len(s.ivs) && j < len(o.ivs) {
		a, b := s.ivs[i], o.ivs[j]
		lo := a.lo
		if compareCuts(b.lo, lo) > 0 {
			lo = b.lo
		}
		hi := a.hi
		if compareCuts(b.hi, hi) < 0 {
			hi = b.hi
		}
		if compareCuts(lo, hi) < 0 && !f(interval{lo, hi}) {
			return false
		}
		if compareCuts(a.hi, b.hi) < 0 {
			i++
		} else {
			j++
		}
	}
	return true
}

// Union returns the versions in s or o.
func (s Set) Union(o Set) Set {
	all := make([]interval, 0, len(s.ivs)+len(o.ivs))
	all = append(all, s.ivs...)
	all = append(all, o.ivs...)
	slices.SortFunc(all, func(a, b interval) int { return compareCuts(a.lo, b.lo) })
	var out []interval
	for _, iv := range all {
		if n := len(out); n > 0 && compareCuts(iv.lo, out[n-1].hi) <= 0 {
			if compareCuts(iv.hi, out[n-1].hi) > 0 {
				out[n-1].hi = iv.hi
			}
			continue
		}
		out = append(out, iv)
	}
	return Set{ivs: out}
}

// Difference returns the versions in s but not in o.
func (s Set) Difference(o Set) Set { return s.Intersect(o.Complement()) }

// IsSubsetOf reports whether every version of s is in o.
//
// It is s.Intersect(o).Equal(s), compared interval by interval as the
// intersection is walked, without building it (the resolver asks this
// constantly).
func (s Set) IsSubsetOf(o Set) bool {
	k := 0
	return s.eachCommon(o, func(iv interval) bool {
		if k >= len(s.ivs) || compareCuts(iv.lo, s.ivs[k].lo) != 0 || compareCuts(iv.hi, s.ivs[k].hi) != 0 {
			k = -1
			return false
		}
		k++
		return true
	}) && k == len(s.ivs)
}

// IsDisjoint reports whether s and o share no version.
func (s Set) IsDisjoint(o Set) bool {
	return s.eachCommon(o, func(interval) bool { return false })
}

// Singleton returns the version when s is Exact(v).
func (s Set) Singleton() (Version, bool) {
	if len(s.ivs) == 1 && s.ivs[0].lo.kind == cutBelow && s.ivs[0].hi.kind == cutAbove && s.ivs[0].lo.v.Compare(s.ivs[0].hi.v) == 0 {
		return s.ivs[0].lo.v, true
	}
	return Version{}, false
}

// String renders the set for people, in specifier syntax where one exists:
// "*", "==1.4.0", ">=1.2, <2.0", "==1.2.*", "!=1.5", with " | " between
// intervals. Where a bound has no specifier spelling in the standard's
// semantics (an upper bound just below a final or post release, which "<"
// would move below that release's pre-releases) it is written "<V" all the
// same: the string is for messages, not for parsing back.
func (s Set) String() string {
	if s.IsEmpty() {
		return "∅"
	}
	if s.IsFull() {
		return "*"
	}
	if c := s.Complement(); len(s.ivs) > 1 && len(c.ivs) == 1 {
		if eq, ok := c.ivs[0].equality(); ok {
			return "!" + eq[1:]
		}
	}
	parts := make([]string, len(s.ivs))
	for i, iv := range s.ivs {
		parts[i] = iv.String()
	}
	return strings.Join(parts, " | ")
}

// equality renders an interval that one == clause gives: "==V", "==V.*".
func (iv interval) equality() (string, bool) {
	if iv.lo.kind != cutBelow {
		return "", false
	}
	lo := iv.lo.v
	switch iv.hi.kind {
	case cutAbove:
		if lo.Compare(iv.hi.v) == 0 {
			return "==" + lo.String(), true
		}
	case cutBelow:
		if lo.local == nil && lo.successor().Compare(iv.hi.v) == 0 {
			return "==" + lo.String(), true
		}
		hi := iv.hi.v
		if isReleaseDev0(lo) && isReleaseDev0(hi) && lo.epoch == hi.epoch {
			r := lo.rel()
			if compareRelease(bumpLast(r), hi.rel()) == 0 {
				return "==" + Version{epoch: lo.epoch, release: r}.String() + ".*", true
			}
		}
	}
	return "", false
}

// isReleaseDev0 reports whether v is "R.dev0" with no pre, post or local.
func isReleaseDev0(v Version) bool {
	return v.hasDev && v.dev == 0 && !v.hasPost && v.preKind == preNone && v.local == nil
}

func (iv interval) String() string {
	if eq, ok := iv.equality(); ok {
		return eq
	}
	var parts []string
	switch iv.lo.kind {
	case cutBelow:
		parts = append(parts, ">="+iv.lo.v.String())
	case cutAbove:
		parts = append(parts, ">"+iv.lo.v.String())
	case cutAboveRelease:
		parts = append(parts, ">"+iv.lo.v.String())
	}
	switch iv.hi.kind {
	case cutBelow:
		hi := iv.hi.v
		switch {
		case isReleaseDev0(hi):
			// "<R" excludes R's pre-releases: exactly this cut.
			parts = append(parts, "<"+Version{epoch: hi.epoch, release: hi.release}.String())
		case hi.hasDev && hi.dev == 0 && hi.hasPost && hi.local == nil:
			// Below X.postN.dev0: everything up to X.post(N-1) and its
			// locals, or up to X when N is 0.
			p := hi
			p.hasDev, p.dev = false, 0
			if p.post == 0 {
				p.hasPost = false
			} else {
				p.post--
			}
			parts = append(parts, "<="+p.String())
		default:
			parts = append(parts, "<"+hi.String())
		}
	case cutAbove:
		parts = append(parts, "<="+iv.hi.v.String())
	case cutAboveRelease:
		// Every version of that release up to its last post-release.
		parts = append(parts, "<="+iv.hi.v.String()+".post*")
	}
	return strings.Join(parts, ", ")
}

// Set returns the versions the clause matches, pre-releases included, as a
// Set. It fails for "===" with a string that is not a version; for "===V"
// with a version it returns Exact(V), which (unlike Contains) also holds
// other spellings of V.
func (s Specifier) Set() (Set, error) {
	v := s.Version
	switch s.Op {
	case OpArbitrary:
		av, err := Parse(s.Arbitrary)
		if err != nil {
			return Set{}, fmt.Errorf("turning %q into a version range: the string after === is not a version, so only that exact string can match; use == with a version instead", s.String())
		}
		return Exact(av), nil
	case OpEqual, OpNotEqual:
		var eq Set
		switch {
		case s.Wildcard:
			r := v.rel()
			eq = Set{ivs: []interval{{below(releaseDev0(v.epoch, r)), below(releaseDev0(v.epoch, bumpLast(r)))}}}
		case v.local != nil:
			eq = Exact(v)
		default:
			eq = Set{ivs: []interval{{below(v), below(v.successor())}}}
		}
		if s.Op == OpNotEqual {
			return eq.Complement(), nil
		}
		return eq, nil
	case OpGreaterEq:
		return Set{ivs: []interval{{below(v), posInf}}}, nil
	case OpLessEq:
		return Set{ivs: []interval{{negInf, below(v.successor())}}}, nil
	case OpCompatible:
		r := v.rel()
		upper := releaseDev0(v.epoch, bumpLast(r[:len(r)-1]))
		return Set{ivs: []interval{{below(v), below(upper)}}}, nil
	case OpGreater:
		switch {
		case v.hasPost || v.hasDev:
			return Set{ivs: []interval{{below(v.successor()), posInf}}}, nil
		case v.preKind != preNone:
			next := Version{epoch: v.epoch, release: v.release, preKind: v.preKind, preNum: v.preNum + 1, hasDev: true}
			return Set{ivs: []interval{{below(next), posInf}}}, nil
		default:
			return Set{ivs: []interval{{aboveRelease(v), posInf}}}, nil
		}
	case OpLess:
		if v.IsPrerelease() {
			return Set{ivs: []interval{{negInf, below(v)}}}, nil
		}
		d := v
		d.hasDev, d.dev = true, 0
		return Set{ivs: []interval{{negInf, below(d)}}}, nil
	}
	return Set{}, fmt.Errorf("turning %q into a version range: unknown operator %q", s.String(), s.Op)
}

// Set returns the versions every clause matches (the intersection), as a
// Set; the empty specifier set gives Full. See Specifier.Set for the "==="
// caveat.
func (ss Specifiers) Set() (Set, error) {
	out := Full()
	for _, s := range ss {
		x, err := s.Set()
		if err != nil {
			return Set{}, err
		}
		out = out.Intersect(x)
	}
	return out, nil
}
