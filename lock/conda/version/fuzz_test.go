package version

import "testing"

// FuzzParseSpec checks that spec parsing never panics, that the canonical
// form of an accepted spec reads back to itself, and that ordering is
// consistent with equality.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{">=1.2,<2", "1.2.*", "1.2|1.4", "~=1.2.3", "(1.5|1.6),<2", "^1\\.7.*$", "1.*.3", "1!2.0+local_1", "1.0.1_"} {
		f.Add(s, "1.2.3")
	}
	f.Fuzz(func(t *testing.T, spec, ver string) {
		if sp, err := ParseSpec(spec); err == nil {
			canon := sp.String()
			again, err := ParseSpec(canon)
			if err != nil || again.String() != canon {
				t.Fatalf("ParseSpec(%q) gave %q, which reads back as %q, %v", spec, canon, again.String(), err)
			}
			if v, err := Parse(ver); err == nil && sp.Match(v) != again.Match(v) {
				t.Fatalf("%q and its canonical form %q disagree on %q", spec, canon, ver)
			}
		}
		if v, err := Parse(ver); err == nil {
			if v.Compare(v) != 0 {
				t.Fatalf("%q does not equal itself", ver)
			}
			w, err := Parse(v.String())
			if err != nil || w.Compare(v) != 0 {
				t.Fatalf("%q does not read back equal: %v", ver, err)
			}
		}
	})
}
