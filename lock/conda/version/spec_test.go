package version

import (
	"testing"
)

// The vectors of conda's VersionSpec match test, all against 1.7.1.
func TestSpecMatchConda171(t *testing.T) {
	for _, c := range []struct {
		spec string
		want bool
	}{
		{"1.7.*", true}, {"1.7.1", true}, {"1.7.0", false}, {"1.7", false},
		{"1.5.*", false}, {">=1.5", true}, {"!=1.5", true}, {"!=1.7.1", false},
		{"==1.7.1", true}, {"==1.7", false}, {"==1.7.2", false}, {"==1.7.1.0", true},
		{"1.7.*|1.8.*", true}, {"1.8.*|1.9.*", false},
		{">1.7,<1.8", true}, {">1.7.1,<1.8", false},
		{"^1.7.1$", true}, {`^1\.7\.1$`, true}, {`^1\.7\.[0-9]+$`, true},
		{`^1\.8.*$`, false}, {`^1\.[5-8]\.1$`, true}, {`^[^1].*$`, false},
		{`^[0-9+]+\.[0-9+]+\.[0-9]+$`, true}, {"^$", false},
		{"^.*$", true}, {"1.7.*|^0.*$", true}, {"1.6.*|^0.*$", false},
		{"1.6.*|^0.*$|1.7.1", true}, {"^0.*$|1.7.1", true},
		{`1.6.*|^.*\.7\.1$|0.7.1`, true}, {"*", true}, {"1.*.1", true},
		{"1.5.*|>1.7,<1.8", true}, {"1.5.*|>1.7,<1.7.1", false},
		{"1.7*", true}, {"1.7.1*", true}, {"1*", true}, {"17*", false},
		{"=1.7", true}, {"=1.7.1", true}, {"=1.7.1.*", true}, {"=1.8", false},
		{">=1.7.*", true}, {"!=1.7.*", false}, {"!=1.8.*", true},
		{"(1.5|1.6),<2", false}, {"(1.5|1.7.1),<2", true}, {"( 1.5 | 1.7.1 ) , <2", true},
		{"<=1.7.1", true}, {"<1.7.1", false}, {">1.7.0.9", true},
		// A missing local part counts as 0, as in conda.
		{"1.7.1+0", true}, {"==1.7.1+1", false},
		{"~=1.7", true}, {"~=1.7.0", true}, {"~=1.7.1", true}, {"~=1.7.2", false}, {"~=1.6", true}, {"~=1.6.0", false},
	} {
		sp, err := ParseSpec(c.spec)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.spec, err)
			continue
		}
		if got := sp.Match(MustParse("1.7.1")); got != c.want {
			t.Errorf("ParseSpec(%q).Match(1.7.1) = %v, want %v", c.spec, got, c.want)
		}
	}
}

