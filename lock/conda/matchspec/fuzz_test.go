package matchspec

import "testing"

// FuzzParse checks that Parse never panics and that the canonical form of
// any spec it accepts reads back to the same canonical form.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"numpy", "numpy=1.8", "numpy 1.8* py27_0", "conda-forge/linux-64::numpy>=1.8,<2|1.9",
		"numpy[version='>=1,<2', build_number=3]", "python 3.8.* *_cpython", "x264 >=1!164.3095,<1!165",
		"pytorch=*=cuda*", "numpy (1.5|1.6),<2", "https://c.example/ch/linux-64/foo-1.0-0.conda",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		canon := m.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) gave %q, which does not parse: %v", s, canon, err)
		}
		if again.String() != canon {
			t.Fatalf("Parse(%q) gave %q, which reads back as %q", s, canon, again.String())
		}
	})
}
