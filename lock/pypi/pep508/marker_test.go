package pep508

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"foo", "foo"}, {"Foo", "foo"}, {"FOO", "foo"}, {"foo-bar", "foo-bar"}, {"foo_bar", "foo-bar"},
		{"foo.bar", "foo-bar"}, {"Foo.Bar__baz", "foo-bar-baz"}, {"foo---bar", "foo-bar"}, {"foo-_.-bar", "foo-bar"},
		{"PEP_685...norm", "pep-685-norm"}, {"a", "a"}, {"zope.interface", "zope-interface"},
	}
	for _, tc := range tests {
		if got := NormalizeName(tc.in); got != tc.want {
			t.Errorf("NormalizeName(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := NormalizeExtra(tc.in); got != tc.want {
			t.Errorf("NormalizeExtra(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, n := range []string{"A", "aa", "name", "foo-bar.quux_baz", "9", "a9", "X_Y"} {
		if !ValidName(n) {
			t.Errorf("ValidName(%q) = false, want true", n)
		}
	}
	for _, n := range []string{"", "-a", "a-", "_a", "a.", "foo!", "foo bar", "é", "a/b"} {
		if ValidName(n) {
			t.Errorf("ValidName(%q) = true, want false", n)
		}
	}
}

var markerVariables = []string{
	"extra", "implementation_name", "implementation_version", "os_name", "platform_machine", "platform_release",
	"platform_system", "platform_version", "python_full_version", "python_version", "platform_python_implementation",
	"sys_platform", "os.name", "sys.platform", "platform.version", "platform.machine", "platform.python_implementation",
	"python_implementation",
}

func TestParseMarkerProduct(t *testing.T) {
	ops := []string{"===", "==", ">=", "<=", "!=", "~=", ">", "<", "in", "not in"}
	values := []string{"1.0", "5.6a0", "dog", "freebsd", "literally any string can go here", "things @#4 dsfd ((("}
	n := 0
	for _, v := range markerVariables {
		for _, op := range ops {
			for _, val := range values {
				for _, s := range []string{fmt.Sprintf("%s %s '%s'", v, op, val), fmt.Sprintf("'%s' %s %s", val, op, v)} {
					m, err := ParseMarker(s)
					if err != nil {
						t.Errorf("ParseMarker(%q): %v", s, err)
						continue
					}
					// The canonical form parses back to itself.
					back, err := ParseMarker(m.String())
					if err != nil || back.String() != m.String() {
						t.Errorf("ParseMarker(%q).String() = %q does not round-trip: %v", s, m, err)
					}
					n++
				}
			}
		}
	}
	if n != len(markerVariables)*len(ops)*len(values)*2 {
		t.Fatalf("parsed %d markers", n)
	}
}

func TestMarkerString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"python_version == '2.7'", `python_version == "2.7"`},
		{`python_version == "2.7"`, `python_version == "2.7"`},
		{`python_version=="2.7"and os_name=="linux"`, `python_version == "2.7" and os_name == "linux"`},
		{`python_version == "2.7" or os_name == "linux"`, `python_version == "2.7" or os_name == "linux"`},
		{`python_version == "2.7" and os_name == "linux" or sys_platform == "win32"`, `python_version == "2.7" and os_name == "linux" or sys_platform == "win32"`},
		{`(python_version == "2.7")`, `python_version == "2.7"`},
		{`((python_version == "2.7"))`, `python_version == "2.7"`},
		{`(python_version == "2.7" and sys_platform == "win32")`, `python_version == "2.7" and sys_platform == "win32"`},
		{`python_version == "2.7" and (sys_platform == "win32" or sys_platform == "linux")`, `python_version == "2.7" and (sys_platform == "win32" or sys_platform == "linux")`},
		{`(python_version >= "3.6" and os_name == "posix") and platform_system == "Linux"`, `python_version >= "3.6" and os_name == "posix" and platform_system == "Linux"`},
		{`'S_P__A_M' == extra`, `"s-p-a-m" == extra`},
		{`extra == 'S_P__A_M'`, `extra == "s-p-a-m"`},
		{`extra == os_name`, `extra == os_name`},
		{`(extra == "Foo_Bar" or extra == "Baz") and python_version >= "3"`, `(extra == "foo-bar" or extra == "baz") and python_version >= "3"`},
		{`os.name == 'posix'`, `os_name == "posix"`},
		{`python_implementation == 'CPython'`, `platform_python_implementation == "CPython"`},
		{`platform_version == 'say "hi"'`, `platform_version == 'say "hi"'`},
		{"\tpython_version\t>=\t'3'\t", `python_version >= "3"`},
		{`python_version not   in '3.6 3.7'`, `python_version not in "3.6 3.7"`},
		{`os_name == "a" or (os_name == "b" or os_name == "c")`, `os_name == "a" or os_name == "b" or os_name == "c"`},
	}
	for _, tc := range tests {
		m, err := ParseMarker(tc.in)
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", tc.in, err)
			continue
		}
		if got := m.String(); got != tc.want {
			t.Errorf("ParseMarker(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilMarker *Marker
	if nilMarker.String() != "" || !nilMarker.Evaluate(nil, nil) {
		t.Errorf("nil marker: String %q, Evaluate %v", nilMarker.String(), nilMarker.Evaluate(nil, nil))
	}
}

func TestParseMarkerInvalid(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{"this_isnt_a_real_variable >= '1.0'", 0, "unknown marker variable"},
		{"python_version", 14, "comparison operator"},
		{"(python_version)", 15, "comparison operator"},
		{"python_version >= 1.0 and (python_version)", 18, "quoted string"},
		{`(python_version == "2.7" and os_name == "linux"`, 47, `")"`},
		{`(python_version == "2.7") with random text`, 26, "end of the marker"},
		{`os_name == "linux`, 11, "unterminated"},
		{`os_name = "linux"`, 8, "comparison operator"},
		{`os_name == "a" and`, 18, "marker variable"},
		{`os_name == "a" andos_name == "b"`, 15, "end of the marker"},
		{`python_version not "3"`, 15, `"not in"`},
		{``, 0, "marker variable"},
		{`os_name == "a" or or os_name == "b"`, 18, "marker variable"},
		{`extras == "a"`, 0, "unknown marker variable"},
		{`os_name == "C:\"`, 14, "backslash"},
		{`os_name == "\x"`, 12, "backslash"},
	}
	for _, tc := range tests {
		_, err := ParseMarker(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseMarker(%q) error = %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) || se.Input != tc.in {
			t.Errorf("ParseMarker(%q) error at %d %q, want at %d containing %q", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
		}
	}
}

func TestSyntaxErrorCaret(t *testing.T) {
	_, err := ParseRequirement(`foo >= 1.0 ; bogus == "x"`)
	want := "parsing \"foo >= 1.0 ; bogus == \\\"x\\\"\" at column 14: unknown marker variable \"bogus\""
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error = %v, want it to start with %s", err, want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 || lines[1] != `    foo >= 1.0 ; bogus == "x"` || lines[2] != "    "+strings.Repeat(" ", 13)+"^" {
		t.Fatalf("error lines = %q, want the input and a caret under column 14", lines)
	}
}

