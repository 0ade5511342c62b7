package resolve

import (
	"testing"

	"github.com/envbuild/envbuild/lock/pypi/pep440"
)

func set(t *testing.T, spec string) pep440.Set {
	t.Helper()
	s, err := pep440.MustParseSpecifiers(spec).Set()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The relations between terms: a positive term is "a version in the set
// is selected", a negative one "no version in the set is selected" (the
// package may be absent).
func TestTermRelations(t *testing.T) {
	type tm = term[pep440.Version, pep440.Set]
	pos := func(spec string) tm { return tm{pkg: "a", set: set(t, spec), pos: true} }
	neg := func(spec string) tm { return tm{pkg: "a", set: set(t, spec), pos: false} }
	tests := []struct {
		name                string
		a, b                tm
		satisfies, disjoint bool
	}{
		{"pos inside pos", pos(">=2,<3"), pos(">=1"), true, false},
		{"pos overlapping pos", pos(">=2"), pos("<3"), false, false},
		{"pos apart from pos", pos("<1"), pos(">=2"), false, true},
		{"pos apart from neg", pos(">=2"), neg("<2"), true, false},
		{"pos inside neg", pos(">=2,<3"), neg(">=1"), false, true},
		{"pos overlapping neg", pos(">=2"), neg("<3"), false, false},
		{"neg never satisfies pos", neg("<2"), pos(""), false, false},
		{"neg covering pos", neg(""), pos(">=1"), false, true},
		{"neg wider than neg", neg(">=1"), neg(">=2"), true, false},
		{"neg narrower than neg", neg(">=2"), neg(">=1"), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := satisfies(tt.a, tt.b); got != tt.satisfies {
				t.Errorf("satisfies(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.satisfies)
			}
			if got := disjoint(tt.a, tt.b); got != tt.disjoint {
				t.Errorf("disjoint(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.disjoint)
			}
			// The set-algebra definitions must agree with the shortcuts.
			if got := intersect(tt.a, tt.b.negate()).empty(); got != tt.satisfies {
				t.Errorf("a ∩ ¬b empty = %v, want %v", got, tt.satisfies)
			}
			if got := intersect(tt.a, tt.b).empty(); got != tt.disjoint {
				t.Errorf("a ∩ b empty = %v, want %v", got, tt.disjoint)
			}
		})
	}
}

func TestIntersectTerms(t *testing.T) {
	type tm = term[pep440.Version, pep440.Set]
	pos := func(spec string) tm { return tm{pkg: "a", set: set(t, spec), pos: true} }
	neg := func(spec string) tm { return tm{pkg: "a", set: set(t, spec), pos: false} }
	tests := []struct {
		a, b    tm
		wantPos bool
		want    string
	}{
		{pos(">=1"), pos("<2"), true, ">=1, <2"},
		{pos(">=1"), neg(">=2"), true, ">=1, <2"},
		{neg(">=2"), pos(">=1"), true, ">=1, <2"},
		{neg(">=2"), neg("<1"), false, "<1 | >=2"},
	}
	for _, tt := range tests {
		got := intersect(tt.a, tt.b)
		if got.pos != tt.wantPos || got.set.String() != tt.want {
			t.Errorf("intersect(%v, %v) = pos %v %s, want pos %v %s", tt.a.set, tt.b.set, got.pos, got.set, tt.wantPos, tt.want)
		}
	}
}
