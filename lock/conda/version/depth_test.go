package version

import (
	"strings"
	"testing"
)

// Parentheses nested beyond any real spec are an error, not a crash.
func TestDeepSpecIsAnError(t *testing.T) {
	for _, n := range []int{MaxNesting + 1, 1_000_000} {
		s := strings.Repeat("(", n) + ">=1.0" + strings.Repeat(")", n)
		if _, err := ParseSpec(s); err == nil || len(err.Error()) > 1000 {
			t.Errorf("%d levels: %.200v", n, err)
		}
	}
	if _, err := ParseSpec(strings.Repeat("(", MaxNesting) + ">=1.0" + strings.Repeat(")", MaxNesting)); err != nil {
		t.Errorf("%d levels: %v", MaxNesting, err)
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.26.4", "1!2.0", "1.0rc1", "2024.1_post", "1.2.3+cuda11"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		_ = v.String()
		_ = v.Compare(v)
	})
}
