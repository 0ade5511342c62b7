package pep440

import "testing"

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.0", "1!2.3.4rc1.post5.dev6+local.7", "v1.0a1", "2024.06", "1.0.0-beta"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		w, err := Parse(v.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, v.String(), err)
		}
		if w.Key() != v.Key() {
			t.Errorf("%q: %q reads back as another version", s, v.String())
		}
	})
}

func FuzzParseSpecifiers(f *testing.F) {
	for _, s := range []string{">=1.2,<2", "==1.4.*", "~=3.1", "===foobar", "!=1.0.post1", ">1.0a1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := ParseSpecifiers(s)
		if err != nil {
			return
		}
		_, _ = ss.Set()
		_ = ss.String()
	})
}
