package matchspec

import "testing"

func FuzzParse(f *testing.F) {
	for _, s := range []string{"numpy=1.26", "conda-forge::numpy>=1.26,<2", "python 3.11.* *_cpython", "pkg[version='>=1.0',build=py*]", "numpy >=1.5|<1.0", "python=3.13t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := Parse(s)
		if err != nil {
			return
		}
		_ = m.String()
	})
}
