package resolve

import (
	"fmt"
	"strings"
)

// The explanation of a failure walks the derivation graph of the final
// incompatibility, as the PubGrub paper describes: each learned
// incompatibility becomes a sentence "Because X and Y, Z.", sentences that
// are reused get a number "(1)" and are referred to by it, and chains of
// single-use derivations collapse into "And because …" lines.

type reportLine struct {
	text string
	num  int
}

type reporter[V any, S VersionSet[V, S]] struct {
	s     *solver[V, S]
	uses  map[*incompat[V, S]]int
	nums  map[*incompat[V, S]]int
	lines []reportLine
}

func (s *solver[V, S]) explainFailure(ic *incompat[V, S]) string {
	r := &reporter[V, S]{s: s, uses: map[*incompat[V, S]]int{}, nums: map[*incompat[V, S]]int{}}
	if !ic.derived() {
		return "Because " + r.describe(ic) + ", the requirements cannot be satisfied."
	}
	r.count(ic)
	r.visit(ic, false)
	width := 0
	for _, l := range r.lines {
		if l.num > 0 {
			width = len(fmt.Sprintf("(%d) ", l.num))
		}
	}
	var b strings.Builder
	for i, l := range r.lines {
		switch {
		case l.num > 0:
			p := fmt.Sprintf("(%d) ", l.num)
			b.WriteString(p + strings.Repeat(" ", width-len(p)))
		case width > 0:
			b.WriteString(strings.Repeat(" ", width))
		}
		b.WriteString(l.text)
		b.WriteString("\n")
		if l.num > 0 && i < len(r.lines)-1 {
			b.WriteString("\n")
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// count records how many learned incompatibilities use each one.
func (r *reporter[V, S]) count(ic *incompat[V, S]) {
	if !ic.derived() {
		return
	}
	for _, c := range []*incompat[V, S]{ic.left, ic.right} {
		r.uses[c]++
		if r.uses[c] == 1 {
			r.count(c)
		}
	}
}

func (r *reporter[V, S]) write(ic *incompat[V, S], text string, numbered bool) {
	if numbered {
		n := len(r.nums) + 1
		r.nums[ic] = n
		r.lines = append(r.lines, reportLine{text: text, num: n})
		return
	}
	r.lines = append(r.lines, reportLine{text: text})
}

func (r *reporter[V, S]) ref(ic *incompat[V, S]) string {
	return fmt.Sprintf("%s (%d)", r.describe(ic), r.nums[ic])
}

func (r *reporter[V, S]) visit(ic *incompat[V, S], conclusion bool) {
	numbered := conclusion || r.uses[ic] > 1
	conj := "And"
	if conclusion || r.uses[ic] == 0 {
		conj = "So,"
	}
	text := r.describe(ic)
	left, right := ic.left, ic.right
	_, leftNumbered := r.nums[left]
	_, rightNumbered := r.nums[right]
	switch {
	case left.derived() && right.derived():
		switch {
		case leftNumbered && rightNumbered:
			r.write(ic, "Because "+r.ref(left)+" and "+r.ref(right)+", "+text+".", numbered)
		case leftNumbered || rightNumbered:
			with, without := left, right
			if rightNumbered {
				with, without = right, left
			}
			r.visit(without, false)
			r.write(ic, conj+" because "+r.ref(with)+", "+text+".", numbered)
		default:
			leftSingle, rightSingle := r.singleLine(left), r.singleLine(right)
			if leftSingle || rightSingle {
				first, second := right, left
				if rightSingle {
					first, second = left, right
				}
				r.visit(first, false)
				r.visit(second, false)
				r.write(ic, "Thus, "+text+".", numbered)
			} else {
				r.visit(left, true)
				r.visit(right, false)
				r.write(ic, conj+" because "+r.ref(left)+", "+text+".", numbered)
			}
		}
	case left.derived() || right.derived():
		derived, ext := left, right
		if right.derived() {
			derived, ext = right, left
		}
		if bottom, exts := r.chain(ic); len(exts) >= 4 {
			r.visit(bottom, false)
			r.write(ic, fmt.Sprintf("%s because %s and %d similar reasons, %s.", conj, r.describe(exts[0]), len(exts)-1, text), numbered)
			return
		}
		if _, ok := r.nums[derived]; ok {
			r.write(ic, "Because "+r.describe(ext)+" and "+r.ref(derived)+", "+text+".", numbered)
		} else if r.collapsible(derived) {
			inner, innerExt := derived.left, derived.right
			if innerExt.derived() {
				inner, innerExt = innerExt, inner
			}
			r.visit(inner, false)
			r.write(ic, conj+" because "+r.both(innerExt, ext)+", "+text+".", numbered)
		} else {
			r.visit(derived, false)
			r.write(ic, conj+" because "+r.describe(ext)+", "+text+".", numbered)
		}
	default:
		r.write(ic, "Because "+r.both(left, right)+", "+text+".", numbered)
	}
}

// both joins two external causes: "you asked for a and b" when both are
// the user's requirements.
//
// Two dependencies of the same version read "a 1.0 depends on both b and
// c"; a dependency whose target depends on something else reads "a 1.0
// depends on b>=2 which depends on c<1".
func (r *reporter[V, S]) both(a, b *incompat[V, S]) string {
	if r.isRootDependency(a) && r.isRootDependency(b) {
		return "you asked for " + r.written(a.terms[1]) + " and " + r.written(b.terms[1])
	}
	if isDependency(a) && isDependency(b) {
		da, db := a.terms[0], b.terms[0]
		if da.pkg == db.pkg && da.pkg != rootName && da.set.IsSubsetOf(db.set) && db.set.IsSubsetOf(da.set) {
			return r.name(da) + " depends on both " + r.written(a.terms[1]) + " and " + r.written(b.terms[1])
		}
		for _, xy := range [][2]*incompat[V, S]{{a, b}, {b, a}} {
			x, y := xy[0], xy[1]
			if x.terms[1].pkg == y.terms[0].pkg && y.terms[0].pkg != rootName && x.terms[1].set.IsSubsetOf(y.terms[0].set) {
				return r.describe(x) + " which depends on " + r.written(y.terms[1])
			}
		}
	}
	return r.describe(a) + " and " + r.describe(b)
}

func isDependency[V any, S VersionSet[V, S]](ic *incompat[V, S]) bool {
	return ic.kind == causeDependency && len(ic.terms) == 2 && ic.terms[0].pos && !ic.terms[1].pos
}

func (r *reporter[V, S]) isRootDependency(ic *incompat[V, S]) bool {
	return ic.kind == causeDependency && len(ic.terms) == 2 && ic.terms[0].pkg == rootName && !ic.terms[1].pos
}

// chain follows, from ic, learned incompatibilities that each combine one
// external reason with one learned incompatibility about the same packages
// (as backtracking through the versions of one package produces, one
// version at a time). It returns the first incompatibility that breaks the
// pattern and the external reasons met on the way, newest first.
func (r *reporter[V, S]) chain(ic *incompat[V, S]) (*incompat[V, S], []*incompat[V, S]) {
	var exts []*incompat[V, S]
	cur := ic
	for cur.derived() && cur.left.derived() != cur.right.derived() {
		d, e := cur.left, cur.right
		if e.derived() {
			d, e = e, d
		}
		if _, numbered := r.nums[d]; numbered || r.uses[d] > 1 || !samePackages(d, ic) {
			break
		}
		exts = append(exts, e)
		cur = d
	}
	return cur, exts
}

func samePackages[V any, S VersionSet[V, S]](a, b *incompat[V, S]) bool {
	if len(a.terms) != len(b.terms) {
		return false
	}
	for _, t := range a.terms {
		found := false
		for _, u := range b.terms {
			if u.pkg == t.pkg && u.pos == t.pos {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (r *reporter[V, S]) singleLine(ic *incompat[V, S]) bool {
	return !ic.left.derived() && !ic.right.derived()
}

// collapsible: used once, and exactly one of its causes is learned and not
// yet numbered, so it can be folded into the sentence that uses it.
func (r *reporter[V, S]) collapsible(ic *incompat[V, S]) bool {
	if r.uses[ic] > 1 {
		return false
	}
	if ic.left.derived() == ic.right.derived() {
		return false
	}
	inner := ic.left
	if ic.right.derived() {
		inner = ic.right
	}
	_, numbered := r.nums[inner]
	return !numbered
}

// describe says what an incompatibility means, as a clause.
func (r *reporter[V, S]) describe(ic *incompat[V, S]) string {
	switch ic.kind {
	case causeRoot:
		return "you asked for these requirements"
	case causeNoVersions:
		if ic.reason != "" {
			return ic.reason
		}
		t := ic.terms[0]
		if t.set.IsFull() {
			return "there is no version of " + t.pkg
		}
		return "no version of " + t.pkg + " matches " + t.set.String()
	case causeUnavailable:
		return ic.reason
	case causeDependency:
		if len(ic.terms) == 2 && ic.terms[0].pos && !ic.terms[1].pos {
			dep := r.written(ic.terms[1])
			if ic.terms[0].pkg == rootName {
				return "you asked for " + dep
			}
			return r.name(ic.terms[0]) + " depends on " + dep
		}
	}
	var pos, neg []string
	for _, t := range ic.terms {
		if t.pkg == rootName {
			continue
		}
		if t.pos {
			pos = append(pos, r.name(t))
		} else {
			neg = append(neg, r.requirement(t))
		}
	}
	switch {
	case len(pos) == 0 && len(neg) == 0:
		return "the requirements cannot be satisfied"
	case len(pos) == 1 && len(neg) == 0:
		if t := ic.terms[len(ic.terms)-1]; len(r.s.cands[t.pkg]) != 1 && r.allCandidates(t.pkg, t.set) {
			return "no version of " + t.pkg + " can be used"
		}
		return pos[0] + " cannot be used"
	case len(pos) == 0 && len(neg) == 1:
		return neg[0] + " is required"
	case len(pos) == 0:
		return "one of " + joinOr(neg) + " is required"
	case len(neg) == 0 && len(pos) == 2:
		return pos[0] + " is incompatible with " + pos[1]
	case len(neg) == 0:
		return joinAnd(pos) + " cannot all be used together"
	case len(pos) == 1 && len(neg) == 1:
		return pos[0] + " requires " + neg[0]
	case len(pos) == 1:
		return pos[0] + " requires one of " + joinOr(neg)
	default:
		return "if " + joinAnd(pos) + " are used, one of " + joinOr(neg) + " is required"
	}
}

// name writes a positive term: "foo 1.0" when the set holds exactly one
// candidate, "foo" for every version, else "foo" followed by the set
// ("foo>=2, <3"), or, when the set is a union of intervals (learned sets
// often are), by the range of candidates it holds ("foo>=1.2, <=1.9").
func (r *reporter[V, S]) name(t term[V, S]) string {
	if v, ok := r.onlyCandidate(t); ok {
		return t.pkg + " " + r.s.alg.str(v)
	}
	if !t.set.IsFull() && !r.allCandidates(t.pkg, t.set) {
		if rng, ok := r.candidateRange(t.pkg, t.set); ok {
			return rng
		}
	}
	return r.setText(t)
}

// requirement writes the set of a negative term as a requirement: "foo"
// or "foo>=2, <3" (or a candidate range, as name does).
func (r *reporter[V, S]) requirement(t term[V, S]) string {
	return r.setText(t)
}

// written is a requirement exactly as it was given: dependencies and the
// user's requirements are quoted, not simplified.
func (r *reporter[V, S]) written(t term[V, S]) string {
	if t.set.IsFull() {
		return t.pkg
	}
	return t.pkg + t.set.String()
}

func (r *reporter[V, S]) setText(t term[V, S]) string {
	if t.set.IsFull() {
		return t.pkg
	}
	text := t.set.String()
	if strings.Contains(text, " | ") {
		if rng, ok := r.candidateRange(t.pkg, t.set); ok {
			return rng
		}
	}
	return t.pkg + text
}

// candidateRange writes the candidates of pkg inside set as one range,
// when they are contiguous in the candidate list.
func (r *reporter[V, S]) candidateRange(pkg string, set S) (string, bool) {
	sorted := r.s.sortedCandidates(pkg)
	lo, hi := -1, -1
	for i, v := range sorted {
		if set.Contains(v) {
			if lo < 0 {
				lo = i
			} else if hi != i-1 {
				return "", false
			}
			hi = i
		}
	}
	str := r.s.alg.str
	switch {
	case lo < 0:
		return "", false
	case lo == 0 && hi == len(sorted)-1:
		return pkg, true
	case lo == hi:
		return pkg + "==" + str(sorted[lo]), true
	case lo == 0:
		return pkg + "<=" + str(sorted[hi]), true
	case hi == len(sorted)-1:
		return pkg + ">=" + str(sorted[lo]), true
	default:
		return pkg + ">=" + str(sorted[lo]) + ", <=" + str(sorted[hi]), true
	}
}

// allCandidates reports whether set holds every candidate of pkg (and
// there is more than one).
func (r *reporter[V, S]) allCandidates(pkg string, set S) bool {
	if set.IsFull() {
		return true
	}
	cands := r.s.cands[pkg]
	if len(cands) < 2 {
		return false
	}
	for _, v := range cands {
		if !set.Contains(v) {
			return false
		}
	}
	return true
}

func (r *reporter[V, S]) onlyCandidate(t term[V, S]) (V, bool) {
	var only V
	n := 0
	for _, v := range r.s.cands[t.pkg] {
		if t.set.Contains(v) {
			only = v
			n++
		}
	}
	return only, n == 1
}

func joinAnd(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " and " + xs[len(xs)-1]
}

func joinOr(xs []string) string {
	if len(xs) <= 1 {
		return strings.Join(xs, "")
	}
	return strings.Join(xs[:len(xs)-1], ", ") + " or " + xs[len(xs)-1]
}
