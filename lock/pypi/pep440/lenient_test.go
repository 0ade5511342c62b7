package pep440

import "testing"

func TestParseSpecifiersLenient(t *testing.T) {
	tests := []struct {
		in, want string
		fixed    bool
	}{
		{">=3.6", ">=3.6", false},
		{"", "", false},
		{">=3.6,", ">=3.6", true},
		{">=2.7,!=3.0*,!=3.1*,!=3.2*", ">=2.7,!=3.0.*,!=3.1.*,!=3.2.*", true},
		{">=2.7, !=3.0.*, !=3.1.*,", ">=2.7,!=3.0.*,!=3.1.*", true},
		{">=7.2.0<8.0.0", ">=7.2.0,<8.0.0", true},
		{">=7.2.0 <8.0.0", ">=7.2.0,<8.0.0", true},
		{">=1.9.*", ">=1.9", true},
		{"<3.4.*", "<3.4", true},
		{">=3.5.*,<4", ">=3.5,<4", true},
		{"!=~5.0", "!=5.0", true},
		{"=3.6", "==3.6", true},
		{">=2.6,,<3", ">=2.6,<3", true},
		{"== 2.7.*", "==2.7.*", false},
	}
	for _, tc := range tests {
		ss, fixed, err := ParseSpecifiersLenient(tc.in)
		if err != nil {
			t.Errorf("ParseSpecifiersLenient(%q): %v", tc.in, err)
			continue
		}
		if ss.String() != tc.want || fixed != tc.fixed {
			t.Errorf("ParseSpecifiersLenient(%q) = %q (fixed %v), want %q (fixed %v)", tc.in, ss, fixed, tc.want, tc.fixed)
		}
	}
	for _, bad := range []string{"lolwat", ">=", ">=3.6; python_version", "3.6"} {
		_, _, err := ParseSpecifiersLenient(bad)
		if err == nil {
			t.Errorf("ParseSpecifiersLenient(%q) gave no error", bad)
		}
	}
	// The error is the original one.
	_, _, err := ParseSpecifiersLenient("~=lol")
	if _, werr := ParseSpecifiers("~=lol"); err == nil || err.Error() != werr.Error() {
		t.Errorf("error = %v, want %v", err, werr)
	}
}
