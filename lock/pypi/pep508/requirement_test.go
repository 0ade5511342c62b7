package pep508

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRequirement(t *testing.T) {
	tests := []struct {
		in                               string
		name, extras, specs, url, marker string
		canonical                        string
	}{
		{"A", "A", "", "", "", "", "A"},
		{"aa", "aa", "", "", "", "", "aa"},
		{"foo-bar.quux_baz", "foo-bar.quux_baz", "", "", "", "", "foo-bar.quux_baz"},
		{"name>=3", "name", "", ">=3", "", "", "name>=3"},
		{"name (==4)", "name", "", "==4", "", "", "name==4"},
		{"name(==4)", "name", "", "==4", "", "", "name==4"},
		{"name ( >=2 , <3 )", "name", "", ">=2,<3", "", "", "name>=2,<3"},
		{"name>=3,<2", "name", "", ">=3,<2", "", "", "name>=3,<2"},
		{"name >=2, <3", "name", "", ">=2,<3", "", "", "name>=2,<3"},
		{"foobar [quux,bar]", "foobar", "bar,quux", "", "", "", "foobar[bar,quux]"},
		{"foo[]", "foo", "", "", "", "", "foo"},
		{"foo[ ]", "foo", "", "", "", "", "foo"},
		{"foo[Bar_Baz, bar-baz ,QUX]", "foo", "bar-baz,qux", "", "", "", "foo[bar-baz,qux]"},
		{`name[bar]>=3; python_version == "2.7"`, "name", "bar", ">=3", "", `python_version == "2.7"`, `name[bar]>=3; python_version == "2.7"`},
		{"name@ http://foo.com", "name", "", "", "http://foo.com", "", "name @ http://foo.com"},
		{"name@http://foo.com", "name", "", "", "http://foo.com", "", "name @ http://foo.com"},
		{`name@ http://foo.com ; extra == "feature"`, "name", "", "", "http://foo.com", `extra == "feature"`, `name @ http://foo.com ; extra == "feature"`},
		{"name @ file:///absolute/path", "name", "", "", "file:///absolute/path", "", "name @ file:///absolute/path"},
		{"name [fred,bar] @ http://foo.com ; python_version=='2.7'", "name", "bar,fred", "", "http://foo.com", `python_version == "2.7"`, `name[bar,fred] @ http://foo.com ; python_version == "2.7"`},
		{"foo @ https://example.com/name;v=1.1/?query=foo&bar=baz#blah ; python_version=='3.4'", "foo", "", "", "https://example.com/name;v=1.1/?query=foo&bar=baz#blah", `python_version == "3.4"`, ""},
		{"foo @ https://x/f.whl;os_name=='a'", "foo", "", "", "https://x/f.whl;os_name=='a'", "", ""},
		{"name[quux, strange];python_version<'2.7' and platform_version=='2'", "name", "quux,strange", "", "", `python_version < "2.7" and platform_version == "2"`, ""},
		{"name; os_name=='a' and os_name=='b' or os_name=='c'", "name", "", "", "", `os_name == "a" and os_name == "b" or os_name == "c"`, ""},
		{"requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"", "requests", "security,tests", ">=2.8.1,==2.8.*", "", `python_version < "2.7"`, `requests[security,tests]>=2.8.1,==2.8.*; python_version < "2.7"`},
		{"pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686", "pip", "", "", "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686", "", ""},
		{"  numpy  ", "numpy", "", "", "", "", "numpy"},
		{"torch==2.4.0+cpu", "torch", "", "==2.4.0+cpu", "", "", "torch==2.4.0+cpu"},
		{"pandas>=2;python_version>='3.9'", "pandas", "", ">=2", "", `python_version >= "3.9"`, ""},
		{"foo===1.0-weird", "foo", "", "===1.0-weird", "", "", ""},
		{"foo ~= 1.4.5a4", "foo", "", "~=1.4.5a4", "", "", "foo~=1.4.5a4"},
		{"foo;extra=='Test_Extra'", "foo", "", "", "", `extra == "test-extra"`, ""},
		{"foo\t>=1.0\t;\tos_name=='posix'", "foo", "", ">=1.0", "", `os_name == "posix"`, ""},
		{"backports.zoneinfo ; python_version < '3.9'", "backports.zoneinfo", "", "", "", `python_version < "3.9"`, ""},
	}
	for _, tc := range tests {
		r, err := ParseRequirement(tc.in)
		if err != nil {
			t.Errorf("ParseRequirement(%q): %v", tc.in, err)
			continue
		}
		if r.Name != tc.name || strings.Join(r.Extras, ",") != tc.extras || r.Specifiers.String() != tc.specs || r.URL != tc.url || r.Marker.String() != tc.marker {
			t.Errorf("ParseRequirement(%q) = name %q extras %q specs %q url %q marker %q; want %q %q %q %q %q",
				tc.in, r.Name, r.Extras, r.Specifiers, r.URL, r.Marker, tc.name, tc.extras, tc.specs, tc.url, tc.marker)
		}
		if r.NormalizedName() != NormalizeName(tc.name) {
			t.Errorf("ParseRequirement(%q).NormalizedName() = %q", tc.in, r.NormalizedName())
		}
		if tc.canonical != "" && r.String() != tc.canonical {
			t.Errorf("ParseRequirement(%q).String() = %q, want %q", tc.in, r.String(), tc.canonical)
		}
		// The canonical form parses to the same requirement.
		back, err := ParseRequirement(r.String())
		if err != nil || back.String() != r.String() {
			t.Errorf("canonical form %q of %q does not round-trip: %q, %v", r.String(), tc.in, back.String(), err)
		}
	}
}

func TestParseRequirementInvalid(t *testing.T) {
	tests := []struct {
		in  string
		pos int
		msg string
	}{
		{"foo!", 3, "no operator"},
		{"", 0, "project name"},
		{"-foo", 0, "project name"},
		{"foo-", 3, "must end with a letter or digit"},
		{"toto 42", 5, "no operator"},
		{"name; foobar=='x'", 6, "unknown marker variable"},
		{"foo[", 4, "extra name"},
		{"foo[bar", 3, `"]"`},
		{"foo[bar baz]", 8, `"," or "]"`},
		{"foo[bar,]", 8, "extra name"},
		{"foo (>=1.0", 4, `")"`},
		{"foo ()", 5, "version specifier"},
		{"foo >= 1.0 ;", 12, "marker after"},
		{"foo >= 1.0 ; os_name", 20, "comparison operator"},
		{"foo @", 5, "URL"},
		{"foo @ ", 6, "URL"},
		{"foo @ not-a-url", 6, "scheme"},
		{"foo @ https://x/f.whl extra", 22, `";"`},
		{"foo>=1.0+local", 3, "local version label"},
		{"foo>=1.0,,<2", 9, "no operator"},
		{"foo>=1.0, <bogus", 10, "not a PEP 440 version"},
		{"foo (>=1.0) bar", 12, `";"`},
		{"foo ==1.* ; python_version", 26, "comparison operator"},
	}
	for _, tc := range tests {
		_, err := ParseRequirement(tc.in)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("ParseRequirement(%q) error = %v, want a *SyntaxError", tc.in, err)
			continue
		}
		if se.Pos != tc.pos || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("ParseRequirement(%q) error at %d: %q; want at %d containing %q", tc.in, se.Pos, se.Msg, tc.pos, tc.msg)
		}
	}
}

