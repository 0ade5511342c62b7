package pep440

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// gridVersions are versions to probe sets with: every version of the
// tests plus the neighbours of every bound the specifiers create.
func gridVersions(t *testing.T) []Version {
	t.Helper()
	seen := map[string]bool{}
	var out []Version
	add := func(s string) {
		v := MustParse(s)
		if !seen[v.String()] {
			seen[v.String()] = true
			out = append(out, v)
		}
	}
	for _, s := range orderedVersions {
		add(s)
	}
	for _, tc := range specifierCases {
		add(tc.v)
	}
	for _, base := range []string{"0", "0.9", "1", "1.0.1", "1.1", "1.4.2", "1.4.5", "1.5", "1.7", "2", "2.0.1", "2.1", "2.2", "3", "1!1.0", "2!1.0"} {
		for _, suffix := range []string{"", ".dev0", ".dev1", "a1", "a1.post1", "a2.dev0", "b1", "rc1", "rc1.dev3", ".post0.dev0", ".post0", ".post1", ".post1.dev0", ".post2", ".post2+x", "+local", "+0", ".0", ".0.0.1", ".0.1.dev0"} {
			add(base + suffix)
		}
	}
	return out
}

var setSpecifiers = []string{
	"", ">1.7", "<1.7", "==1.7", "!=1.7", "==1.2.*", "!=1.2.*", "~=1.4.5a4", ">1.7a1", ">1.7.post2", "<=1.7",
	"<1.7.post2", ">=1.2,<2.0", ">1.7,<2", "===1.0", ">1.0.dev1", "<1.0.dev1", ">=1!1.0", "<2!0", "==1.0+local",
	"!=1.0+local", "~=2.2.post3", "~=1.4.2", ">2.0.post1", "<2.0a2", "==2.*,!=2.0.1", ">1,<1.0.post1", ">=0",
	"~=1.0,!=1.1.*", "==1.7.post1", "<=1.7.dev3", ">=1.7.dev3", ">1.7.dev3", "<1.7.dev3", "!=1.7.dev3",
	">1.0b1", "<1.0rc1", "==2!1.*", "<=2!0.1",
}

func TestSetAgreesWithContains(t *testing.T) {
	grid := gridVersions(t)
	specs := append([]string(nil), setSpecifiers...)
	for _, tc := range specifierCases {
		if !strings.HasPrefix(tc.spec, "===") {
			specs = append(specs, tc.spec)
		}
	}
	checked := 0
	for _, s := range specs {
		ss := MustParseSpecifiers(s)
		set, err := ss.Set()
		if err != nil {
			t.Errorf("%q.Set(): %v", s, err)
			continue
		}
		for _, v := range grid {
			want := ss.Contains(v, true)
			if ss.hasArbitrary() {
				// === compares spellings; the Set compares versions.
				want = false
				for _, sp := range ss {
					if sp.Op == OpArbitrary && MustParse(sp.Arbitrary).Equal(v) {
						want = true
					}
				}
			}
			if got := set.Contains(v); got != want {
				t.Errorf("Set of %q (%s) contains %s = %v, but the specifier says %v", s, set, v, got, want)
			}
			checked++
		}
	}
	if checked < 10000 {
		t.Fatalf("only %d (specifier, version) pairs checked", checked)
	}
}

func (ss Specifiers) hasArbitrary() bool {
	for _, s := range ss {
		if s.Op == OpArbitrary {
			return true
		}
	}
	return false
}

func TestSetArbitraryString(t *testing.T) {
	_, err := MustParseSpecifiers(">=1.0,===foobar").Set()
	if err == nil || !strings.Contains(err.Error(), `"===foobar"`) {
		t.Fatalf("Set of ===foobar: err = %v, want an error naming the clause", err)
	}
	s, err := MustParseSpecifiers("===1.0").Set()
	if err != nil || !s.Equal(Exact(MustParse("1.0"))) {
		t.Fatalf("Set of ===1.0 = %v, %v; want Exact(1.0)", s, err)
	}
}

