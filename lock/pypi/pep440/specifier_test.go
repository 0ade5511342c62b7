package pep440

import (
	"strings"
	"testing"
)

func TestParseSpecifierValid(t *testing.T) {
	tests := []struct{ in, want string }{
		{"~=2.0", "~=2.0"}, {"==2.1.*", "==2.1.*"}, {"==2.1.0.3", "==2.1.0.3"}, {"!=2.2.*", "!=2.2.*"},
		{"!=2.2.0.5", "!=2.2.0.5"}, {"<=5", "<=5"}, {">=7.9a1", ">=7.9a1"}, {"<1.0.dev1", "<1.0.dev1"},
		{">2.0.post1", ">2.0.post1"}, {"< 2", "<2"}, {" >= 1.0 ", ">=1.0"}, {"==1.0+AbC", "==1.0+abc"},
		{"!=1.0+local.1", "!=1.0+local.1"}, {"==v1.0", "==1.0"}, {"~=1.0-1", "~=1.0.post1"},
		{"=== lolwat", "===lolwat"}, {"===1.0.0", "===1.0.0"}, {"==1!2.*", "==1!2.*"}, {">=1.0RC1", ">=1.0rc1"},
		{"~=2022.01.01", "~=2022.1.1"}, {"==2.0.0", "==2.0.0"},
	}
	for _, tc := range tests {
		sp, err := ParseSpecifier(tc.in)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", tc.in, err)
			continue
		}
		if got := sp.String(); got != tc.want {
			t.Errorf("ParseSpecifier(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseSpecifierInvalid(t *testing.T) {
	for _, s := range []string{
		"2.0", "=>2.0", "==", "=2.0", "<>2.0", "~=1.0+5", ">=1.0+deadbeef", "<=1.0+abc123", ">1.0+watwat", "<1.0+1.0",
		"~=1.0.*", ">=1.0.*", "<=1.0.*", ">1.0.*", "<1.0.*", "==1.0.*+5", "!=1.0.*+deadbeef",
		"==2.0a1.*", "!=2.0a1.*", "==2.0.post1.*", "!=2.0.post1.*", "==2.0.dev1.*", "!=2.0.dev1.*",
		"==1.0+5.*", "!=1.0+deadbeef.*", "==1.0.*.5", "~=1", "~=1!2", "==1.2+\u0130", "==1.2+\u0130\u0131\u017fK",
		"==1. 0", "=== foo bar", "===", ">= ", "==1.0,", "== 1.0 .*",
	} {
		if sp, err := ParseSpecifier(s); err == nil {
			t.Errorf("ParseSpecifier(%q) = %s, want an error", s, sp)
		}
	}
}

func TestParseSpecifiers(t *testing.T) {
	tests := []struct {
		in   string
		want string
		n    int
	}{
		{"", "", 0}, {"  ", "", 0}, {">=2.0", ">=2.0", 1}, {">=2.0,<3", ">=2.0,<3", 2},
		{" >= 2.0 , < 3 , == 2.4 ", ">=2.0,<3,==2.4", 3}, {"~=1.4.5a4,!=1.4.6", "~=1.4.5a4,!=1.4.6", 2},
	}
	for _, tc := range tests {
		ss, err := ParseSpecifiers(tc.in)
		if err != nil {
			t.Errorf("ParseSpecifiers(%q): %v", tc.in, err)
			continue
		}
		if len(ss) != tc.n || ss.String() != tc.want {
			t.Errorf("ParseSpecifiers(%q) = %q (%d clauses), want %q (%d)", tc.in, ss, len(ss), tc.want, tc.n)
		}
	}
	for _, s := range []string{">=1.0,", ",>=1.0", ">=1.0,,<2", ">=1.0;<2", ">=1.0 <2", "1.0"} {
		if ss, err := ParseSpecifiers(s); err == nil {
			t.Errorf("ParseSpecifiers(%q) = %s, want an error", s, ss)
		}
	}
	_, err := ParseSpecifiers(">=1.0, >=bogus")
	if err == nil || !strings.Contains(err.Error(), `">=bogus"`) || !strings.Contains(err.Error(), `">=1.0, >=bogus"`) {
		t.Errorf("error = %v, want it to quote the clause and the whole input", err)
	}
}

// specifierCases are (version, specifier, matches) with pre-releases
// allowed: the version order alone.
var specifierCases = []struct {
	v, spec string
	want    bool
}{
	// ==
	{"2.0", "==2", true}, {"2.0", "==2.0", true}, {"2.0", "==2.0.0", true},
	{"2.0+deadbeef", "==2", true}, {"2.0+deadbeef", "==2.0", true}, {"2.0+deadbeef", "==2.0.0", true},
	{"2.0+deadbeef", "==2+deadbeef", true}, {"2.0+deadbeef", "==2.0+deadbeef", true},
	{"2.0+deadbeef", "==2.0.0+deadbeef", true}, {"2.0+deadbeef.0", "==2.0.0+deadbeef.00", true},
	{"2.1", "==2", false}, {"2.1", "==2.0", false}, {"2.1", "==2.0.0", false}, {"2.0", "==2.0+deadbeef", false},
	{"2.0+other", "==2.0+deadbeef", false}, {"2.0+deadbeef.1", "==2.0+deadbeef", false},
	{"2.0.post1", "==2.0", false}, {"2.0.dev1", "==2.0", false}, {"2.0a1", "==2.0", false},
	{"2.0.dev1+x", "==2.0.dev1", true}, {"2.0.dev2", "==2.0.dev1", false},
	// == prefix
	{"2.dev1", "==2.*", true}, {"2a1", "==2.*", true}, {"2a1.post1", "==2.*", true}, {"2b1", "==2.*", true},
	{"2b1.dev1", "==2.*", true}, {"2c1", "==2.*", true}, {"2c1.post1.dev1", "==2.*", true},
	{"2c1.post1.dev1", "==2.0.*", true}, {"2rc1", "==2.*", true}, {"2rc1", "==2.0.*", true},
	{"2", "==2.*", true}, {"2", "==2.0.*", true}, {"2", "==2.0.0.*", true}, {"2", "==0!2.*", true},
	{"0!2", "==2.*", true}, {"2.0", "==2.*", true}, {"2.0.0", "==2.*", true}, {"2.0.0.0", "==2.0.*", true},
	{"2.1+local.version", "==2.1.*", true}, {"2.1.5.post3+x", "==2.1.*", true}, {"2.9999", "==2.*", true},
	{"2.0", "==3.*", false}, {"2.1", "==2.0.*", false}, {"3", "==2.0.0.*", false}, {"2.1.0.0", "==2.0.*", false},
	{"1.9", "==2.*", false}, {"3.0.dev0", "==2.*", false}, {"20.0", "==2.*", false}, {"1!2.0", "==2.*", false},
	// !=
	{"2.1", "!=2", true}, {"2.1", "!=2.0", true}, {"2.0.1", "!=2", true}, {"2.0.1", "!=2.0", true},
	{"2.0.1", "!=2.0.0", true}, {"2.0", "!=2.0+deadbeef", true}, {"2.0+other", "!=2.0+deadbeef", true},
	{"2.0", "!=2", false}, {"2.0", "!=2.0", false}, {"2.0", "!=2.0.0", false}, {"2.0+deadbeef", "!=2", false},
	{"2.0+deadbeef", "!=2.0", false}, {"2.0+deadbeef", "!=2.0+deadbeef", false},
	{"2.0+deadbeef.0", "!=2.0.0+deadbeef.00", false}, {"2.0.post1", "!=2.0", true}, {"2.0a1", "!=2.0", true},
	// != prefix
	{"2.0", "!=3.*", true}, {"2.1", "!=2.0.*", true}, {"3", "!=2.0.0.*", true}, {"2.1.0.0", "!=2.0.*", true},
	{"2.dev1", "!=2.*", false}, {"2a1", "!=2.*", false}, {"2c1.post1.dev1", "!=2.0.*", false},
	{"2", "!=2.0.0.*", false}, {"2.0.0.0", "!=2.0.*", false}, {"2.0+x", "!=2.0.*", false},
	// >=
	{"2.0", ">=2", true}, {"2.0", ">=2.0.0", true}, {"2.0.post1", ">=2", true}, {"2.0.post1.dev1", ">=2", true},
	{"3", ">=2", true}, {"3.0.0a8", ">=3.0.0a7", true}, {"2.0+local", ">=2.0", true}, {"3.0.0a7+x", ">=3.0.0a7", true},
	{"2.0.dev1", ">=2", false}, {"2.0a1", ">=2", false}, {"2.0a1.dev1", ">=2", false}, {"2.0b1.post1", ">=2", false},
	{"2.0c1.post1.dev1", ">=2", false}, {"2.0rc1", ">=2", false}, {"1", ">=2", false}, {"1.9.post9+z", ">=2", false},
	// <=
	{"2.0", "<=2", true}, {"2.0", "<=2.0.0", true}, {"2.0.dev1", "<=2", true}, {"2.0a1", "<=2", true},
	{"2.0a1.dev1", "<=2", true}, {"2.0b1.post1", "<=2", true}, {"2.0c1.post1.dev1", "<=2", true}, {"1", "<=2", true},
	{"3.0.0a7", "<=3.0.0a8", true}, {"2.0+local", "<=2.0", true}, {"2.0.dev3+x", "<=2.0.dev3", true},
	{"2.0.post1", "<=2", false}, {"2.0.post1.dev1", "<=2", false}, {"3", "<=2", false}, {"2.0.dev4", "<=2.0.dev3", false},
	{"2.0.post0.dev0", "<=2", false},
	// >
	{"3", ">2", true}, {"2.1", ">2.0", true}, {"2.0.1", ">2", true}, {"2.1.post1", ">2", true},
	{"2.1+local.version", ">2", true}, {"3.0.0a8", ">3.0.0a7", true}, {"2.0.0.0.1", ">2", true},
	{"1", ">2", false}, {"2.0.dev1", ">2", false}, {"2.0a1", ">2", false}, {"2.0a1.post1", ">2", false},
	{"2.0b1.dev1", ">2", false}, {"2.0rc1", ">2", false}, {"2.0", ">2", false}, {"2.0.post1", ">2", false},
	{"2.0.post1.dev1", ">2", false}, {"2.0+local.version", ">2", false}, {"2.0.post3+x", ">2", false},
	{"4.1.0a2.dev1234+local", ">4.1.0a2.dev1234", false}, {"4.1.0a2.dev1235+local", ">4.1.0a2.dev1234", true},
	{"1.0+local", ">1.0.dev1", true}, {"1.0a2+local", ">1.0a1", true}, {"1.0b2+local", ">1.0b1", true},
	{"1.0rc2+local", ">1.0rc1", true}, {"1.0.post2+local", ">1.0.post1", true}, {"1.0.dev2+local", ">1.0.dev1", true},
	{"1.0a1.dev2+local", ">1.0a1.dev1", true}, {"1.0.post1.dev2+local", ">1.0.post1.dev1", true},
	{"1.0a1+local", ">1.0a1", false}, {"1.0b1+local", ">1.0b1", false}, {"1.0rc1+local", ">1.0rc1", false},
	{"1.0.post1+local", ">1.0.post1", false}, {"1.0.dev1+local", ">1.0.dev1", false},
	{"1.0a1.dev1+local", ">1.0a1.dev1", false}, {"1.0.post1.dev1+local", ">1.0.post1.dev1", false},
	{"1.0.dev0", ">1.0.dev1", false}, {"1.0.dev2", ">1.0.dev1", true}, {"1.0.post0", ">1.0.dev1", true},
	{"1.0.post1", ">1.0.dev1", true}, {"1.0.post0", ">1.0.dev0", true}, {"1.0.post0", ">1.0a1", true},
	{"1.0.post0", ">1.0b1", true}, {"1.0.post0", ">1.0rc1", true}, {"1.0a1.post0", ">1.0a1", false},
	{"1.0b2.post0", ">1.0b2", false}, {"1.0rc1.post0", ">1.0rc1", false}, {"1.0rc1.post3.dev1", ">1.0rc1", false},
	{"1.0a2.post0", ">1.0a1", true}, {"1.0b2.post0", ">1.0b1", true}, {"1.0a2.dev0", ">1.0a1", true},
	{"1.0", ">1.0.dev1", true}, {"1.0a1", ">1.0.dev1", true}, {"1.1", ">1.0.dev1", true},
	{"1.0.post0", ">1.0", false}, {"1.0.post1", ">1.0", false}, {"2.0.post0", ">1.0", true},
	{"0.9.post0", ">1.0", false}, {"1.1.post0", ">1.0.dev1", true}, {"0.9.post0", ">1.0.dev1", false},
	{"1.0.post3", ">1.0.post2", true}, {"1.0.post3+x", ">1.0.post2", true}, {"1.0.post2.dev5", ">1.0.post2", false},
	{"1.0.post3.dev0", ">1.0.post2", true}, {"1.0.0.post1", ">1.0", false}, {"1.0.1.dev0", ">1.0", true},
	{"2.0.5", ">2.0dev", true}, {"1!1.0", ">2.0", true},
	// <
	{"1", "<2", true}, {"2.0", "<2.1", true}, {"2.0.dev0", "<2.1", true}, {"3.0.0a7", "<3.0.0a8", true},
	{"1.9.post9+x", "<2", true}, {"2.0.dev1", "<2", false}, {"2.0a1", "<2", false}, {"2.0a1.post1", "<2", false},
	{"2.0b2.dev1", "<2", false}, {"2.0c1.post1.dev1", "<2", false}, {"2.0rc1", "<2", false}, {"2.0", "<2", false},
	{"2.post1", "<2", false}, {"2.post1.dev1", "<2", false}, {"3", "<2", false}, {"2.0+x", "<2", false},
	{"2.0a1", "<2.0a2", true}, {"2.0a2.dev0", "<2.0a2", true}, {"2.0a1.post5+x", "<2.0a2", true},
	{"1.0.post1.dev0", "<1.0.post1", false}, {"1.0.post0.dev0", "<1.0.post0", false},
	{"1.0.dev0", "<1.0.post1", true}, {"1.0a1", "<1.0.post1", true}, {"1.0rc1", "<1.0.post1", true},
	{"1.0.dev0", "<1.0.post0", true}, {"1.0b1", "<1.0.post0", true}, {"1.0.post0.dev0", "<1.0.post1", true},
	{"1.0.post1.dev0", "<1.0.post2", true}, {"1.0", "<1.0.post1", true}, {"1.0.post0", "<1.0.post1", true},
	{"0.9", "<1.0.post1", true}, {"1.0", "<1.0.post0", true}, {"1.0.post9.dev0", "<1.0.post10", true},
	{"1.0+local", "<1.0.post1", true}, {"1.0.post0+local", "<1.0.post1", true}, {"0.9.dev0", "<1.0.post1", true},
	{"1.0.dev0", "<1.0.dev1", true}, {"1.0.dev1", "<1.0.dev1", false}, {"0.9.dev1", "<1.0.dev1", true},
	{"1.0", "<2!0.1", true}, {"1!0.0", "<2", false},
	// ~=
	{"1", "~=1.0", true}, {"1.0.1", "~=1.0", true}, {"1.1", "~=1.0", true}, {"1.9999999", "~=1.0", true},
	{"1.1", "~=1.0a1", true}, {"2022.01.01", "~=2022.01.01", true}, {"2.0", "~=1.0", false},
	{"1.1.0", "~=1.0.0", false}, {"1.1.post1", "~=1.0.0", false}, {"1.4.2", "~=1.4.2", true},
	{"1.4.3.dev1", "~=1.4.2", true}, {"1.4.3a1", "~=1.4.2", true}, {"1.4.3", "~=1.4.2", true},
	{"1.4.3.post1", "~=1.4.2", true}, {"1.4.3+local", "~=1.4.2", true}, {"1.4.2+local", "~=1.4.2", true},
	{"1.4.1", "~=1.4.2", false}, {"1.4.1.post1", "~=1.4.2", false}, {"1.5.0.dev0", "~=1.4.2", false},
	{"1.5.0a1", "~=1.4.2", false}, {"1.5.0", "~=1.4.2", false}, {"2.0+local", "~=1.4.2", false},
	{"1.4.5a4", "~=1.4.5a4", true}, {"1.4.5a3", "~=1.4.5a4", false}, {"1.4.9", "~=1.4.5a4", true},
	{"2.2.post3", "~=2.2.post3", true}, {"2.9", "~=2.2.post3", true}, {"2.2", "~=2.2.post3", false},
	{"1.4.5.0", "~=1.4.5.0", true}, {"1.4.6", "~=1.4.5.0", false},
	// epochs
	{"2!1.0", "~=2!1.0", true}, {"2!1.0", "==2!1.*", true}, {"2!1.0", "==2!1.0", true}, {"2!1.0", "!=1.0", true},
	{"2!1.0.0", "==2!1.0.0.0.*", true}, {"2!1.0.0", "==2!1.0.*", true}, {"2!1.0.0", "==2!1.*", true},
	{"1.0", "!=2!1.0", true}, {"1.0", "<=2!0.1", true}, {"2!1.0", ">=2.0", true}, {"2!1.0", ">2.0", true},
	{"1.0", "~=2!1.0", false}, {"2!1.0", "~=1.0", false}, {"2!1.0", "==1.0", false}, {"1.0", "==2!1.0", false},
	{"2!1.0", "==1.0.0.*", false}, {"1.0", "==2!1.0.0.*", false}, {"2!1.0", "==1.*", false}, {"1.0", "==2!1.*", false},
	{"2!1.0", "!=2!1.0", false},
	// ===
	{"1.0", "===1.0", true}, {"1.0.0", "===1.0", false}, {"1.0.dev0", "===1.0", false},
	{"1.0.dev0", "===1.0.dev0", true}, {"1.0+downstream1", "===1.0", false}, {"1.0", "===1.0+downstream1", false},
	{"1.0a1", "===1.0A1", true}, {"1.0+LOCAL", "===1.0+local", true}, {"1.0rc1", "===1.0RC1", true},
	{"1.01", "===1.1", true}, {"1.1", "===1.01", false}, {"1.a1", "===1a1", true}, {"1.0-1", "===1.0.post1", true},
}

func TestSpecifierContains(t *testing.T) {
	for _, tc := range specifierCases {
		sp, err := ParseSpecifier(tc.spec)
		if err != nil {
			t.Errorf("ParseSpecifier(%q): %v", tc.spec, err)
			continue
		}
		v := MustParse(tc.v)
		if got := sp.Contains(v, true); got != tc.want {
			t.Errorf("%s.Contains(%s) = %v, want %v", tc.spec, tc.v, got, tc.want)
		}
		ss := Specifiers{sp}
		if got := ss.Contains(v, true); got != tc.want {
			t.Errorf("Specifiers{%s}.Contains(%s) = %v, want %v", tc.spec, tc.v, got, tc.want)
		}
	}
}

func TestContainsPrereleaseFlag(t *testing.T) {
	tests := []struct {
		spec, v     string
		prereleases bool
		want        bool
	}{
		{">=1.0", "2.0.dev1", true, true}, {">=1.0", "2.0.dev1", false, false},
		{">=2.0.dev1", "2.0a1", false, false}, {">=2.0.dev1", "2.0a1", true, true},
		{"==2.0.*", "2.0.dev1", false, false}, {"<1.0.dev1", "0.9.dev1", false, false},
		{"<=2.0", "1.0.dev1", false, false}, {"<=2.0", "1.0.dev1", true, true},
		{">=1.0", "2.0", false, true}, {">=1.0", "2.0.post1", false, true}, {">=1.0", "2.0+local", false, true},
		{"", "2.0a1", false, false}, {"", "2.0a1", true, true},
	}
	for _, tc := range tests {
		ss := MustParseSpecifiers(tc.spec)
		if got := ss.Contains(MustParse(tc.v), tc.prereleases); got != tc.want {
			t.Errorf("%q.Contains(%s, %v) = %v, want %v", tc.spec, tc.v, tc.prereleases, got, tc.want)
		}
	}
}

func TestMentionsPrerelease(t *testing.T) {
	tests := []struct {
		spec string
		want bool
	}{
		{"==1.0", false}, {">=1.0", false}, {"<=1.0", false}, {"~=1.0", false}, {"<1.0", false}, {">1.0", false},
		{"<1.0.dev1", true}, {">1.0.dev1", true}, {"!=1.0.dev1", false}, {"==1.0.*", false}, {"==1.0.dev1", true},
		{">=1.0.dev1", true}, {"<=1.0.dev1", true}, {"~=1.0.dev1", true}, {"===1.0a1", true}, {"===lolwat", false},
		{">=1.0,<2.0b1", true}, {">=1.0,!=2.0b1", false}, {"", false}, {">=1.0.post1", false},
	}
	for _, tc := range tests {
		if got := MustParseSpecifiers(tc.spec).MentionsPrerelease(); got != tc.want {
			t.Errorf("%q.MentionsPrerelease() = %v, want %v", tc.spec, got, tc.want)
		}
	}
}

func TestFilter(t *testing.T) {
	tests := []struct {
		spec     string
		in, want []string
	}{
		{">=1.0.dev1", []string{"1.0", "2.0a1"}, []string{"1.0", "2.0a1"}},
		{">=1.2.3", []string{"1.2", "1.5a1"}, []string{"1.5a1"}},
		{">=1.2.3", []string{"1.3", "1.5a1"}, []string{"1.3"}},
		{">=1.0", []string{"2.0a1"}, []string{"2.0a1"}},
		{"!=2.0a1", []string{"1.0a2", "1.0", "2.0a1"}, []string{"1.0"}},
		{"==2.0a1", []string{"2.0a1"}, []string{"2.0a1"}},
		{">2.0a1", []string{"2.0a1", "3.0a2", "3.0"}, []string{"3.0a2", "3.0"}},
		{"<2.0a1", []string{"1.0a2", "1.0", "2.0a1"}, []string{"1.0a2", "1.0"}},
		{"~=2.0a1", []string{"1.0", "2.0a1", "3.0a2", "3.0"}, []string{"2.0a1"}},
		{"===1.0", []string{"1.0", "1.0.0", "2.0"}, []string{"1.0"}},
		{"===1.0", []string{"1.0", "1.0+downstream1"}, []string{"1.0"}},
		{"", []string{"1.0", "2.0a1", "0.5"}, []string{"1.0", "0.5"}},
		{"", []string{"2.0a1", "2.0b1"}, []string{"2.0a1", "2.0b1"}},
		{">=3", []string{"1.0", "2.0"}, nil},
		{"<2", []string{"1.0", "2.0a1", "1.5.dev0"}, []string{"1.0"}},
		{"<2", []string{"2.0a1", "1.5.dev0"}, []string{"1.5.dev0"}},
	}
	for _, tc := range tests {
		var in []Version
		for _, s := range tc.in {
			in = append(in, MustParse(s))
		}
		got := MustParseSpecifiers(tc.spec).Filter(in)
		var gotS []string
		for _, v := range got {
			gotS = append(gotS, v.String())
		}
		if strings.Join(gotS, " ") != strings.Join(tc.want, " ") {
			t.Errorf("%q.Filter(%v) = %v, want %v", tc.spec, tc.in, gotS, tc.want)
		}
	}
}