func TestRequirementMarkerEvaluation(t *testing.T) {
	env := linuxEnv(t, "3.11.4")
	tests := []struct {
		in     string
		extras []string
		want   bool
	}{
		{`something>=1.2.3; sys_platform == "linux"`, nil, true},
		{`something>=1.2.3; sys_platform == "win32"`, nil, false},
		{`aviato>=1.2.3; 'li' in sys_platform`, nil, true},
		{`importlib-metadata; python_version < "3.8"`, nil, false},
		{`pysocks!=1.5.7,>=1.5.6; extra == "socks"`, []string{"socks"}, true},
		{`pysocks!=1.5.7,>=1.5.6; extra == "socks"`, nil, false},
		{`numpy`, nil, true},
		// Requires-Dist lines as published on PyPI.
		{`importlib-metadata>=4.6; python_version < "3.10"`, nil, false},
		{`typing-extensions>=4.0.0; python_version < "3.12"`, nil, true},
		{`colorama; platform_system == "Windows"`, nil, false},
		{`pytest (>=6) ; extra == 'testing'`, []string{"testing"}, true},
		{`sphinx<7,>=4.3; extra == "docs"`, []string{"tests"}, false},
		{`nvidia-cublas-cu12==12.1.3.1; platform_system == "Linux" and platform_machine == "x86_64"`, nil, true},
		{`triton==3.0.0; platform_system == "Linux" and platform_machine == "x86_64" and python_version < "3.13"`, nil, true},
		{`dataclasses; python_version == "3.6"`, nil, false},
		{`pywin32>=226; sys_platform == "win32" and platform_python_implementation != "PyPy"`, nil, false},
		{`cffi>=1.12; platform_python_implementation != "PyPy"`, nil, true},
		{`backports.tarfile; python_version < "3.12"`, nil, true},
		{`requests[socks]!=2.32.0,>=2.31; extra == "all"`, []string{"all"}, true},
		{`foo; python_version >= "3.8" and python_version < "4.0"`, nil, true},
		{`uvloop!=0.15.0,!=0.15.1,>=0.14.0; (sys_platform != "win32" and (sys_platform != "cygwin" and platform_python_implementation != "PyPy")) and extra == "standard"`, []string{"standard"}, true},
		{`tomli>=1.1.0; python_full_version <= "3.11.0a6"`, nil, false},
		{`exceptiongroup>=1.0.0rc8; python_version < "3.11"`, nil, false},
		{`async-timeout<5.0,>=4.0; python_version < "3.11"`, nil, false},
	}
	for _, tc := range tests {
		r := MustParseRequirement(tc.in)
		if got := r.Marker.Evaluate(env, tc.extras); got != tc.want {
			t.Errorf("marker of %q evaluates to %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestParseRequirementLenient(t *testing.T) {
	tests := []struct {
		in, specs string
		repaired  bool
	}{
		{`foo>=1.0`, ">=1.0", false},
		{`foo (>=1.9.*) ; python_version < "3"`, ">=1.9", true},
		{`pyzmq>=2.7,!=3.0*,!=3.1*`, ">=2.7,!=3.0.*,!=3.1.*", true},
		{`bar>=7.2.0<8.0.0; extra == "x"`, ">=7.2.0,<8.0.0", true},
	}
	for _, tc := range tests {
		r, repaired, err := ParseRequirementLenient(tc.in)
		if err != nil || r.Specifiers.String() != tc.specs || repaired != tc.repaired {
			t.Errorf("ParseRequirementLenient(%q) = %q, repaired %v, %v; want %q, %v", tc.in, r.Specifiers, repaired, err, tc.specs, tc.repaired)
		}
		if tc.repaired {
			if _, err := ParseRequirement(tc.in); err == nil {
				t.Errorf("ParseRequirement(%q) accepted a broken specifier", tc.in)
			}
		}
	}
	var se *SyntaxError
	if _, _, err := ParseRequirementLenient("foo>=lol"); !errors.As(err, &se) || se.Pos != 3 {
		t.Errorf("ParseRequirementLenient(foo>=lol) error = %v, want a SyntaxError at 3", err)
	}
}