func mustSet(t *testing.T, spec string) Set {
	t.Helper()
	s, err := MustParseSpecifiers(spec).Set()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSetAlgebraPointwise(t *testing.T) {
	grid := gridVersions(t)
	var sets []Set
	for _, s := range setSpecifiers {
		if s != "===1.0" {
			sets = append(sets, mustSet(t, s))
		}
	}
	sets = append(sets, Empty(), Full(), Exact(MustParse("1.7")), Exact(MustParse("1.0+local")), AtLeast(MustParse("1.5")), LessThan(MustParse("1.5")))
	rng := rand.New(rand.NewPCG(1, 2))
	// Random combinations make multi-interval sets.
	for range 40 {
		a, b := sets[rng.IntN(len(sets))], sets[rng.IntN(len(sets))]
		switch rng.IntN(3) {
		case 0:
			sets = append(sets, a.Union(b))
		case 1:
			sets = append(sets, a.Intersect(b).Complement())
		default:
			sets = append(sets, a.Difference(b))
		}
	}
	for i, a := range sets {
		ca := a.Complement()
		if !ca.Complement().Equal(a) {
			t.Errorf("complement twice of %s gave %s", a, ca.Complement())
		}
		if !a.Union(ca).IsFull() {
			t.Errorf("%s ∪ its complement = %s, want *", a, a.Union(ca))
		}
		if !a.Intersect(ca).IsEmpty() {
			t.Errorf("%s ∩ its complement = %s, want empty", a, a.Intersect(ca))
		}
		for _, b := range sets {
			// The walking forms agree with their definitions.
			if got, want := a.IsSubsetOf(b), a.Intersect(b).Equal(a); got != want {
				t.Errorf("%s IsSubsetOf %s = %v, want %v", a, b, got, want)
			}
			if got, want := a.IsDisjoint(b), a.Intersect(b).IsEmpty(); got != want {
				t.Errorf("%s IsDisjoint %s = %v, want %v", a, b, got, want)
			}
		}
		for _, b := range sets[i:] {
			u, x, d := a.Union(b), a.Intersect(b), a.Difference(b)
			if !u.Equal(b.Union(a)) || !x.Equal(b.Intersect(a)) {
				t.Errorf("union/intersection of %s and %s not commutative", a, b)
			}
			if !u.Complement().Equal(ca.Intersect(b.Complement())) {
				t.Errorf("De Morgan fails for %s and %s", a, b)
			}
			if x.IsSubsetOf(a) != true || !a.IsSubsetOf(u) {
				t.Errorf("subset laws fail for %s and %s", a, b)
			}
			if a.IsDisjoint(b) != x.IsEmpty() {
				t.Errorf("IsDisjoint(%s, %s) = %v but intersection %s", a, b, a.IsDisjoint(b), x)
			}
			for _, v := range grid {
				ina, inb := a.Contains(v), b.Contains(v)
				if u.Contains(v) != (ina || inb) || x.Contains(v) != (ina && inb) || d.Contains(v) != (ina && !inb) {
					t.Fatalf("pointwise laws fail for %s and %s at %s", a, b, v)
				}
				if ca.Contains(v) == ina {
					t.Fatalf("complement of %s contains %s: %v", a, v, ca.Contains(v))
				}
			}
		}
		checkCanonical(t, a)
	}
}

// checkCanonical asserts the invariant: sorted, non-empty, non-touching
// intervals.
func checkCanonical(t *testing.T, s Set) {
	t.Helper()
	for i, iv := range s.ivs {
		if compareCuts(iv.lo, iv.hi) >= 0 {
			t.Errorf("set %s has an empty interval %d", s, i)
		}
		if i > 0 && compareCuts(s.ivs[i-1].hi, iv.lo) >= 0 {
			t.Errorf("set %s has touching or overlapping intervals at %d", s, i)
		}
	}
}

func TestSetEqualityAcrossSpellings(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{">=1.0", ">=1.0.0", true},
		{"<=1.7", "<1.7.post0.dev0", true},
		{"<1.7.post2", "<=1.7.post1", true},
		{"~=1.4.2", ">=1.4.2,==1.4.*", true},
		{"~=1.4.2", ">=1.4.2,<1.5", true},
		{"==1.2.*", ">=1.2.dev0,<1.3.dev0", true},
		{">1.7a1", ">=1.7a2.dev0", true},
		{">1.7.post2", ">=1.7.post3.dev0", true},
		{">1.7.dev3", ">=1.7.dev4", true},
		{"==1.7", ">=1.7,<=1.7", true},
		{"!=1.7", "<1.7.dev0", false},
		{">1.7", ">=1.7.0.1.dev0", false},
		{">=1.0,<1.0", "<0.0.dev0,>0", true},
	}
	for _, tc := range tests {
		a, b := mustSet(t, tc.a), mustSet(t, tc.b)
		if got := a.Equal(b); got != tc.want {
			t.Errorf("Set(%q) = %s, Set(%q) = %s: Equal = %v, want %v", tc.a, a, tc.b, b, got, tc.want)
		}
	}
	if !mustSet(t, "<1.0").Union(mustSet(t, ">=1.0.dev0")).IsFull() {
		t.Errorf("<1.0 ∪ >=1.0.dev0 is not full")
	}
	if !mustSet(t, "==1.7").Union(mustSet(t, "!=1.7")).IsFull() {
		t.Errorf("==1.7 ∪ !=1.7 is not full")
	}
	if !mustSet(t, ">1.7").Union(mustSet(t, "<=1.7")).Union(mustSet(t, ">=1.7.post0.dev0,<1.7.0.1")).IsFull() {
		t.Errorf(">1.7 ∪ <=1.7 ∪ posts of 1.7 is not full")
	}
}