func TestSpecMatchMore(t *testing.T) {
	for _, c := range []struct {
		spec, v string
		want    bool
	}{
		// Compatible release (conda's test_compatible_release_versions).
		{"~=1.10", "1.11.0", true},
		{"~=1.10.0", "1.11.0", false},
		{"~=3.3.2", "3.4.0", false},
		{"~=3.3.2", "3.3.1", false},
		{"~=3.3.2", "3.3.2.0", true},
		{"~=3.3.2", "3.3.3", true},
		{"~=3.3.2|==2.2", "2.2.0", true},
		{"~=3.3.2|==2.2", "3.3.3", true},
		{"~=3.3.2|==2.2", "2.2.1", false},
		// Local versions match themselves (conda's test_local_identifier).
		{"1.7.0.post123.gabcdef9", "1.7.0.post123.gabcdef9", true},
		{"1.7.0.post123+gabcdef9", "1.7.0.post123+gabcdef9", true},
		// Equality is VersionOrder equality.
		{"==1.1", "1.1.0", true},
		{"1.1", "1.1.0.0", true},
		{"==1.1", "1.1.1", false},
		// The documented examples.
		{"1.0|1.4*", "1.4.1b2", true},
		{"1.0|1.4*", "1.2", false},
		{">=1,<2|>3", "1.3", true},
		{">=1,<2|>3", "3.0", false},
		{">=1,<2|>3", "3.1", true},
		{">=1,<2|>3", "2.2", false},
		{"<=1.0", "1.0.1", false},
		{"<=1.0", "0.9.1", true},
		{">1.0b4", "1.0rc1", true},
		{">1.0b4", "1.0a5", false},
		{">=2,<3", "2.9", true},
		{"3.6*", "3.6.0rc1", true},
		{"2.7*", "2.7.15", true},
		{"2.7*", "2.70", false},
		// Epochs.
		{">=1!164.3095,<1!165", "1!164.3095", true},
		{">=1!164.3095,<1!165", "164.3095", false},
		// Glob in the middle.
		{"1.*.3", "1.2.3", true},
		{"1.*.3", "1.2.4", false},
		// "==" with ".*" is read as starts-with, as rattler does.
		{"==2.7.*|>=3.6", "2.7.5", true},
		{"==2.7.*|>=3.6", "3.5", false},
		{"<1.8.*", "1.7.9", true},
		{"<1.8.*", "1.8.0", false},
		{"*.*", "4", true},
		{"=*", "4", true},
	} {
		sp, err := ParseSpec(c.spec)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.spec, err)
			continue
		}
		if got := sp.Match(MustParse(c.v)); got != c.want {
			t.Errorf("ParseSpec(%q).Match(%q) = %v, want %v", c.spec, c.v, got, c.want)
		}
	}
}

func TestSpecString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"1.2", "==1.2"},
		{"==1.2", "==1.2"},
		{"1.2*", "1.2.*"},
		{"1.2.*", "1.2.*"},
		{"=1.2", "1.2.*"},
		{"=1.2.*", "1.2.*"},
		{"!=1.2.*", "!=1.2.*"},
		{">=1.2.*", ">=1.2"},
		{"~=1.2.3", "~=1.2.3"},
		{"*", "*"},
		{">=1.2, <2", ">=1.2,<2"},
		{"1.2.3,>4.5.6", "==1.2.3,>4.5.6"},
		{"1.2.3,4.5.6|<=7.8.9", "==1.2.3,==4.5.6|<=7.8.9"},
		{"(1.2.3|4.5.6),<=7.8.9", "(==1.2.3|==4.5.6),<=7.8.9"},
		{"((1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1", "==1.5|(==1.6|==1.7),==1.8,==1.9|==2.0|==2.1"},
		{"1.5|(1.6|1.7),1.8,1.9|2.0|2.1", "==1.5|(==1.6|==1.7),==1.8,==1.9|==2.0|==2.1"},
		{`^1\.7.*$`, `^1\.7.*$`},
		{"1.*.3", "1.*.3"},
	} {
		sp, err := ParseSpec(c.in)
		if err != nil {
			t.Errorf("ParseSpec(%q): %v", c.in, err)
			continue
		}
		if got := sp.String(); got != c.want {
			t.Errorf("ParseSpec(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := ParseSpec(sp.String())
		if err != nil || again.String() != c.want {
			t.Errorf("re-parsing %q gave %q, %v", sp.String(), again.String(), err)
		}
	}
}

func TestSpecErrors(t *testing.T) {
	for _, s := range []string{
		"", ">=", "<>1.2", "<=!1.2", ">= 1.2", "=>1.2", "~=1.2.*", "~=1", "1.2|", "|1.2", "(1.2",
		"1.2)", "1.2,,1.3", "^1.2", "1.2$", ">=1.*.2", "1.2#", "(^1.2)",
	} {
		if _, err := ParseSpec(s); err == nil {
			t.Errorf("ParseSpec(%q) succeeded, want an error", s)
		}
	}
}
