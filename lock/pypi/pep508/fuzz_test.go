package pep508

import (
	"errors"
	"testing"
)

func FuzzParseRequirement(f *testing.F) {
	for _, s := range []string{
		`requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < "2.7"`,
		`pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686`,
		`name[quux, strange];python_version<'2.7' and platform_version=='2'`,
		`foo (>=1.0) ; (os_name == "a" or extra == "B_c") and "x" not in sys_platform`,
		`foo===bar`, `foo[]`, `x @ file:///a ; os_name=='posix'`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequirement(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s) || se.Input != s {
				t.Fatalf("ParseRequirement(%q) error %v is not a SyntaxError within the input", s, err)
			}
			_ = err.Error()
			return
		}
		canon := r.String()
		back, err := ParseRequirement(canon)
		if err != nil {
			t.Fatalf("ParseRequirement(%q) gave %q, which does not parse: %v", s, canon, err)
		}
		if back.String() != canon {
			t.Fatalf("canonical form not stable: %q -> %q -> %q", s, canon, back.String())
		}
		if env, err := EnvironmentFor("3.11.4", "cpython", "x86_64"); err == nil {
			if r.Marker.Evaluate(env, []string{"a"}) != back.Marker.Evaluate(env, []string{"a"}) {
				t.Fatalf("%q and its canonical form %q evaluate differently", s, canon)
			}
		}
	})
}

func FuzzParseMarker(f *testing.F) {
	for _, s := range []string{
		`python_version >= "3.8" and (sys_platform == "linux" or extra == "x")`,
		`"3.12" > python_version or platform_machine in "x86_64 aarch64"`,
		`os.name == 'posix' and python_implementation != "PyPy"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMarker(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Pos < 0 || se.Pos > len(s) {
				t.Fatalf("ParseMarker(%q) error %v is not a SyntaxError within the input", s, err)
			}
			return
		}
		canon := m.String()
		back, err := ParseMarker(canon)
		if err != nil || back.String() != canon {
			t.Fatalf("marker %q -> %q does not round-trip: %v", s, canon, err)
		}
	})
}