func linuxEnv(t *testing.T, py string) Environment {
	t.Helper()
	env, err := EnvironmentFor(py, "cpython", "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func TestEvaluate(t *testing.T) {
	env := linuxEnv(t, "3.11.4")
	tests := []struct {
		marker string
		env    Environment // nil: the linux 3.11.4 environment
		extras []string
		want   bool
	}{
		{`os_name == "posix"`, nil, nil, true},
		{`os_name == "nt"`, nil, nil, false},
		{`sys_platform == "linux"`, nil, nil, true},
		{`sys_platform == "win32" or sys_platform == "darwin"`, nil, nil, false},
		{`platform_system == "Linux" and platform_machine == "x86_64"`, nil, nil, true},
		{`platform_machine == "aarch64"`, nil, nil, false},
		{`platform_machine in "x86_64 aarch64"`, nil, nil, true},
		{`"arm" in platform_machine`, nil, nil, false},
		{`platform_python_implementation == "CPython"`, nil, nil, true},
		{`implementation_name == "pypy"`, nil, nil, false},
		{`python_version >= "3.8"`, nil, nil, true},
		{`python_version < "3.10"`, nil, nil, false},
		{`python_version > "3.9"`, nil, nil, true},
		{`python_version == "3.11"`, nil, nil, true},
		{`python_version == "3.11.0"`, nil, nil, true},
		{`python_version == "3.*"`, nil, nil, true},
		{`python_version ~= "3.8"`, nil, nil, true},
		{`python_version != "3.11"`, nil, nil, false},
		{`python_full_version >= "3.11.4"`, nil, nil, true},
		{`python_full_version < "3.11.4"`, nil, nil, false},
		{`python_full_version == "3.11.*"`, nil, nil, true},
		{`"3.12" > python_version`, nil, nil, true},
		{`"3.8" <= python_version and python_version < "4"`, nil, nil, true},
		{`implementation_version >= "3.11"`, nil, nil, true},
		{`python_version in "3.10 3.11 3.12"`, nil, nil, true},
		{`python_version in "3.1 3.2"`, Environment{"python_version": "3.11"}, nil, false},
		{`python_version not in "3.1 3.2"`, Environment{"python_version": "3.11"}, nil, true},
		{`python_version in "3.10 3.12"`, Environment{"python_version": "3.1"}, nil, false},
		{`"2.7" in python_version`, Environment{"python_version": "2.7.5"}, nil, true},
		{`"2.7" not in python_version`, Environment{"python_version": "2.7"}, nil, false},
		{`"2.7.9" < python_full_version`, Environment{"python_full_version": "2.7.10"}, nil, true},
		{`"2.7.9" < python_full_version`, Environment{"python_full_version": "2.7.8"}, nil, false},
		{`python_full_version > "3.6.2"`, Environment{"python_full_version": "3.11.0a5"}, nil, true},
		{`python_full_version < "3.12"`, Environment{"python_full_version": "3.11.1+"}, nil, true},
		{`python_version > "3.11"`, Environment{"python_version": "3.11"}, nil, false},
		{`python_full_version > "3.11"`, Environment{"python_full_version": "3.11.0"}, nil, false},
		{`python_full_version > "3.11"`, Environment{"python_full_version": "3.11.1"}, nil, true},
		{`python_full_version < "3.12"`, Environment{"python_full_version": "3.12.0rc1"}, nil, false},
		{`python_version <= "2.7" and "b" < python_full_version`, Environment{"python_version": "2.7", "python_full_version": "c"}, nil, true},
		{`"b" < "a"`, nil, nil, false},
		{`"a" <= "a"`, nil, nil, true},
		{`platform_release >= "5.0"`, nil, nil, false},
		{`platform_release == ""`, nil, nil, true},
		{`platform_version != "#1 SMP"`, nil, nil, true},
		{`'2.7.0' ~= os_name`, nil, nil, false},
		{`os_name === "POSIX"`, nil, nil, true},
		{`os_name == "foo" and python_version ~= "2.7.0"`, Environment{"os_name": "foo", "python_version": "2.7.6"}, nil, true},
		{`python_version ~= "2.7.0" and (os_name == "foo" or os_name == "bar")`, Environment{"os_name": "bar", "python_version": "2.7.4"}, nil, true},
		{`python_version ~= "2.7.0" and (os_name == "foo" or os_name == "bar")`, Environment{"os_name": "other", "python_version": "2.7.4"}, nil, false},
		{`sys.platform == 'win32'`, Environment{"sys_platform": "linux2"}, nil, false},
		{`platform.machine=='x86_64'`, Environment{"platform_machine": "x86_64"}, nil, true},
		{`python_implementation=='Jython'`, Environment{"platform_python_implementation": "CPython"}, nil, false},
		{`os_name == "a" and os_name == "b" or os_name == "a"`, Environment{"os_name": "a"}, nil, true},
		{`os_name == "b" and (os_name == "b" or os_name == "a")`, Environment{"os_name": "a"}, nil, false},
		// extras
		{`extra == "security"`, nil, nil, false},
		{`extra == "security"`, nil, []string{"quux"}, false},
		{`extra == "security"`, nil, []string{"security"}, true},
		{`extra == "SECURITY"`, nil, []string{"security"}, true},
		{`extra == "security"`, nil, []string{"SECURITY"}, true},
		{`extra == "pep-685-norm"`, nil, []string{"PEP_685...norm"}, true},
		{`extra == 'Different.punctuation..is...equal'`, nil, []string{"different__punctuation_is_EQUAL"}, true},
		{`extra == "security"`, Environment{"extra": "security"}, nil, true},
		{`extra == "security"`, Environment{"extra": "security"}, []string{}, false},
		{`extra == "v2"`, nil, []string{"v2a3"}, false},
		{`extra == "v2a3"`, nil, []string{"v2"}, false},
		{`extra == "v2"`, nil, []string{""}, false},
		{`extra == "b"`, nil, []string{"a", "b"}, true},
		{`extra != "b"`, nil, []string{"a", "b"}, false},
		{`extra != "b"`, nil, []string{"a"}, true},
		{`"b" == extra`, nil, []string{"a", "B"}, true},
		{`extra == "socks" and python_version >= "3.8"`, nil, []string{"socks"}, true},
		{`extra == "socks" and python_version >= "3.12"`, nil, []string{"socks"}, false},
		{`python_version < "3.8" or extra == "test"`, nil, []string{"test"}, true},
		{`extra in "test docs"`, nil, []string{"docs"}, true},
	}
	for _, tc := range tests {
		m, err := ParseMarker(tc.marker)
		if err != nil {
			t.Errorf("ParseMarker(%q): %v", tc.marker, err)
			continue
		}
		e := tc.env
		if e == nil {
			e = env
		}
		if got := m.Evaluate(e, tc.extras); got != tc.want {
			t.Errorf("%q.Evaluate(%v, extras %q) = %v, want %v", tc.marker, tc.env, tc.extras, got, tc.want)
		}
	}
}

func TestMarkerExtras(t *testing.T) {
	m := MustParseMarker(`(extra == "Foo_Bar" or "baz" == extra or extra == "foo-bar") and python_version >= "3"`)
	if got := strings.Join(m.Extras(), ","); got != "baz,foo-bar" {
		t.Errorf("Extras() = %q, want baz,foo-bar", got)
	}
	if got := MustParseMarker(`os_name == "posix"`).Extras(); len(got) != 0 {
		t.Errorf("Extras() of a marker without extra = %q", got)
	}
}

func TestEnvironmentFor(t *testing.T) {
	env, err := EnvironmentFor("3.12.1", "CPython", "arm64")
	if err != nil {
		t.Fatal(err)
	}
	want := Environment{
		"os_name": "posix", "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "aarch64",
		"platform_release": "", "platform_version": "", "platform_python_implementation": "CPython",
		"implementation_name": "cpython", "implementation_version": "3.12.1", "python_version": "3.12",
		"python_full_version": "3.12.1",
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("EnvironmentFor(...)[%q] = %q (present %v), want %q", k, got, ok, v)
		}
	}
	if len(env) != len(want) {
		t.Errorf("EnvironmentFor has %d variables, want %d", len(env), len(want))
	}
	env, err = EnvironmentFor("3.13.0t", "pypy", "x86_64")
	if err != nil || env["python_version"] != "3.13" || env["python_full_version"] != "3.13.0" || env["implementation_name"] != "pypy" || env["platform_python_implementation"] != "PyPy" || env["platform_machine"] != "x86_64" {
		t.Errorf("EnvironmentFor(3.13.0t, pypy, x86_64) = %v, %v", env, err)
	}
	for _, bad := range [][3]string{{"3", "cpython", "x86_64"}, {"3.11", "jython", "x86_64"}, {"3.11", "cpython", "riscv64"}, {"", "cpython", "x86_64"}} {
		if _, err := EnvironmentFor(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("EnvironmentFor(%q, %q, %q) gave no error", bad[0], bad[1], bad[2])
		}
	}
}

// TestNormalizeNameAgreesWithPEP503 checks the one-pass normalization
// against PEP 503's own rule (re.sub(r"[-_.]+", "-", name).lower()).
func TestNormalizeNameAgreesWithPEP503(t *testing.T) {
	alphabet := []byte("aZ09-_.")
	var names []string
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		names = append(names, string(prefix))
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			gen(append(prefix, c), n-1)
		}
	}
	gen(nil, 5)
	names = append(names, "Foo.Bar__baz", "--a--", "A-_-.b", "ZOPE.Interface", "É-x", "a\u00e9__B")
	for _, n := range names {
		want := nameRuns.ReplaceAllString(strings.ToLower(n), "-")
		if got := NormalizeName(n); got != want {
			t.Fatalf("NormalizeName(%q) = %q, want %q", n, got, want)
		}
	}
}
