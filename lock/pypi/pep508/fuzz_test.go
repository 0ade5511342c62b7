package pep508

import (
	"strings"
	"testing"
)

// A marker nested far deeper than any real one is an error, not a stack
// overflow (a million levels used to crash with 1 GB of stack).
func TestDeepMarkerIsAnError(t *testing.T) {
	for _, n := range []int{MaxNesting + 1, 1_000_000} {
		m := strings.Repeat("(", n) + `python_version >= "3"` + strings.Repeat(")", n)
		if _, err := ParseMarker(m); err == nil || !strings.Contains(err.Error(), "nested more than") {
			t.Errorf("%d levels: %v", n, err)
		}
		if _, err := ParseRequirement("six ; " + m); err == nil || len(err.Error()) > 1000 {
			t.Errorf("%d levels in a requirement: %.200v", n, err)
		}
	}
	m := strings.Repeat("(", MaxNesting) + `python_version >= "3"` + strings.Repeat(")", MaxNesting)
	if _, err := ParseMarker(m); err != nil {
		t.Errorf("%d levels: %v", MaxNesting, err)
	}
}

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{"six", "requests[socks]>=2.31,<3", `pandas>=2; python_version >= "3.9" and (sys_platform == "linux" or extra == "x")`, "name @ https://example.com/x-1.0-py3-none-any.whl", "numpy===1.26.4", "a ; ((((python_version>'3'))))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			_ = err.Error()
			return
		}
		if r.Marker != nil {
			_ = r.Marker.String()
			_ = r.Marker.Evaluate(Environment{}, []string{"x"})
			_ = r.Marker.Extras()
		}
		_, _ = r.Specifiers.Set()
		if _, _, err := ParseRequirementLenient(s); err != nil {
			t.Errorf("the lenient parser refuses %q, which the strict one reads", s)
		}
	})
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{`python_version >= "3.9"`, `extra == "a" or (os_name == "nt" and platform_machine in "x86_64 aarch64")`, `"3" < python_full_version`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			return
		}
		again, err := ParseMarker(m.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, m.String(), err)
		}
		if again.String() != m.String() {
			t.Errorf("%q: printing is not stable: %q then %q", s, m.String(), again.String())
		}
		_ = m.Evaluate(Environment{}, nil)
	})
}