func TestSetString(t *testing.T) {
	tests := []struct{ spec, want, complement string }{
		{"", "*", "∅"},
		{">=1.2,<2.0", ">=1.2, <2.0", "<1.2 | >=2.0.dev0"},
		{"==1.4.0", "==1.4.0", "!=1.4.0"},
		{"==1.2.*", "==1.2.*", "!=1.2.*"},
		{"!=1.5", "!=1.5", "==1.5"},
		{">1.7", ">1.7", "<=1.7.post*"},
		{"<1.7", "<1.7", ">=1.7.dev0"},
		{"<=1.7", "<=1.7", ">=1.7.post0.dev0"},
		{"~=1.4.5a4", ">=1.4.5a4, <1.5", "<1.4.5a4 | >=1.5.dev0"},
		{">1.7.post2", ">=1.7.post3.dev0", "<=1.7.post2"},
		{"<2.0a2", "<2.0a2", ">=2.0a2"},
		{"==1.0+local", "==1.0+local", "!=1.0+local"},
		{">=1,!=1.5,<2", ">=1, <1.5 | >=1.5.post0.dev0, <2", "<1 | ==1.5 | >=2.dev0"},
	}
	for _, tc := range tests {
		s := mustSet(t, tc.spec)
		if got := s.String(); got != tc.want {
			t.Errorf("Set(%q).String() = %q, want %q", tc.spec, got, tc.want)
		}
		if got := s.Complement().String(); got != tc.complement {
			t.Errorf("Set(%q).Complement().String() = %q, want %q", tc.spec, got, tc.complement)
		}
	}
	if got := Exact(MustParse("1.0")).String(); got != "==1.0" {
		t.Errorf("Exact(1.0).String() = %q", got)
	}
	if got := Empty().String(); got != "∅" {
		t.Errorf("Empty().String() = %q", got)
	}
}

func TestSingleton(t *testing.T) {
	v, ok := Exact(MustParse("1.2.0")).Singleton()
	if !ok || v.String() != "1.2.0" {
		t.Errorf("Exact(1.2.0).Singleton() = %s, %v", v, ok)
	}
	if _, ok := mustSet(t, "==1.2").Singleton(); ok {
		t.Errorf("==1.2 (which holds 1.2+local) reported as a singleton")
	}
	if _, ok := mustSet(t, ">=1").Singleton(); ok {
		t.Errorf(">=1 reported as a singleton")
	}
}

func TestExactExcludesLocals(t *testing.T) {
	e := Exact(MustParse("1.0"))
	for _, tc := range []struct {
		v    string
		want bool
	}{{"1.0", true}, {"1.0.0", true}, {"1.0+local", false}, {"1.0.post0", false}, {"1.0rc1", false}} {
		if got := e.Contains(MustParse(tc.v)); got != tc.want {
			t.Errorf("Exact(1.0).Contains(%s) = %v, want %v", tc.v, got, tc.want)
		}
	}
	if !Exact(MustParse("1.0")).IsSubsetOf(mustSet(t, "==1.0")) {
		t.Errorf("Exact(1.0) is not a subset of ==1.0")
	}
}

// TestRandomSpecifiersAgree draws specifier sets of one to three clauses
// from every operator and a pool of tricky versions, and checks that the
// Set of each holds exactly the grid versions Contains accepts.
func TestRandomSpecifiersAgree(t *testing.T) {
	grid := gridVersions(t)
	pool := []string{"0", "1", "1.0", "1.0.0", "1.7", "1.7.0", "1.7a1", "1.7a1.post1", "1.7b2.dev3", "1.7rc1",
		"1.7.dev0", "1.7.dev3", "1.7.post0", "1.7.post2", "1.7.post2.dev1", "1.7.1", "2", "2.0a2", "1!1.0",
		"1.4.2", "1.4.5a4", "2.2.post3", "1.0.post1", "1.2.3.4"}
	locals := []string{"1.7+local", "1.0+local", "1.7.post2+x.1"}
	wild := []string{"1", "1.7", "1.0.0", "2", "1!1", "1.4"}
	ops := []Operator{OpEqual, OpNotEqual, OpLess, OpLessEq, OpGreater, OpGreaterEq, OpCompatible}
	rng := rand.New(rand.NewPCG(3, 5))
	clause := func() string {
		op := ops[rng.IntN(len(ops))]
		switch {
		case (op == OpEqual || op == OpNotEqual) && rng.IntN(3) == 0:
			return string(op) + wild[rng.IntN(len(wild))] + ".*"
		case (op == OpEqual || op == OpNotEqual) && rng.IntN(4) == 0:
			return string(op) + locals[rng.IntN(len(locals))]
		}
		for {
			v := pool[rng.IntN(len(pool))]
			if op == OpCompatible && len(MustParse(v).Release()) < 2 {
				continue
			}
			return string(op) + v
		}
	}
	for range 1500 {
		parts := []string{clause()}
		for rng.IntN(2) == 0 && len(parts) < 3 {
			parts = append(parts, clause())
		}
		spec := strings.Join(parts, ",")
		ss, err := ParseSpecifiers(spec)
		if err != nil {
			t.Fatalf("ParseSpecifiers(%q): %v", spec, err)
		}
		set, err := ss.Set()
		if err != nil {
			t.Fatalf("%q.Set(): %v", spec, err)
		}
		checkCanonical(t, set)
		for _, v := range grid {
			if got, want := set.Contains(v), ss.Contains(v, true); got != want {
				t.Fatalf("Set of %q (%s) contains %s = %v, specifier says %v", spec, set, v, got, want)
			}
		}
	}
}
