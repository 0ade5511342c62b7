package pep440

import "testing"

func BenchmarkParse(b *testing.B) {
	inputs := []string{"1.26.4", "2.0.0rc1", "1.0.post1", "2024.1.15", "1!2.0.dev3+local.1"}
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(inputs[i%len(inputs)]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompare(b *testing.B) {
	x, y := MustParse("1.26.4"), MustParse("1.26.4.post1")
	for b.Loop() {
		x.Compare(y)
	}
}

func BenchmarkSetIntersect(b *testing.B) {
	a, _ := MustParseSpecifiers(">=1.2,<2,!=1.5.*").Set()
	c, _ := MustParseSpecifiers(">1.4,!=1.6,<=1.9").Set()
	for b.Loop() {
		a.Intersect(c.Complement()).Union(c)
	}
}
