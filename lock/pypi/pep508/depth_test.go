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
