package pep440

import (
	"slices"
	"testing"
)

// orderedVersions is strictly increasing in the PEP 440 order.
var orderedVersions = []string{
	"1.0.dev0", "1.0.dev456", "1.0.dev456+local",
	"1.0a0", "1.0a0.post0.dev0", "1.0a0.post0",
	"1.0a1.dev1", "1.0a1.dev1+local", "1.0a1", "1.0a1+local",
	"1.0b0", "1.0b1.dev456", "1.0b2", "1.0b2.post345.dev456", "1.0b2.post345", "1.0b2-346",
	"1.0rc0", "1.0rc1.dev1", "1.0c1", "1.0rc2",
	"1.0", "1.0.post0.dev0", "1.0.post0", "1.0.post456.dev34", "1.0.post456", "1.0.post456+local",
	"1.0.1.dev1", "1.0.1a1", "1.0.1", "1.0.1+local", "1.0.1.post1",
	"1.1.dev1",
	"1.2+a", "1.2+abc", "1.2+abcdef", "1.2+def", "1.2+0", "1.2+1", "1.2+1.abc", "1.2+1.1", "1.2+1.1.0", "1.2+2", "1.2+123", "1.2+123456",
	"1.2.r32+123456", "1.2.rev33+123456",
	"2.0.0.0.1", "10", "2013.10.1",
	"1!0.1", "1!1.0.dev0", "1!1.0a1", "1!1.0", "1!1.0.post1", "1!1.2+abc", "1!1.2+0",
	"2!0.0.dev0",
}

func TestCompareOrder(t *testing.T) {
	vs := make([]Version, len(orderedVersions))
	for i, s := range orderedVersions {
		vs[i] = MustParse(s)
	}
	for i := range vs {
		for j := range vs {
			want := cmpInt(i, j)
			if got := vs[i].Compare(vs[j]); got != want {
				t.Errorf("Compare(%q, %q) = %d, want %d", orderedVersions[i], orderedVersions[j], got, want)
			}
			if got := vs[i].Less(vs[j]); got != (i < j) {
				t.Errorf("Less(%q, %q) = %v, want %v", orderedVersions[i], orderedVersions[j], got, i < j)
			}
		}
	}
	// Sorting a shuffled copy restores the order.
	shuffled := slices.Clone(vs)
	slices.Reverse(shuffled)
	slices.SortFunc(shuffled, Version.Compare)
	for i := range shuffled {
		if shuffled[i].String() != vs[i].String() {
			t.Fatalf("sorted[%d] = %s, want %s", i, shuffled[i], vs[i])
		}
	}
}

func TestCompareEqualSpellings(t *testing.T) {
	for _, tc := range [][2]string{
		{"1.0", "1.0.0"}, {"1.0", "1"}, {"1.0.0.0", "1"}, {"1.0rc1", "1.0c1"}, {"1.0rc1", "1.0pre1"},
		{"1.0rc1", "1.0preview1"}, {"0!1.0", "1.0"}, {"1.0+AbC", "1.0+abc"}, {"1.0+1", "1.0+01"},
		{"1.0-1", "1.0.post1"}, {"1.0.r1", "1.0.post1"}, {"1.0a", "1.0a0"}, {"1.0+a-b_c", "1.0+a.b.c"},
		{"v1.0", "1.0"}, {"1.01", "1.1"}, {"1.0.dev", "1.0.dev0"},
	} {
		a, b := MustParse(tc[0]), MustParse(tc[1])
		if a.Compare(b) != 0 || !a.Equal(b) {
			t.Errorf("Compare(%q, %q) = %d, want 0", tc[0], tc[1], a.Compare(b))
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"1.0dev", "1.0.dev0"}, {"1.0.dev", "1.0.dev0"}, {"1.0dev1", "1.0.dev1"}, {"1.0-dev", "1.0.dev0"},
		{"1.0-dev1", "1.0.dev1"}, {"1.0DEV", "1.0.dev0"}, {"1.0.DEV1", "1.0.dev1"}, {"1.0_dev_2", "1.0.dev2"},
		{"1.0a", "1.0a0"}, {"1.0.a", "1.0a0"}, {"1.0.a1", "1.0a1"}, {"1.0-a", "1.0a0"}, {"1.0-a1", "1.0a1"},
		{"1.0alpha", "1.0a0"}, {"1.0.alpha1", "1.0a1"}, {"1.0-ALPHA1", "1.0a1"}, {"1.0A", "1.0a0"}, {"1.0_a_1", "1.0a1"},
		{"1.0b", "1.0b0"}, {"1.0.b1", "1.0b1"}, {"1.0beta", "1.0b0"}, {"1.0-BETA1", "1.0b1"}, {"1.0B1", "1.0b1"},
		{"1.0c", "1.0rc0"}, {"1.0.c1", "1.0rc1"}, {"1.0rc", "1.0rc0"}, {"1.0-RC1", "1.0rc1"}, {"1.0C1", "1.0rc1"},
		{"1.0pre", "1.0rc0"}, {"1.0preview2", "1.0rc2"}, {"1.0-pre.3", "1.0rc3"},
		{"1.0post", "1.0.post0"}, {"1.0.post", "1.0.post0"}, {"1.0post1", "1.0.post1"}, {"1.0-post1", "1.0.post1"},
		{"1.0POST", "1.0.post0"}, {"1.0r", "1.0.post0"}, {"1.0rev", "1.0.post0"}, {"1.0.r1", "1.0.post1"},
		{"1.0.rev1", "1.0.post1"}, {"1.0-5", "1.0.post5"}, {"1.0-r5", "1.0.post5"}, {"1.0-rev5", "1.0.post5"},
		{"1.0+AbC", "1.0+abc"}, {"1.0+ubuntu-1", "1.0+ubuntu.1"}, {"1.0+ubuntu_01", "1.0+ubuntu.1"},
		{"1.01", "1.1"}, {"1.0a05", "1.0a5"}, {"1.0b07", "1.0b7"}, {"1.0c056", "1.0rc56"}, {"1.0rc09", "1.0rc9"},
		{"1.0.post000", "1.0.post0"}, {"1.1.dev09000", "1.1.dev9000"}, {"00!1.2", "1.2"}, {"0100!0.0", "100!0.0"},
		{"v1.0", "1.0"}, {"V1.0", "1.0"}, {"   v1.0\t\n", "1.0"}, {"\u202f1.0\t\u2029\n ", "1.0"},
		{"1.0.0", "1.0.0"}, {"1!2.0b3.post4.dev5+local.6", "1!2.0b3.post4.dev5+local.6"},
		{"1.0a1-1", "1.0a1.post1"}, {"1.0a1.post1-dev2", "1.0a1.post1.dev2"}, {"2013.10.01", "2013.10.1"},
	}
	for _, tc := range tests {
		v, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := v.String(); got != tc.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.want)
		}
		b, _ := v.MarshalText()
		var back Version
		if err := back.UnmarshalText(b); err != nil || back.String() != tc.want {
			t.Errorf("text round trip of %q gave %q, %v", tc.in, back, err)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, s := range []string{
		"", " ", "french toast", "1.0+a+", "1.0++", "1.0+_foobar", "1.0+foo&asd", "1.0+1+1",
		"1. 0", "1 .0", "1. 0a1", "1 .0a1", "1.0 a1", "1.0a 1",
		"٠١٢.٣٤٥.٦٧٨٩", ".", "..", "1..0", "1.0.", ".1.0", "1..2.3",
		"1.0+\u0130", "1.0+\u212a", "1.0+\u017f", "1.0-", "1.0.post1.post2", "1.0a1a2", "1.0.dev1.dev2",
		"1.0.dev1.post1", "1!", "!1.0", "1!2!3", "vv1.0", "1.0+", "a1.0", "1.0b1.a1",
		"99999999999999999999999.0",
	} {
		if v, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) = %s, want an error", s, v)
		}
	}
}

func TestAccessors(t *testing.T) {
	tests := []struct {
		in                  string
		public, base, local string
		epoch               int
		release             []int
		preKind             string
		preNum              int
		post, dev           int // -1: none
		pre, isDev, isPost  bool
	}{
		{"1.0", "1.0", "1.0", "", 0, []int{1, 0}, "", 0, -1, -1, false, false, false},
		{"1.0.dev6", "1.0.dev6", "1.0", "", 0, []int{1, 0}, "", 0, -1, 6, true, true, false},
		{"1.0a1.post5.dev6", "1.0a1.post5.dev6", "1.0", "", 0, []int{1, 0}, "a", 1, 5, 6, true, true, true},
		{"1.0rc4+deadbeef", "1.0rc4", "1.0", "deadbeef", 0, []int{1, 0}, "rc", 4, -1, -1, true, false, false},
		{"1!1.0.post5+deadbeef", "1!1.0.post5", "1!1.0", "deadbeef", 1, []int{1, 0}, "", 0, 5, -1, false, false, true},
		{"1.0.post1+dev", "1.0.post1", "1.0", "dev", 0, []int{1, 0}, "", 0, 1, -1, false, false, true},
		{"1.0+dev", "1.0", "1.0", "dev", 0, []int{1, 0}, "", 0, -1, -1, false, false, false},
		{"1.0c1.post1.dev1", "1.0rc1.post1.dev1", "1.0", "", 0, []int{1, 0}, "rc", 1, 1, 1, true, true, true},
		{"1.0b1.post1", "1.0b1.post1", "1.0", "", 0, []int{1, 0}, "b", 1, 1, -1, true, false, true},
		{"2.1.0.3+Ab.01.c", "2.1.0.3", "2.1.0.3", "ab.1.c", 0, []int{2, 1, 0, 3}, "", 0, -1, -1, false, false, false},
		{"7!1.0.post456.dev34", "7!1.0.post456.dev34", "7!1.0", "", 7, []int{1, 0}, "", 0, 456, 34, true, true, true},
	}
	for _, tc := range tests {
		v := MustParse(tc.in)
		if got := v.Public().String(); got != tc.public {
			t.Errorf("%s.Public() = %q, want %q", tc.in, got, tc.public)
		}
		if got := v.BaseVersion().String(); got != tc.base {
			t.Errorf("%s.BaseVersion() = %q, want %q", tc.in, got, tc.base)
		}
		if got := v.Local(); got != tc.local {
			t.Errorf("%s.Local() = %q, want %q", tc.in, got, tc.local)
		}
		if got := v.IsLocal(); got != (tc.local != "") {
			t.Errorf("%s.IsLocal() = %v", tc.in, got)
		}
		if got := v.Epoch(); got != tc.epoch {
			t.Errorf("%s.Epoch() = %d, want %d", tc.in, got, tc.epoch)
		}
		if got := v.Release(); !slices.Equal(got, tc.release) {
			t.Errorf("%s.Release() = %v, want %v", tc.in, got, tc.release)
		}
		kind, n, ok := v.Pre()
		if kind != tc.preKind || n != tc.preNum || ok != (tc.preKind != "") {
			t.Errorf("%s.Pre() = %q, %d, %v; want %q, %d", tc.in, kind, n, ok, tc.preKind, tc.preNum)
		}
		if p, ok := v.Post(); ok != (tc.post >= 0) || (ok && p != tc.post) {
			t.Errorf("%s.Post() = %d, %v; want %d", tc.in, p, ok, tc.post)
		}
		if d, ok := v.Dev(); ok != (tc.dev >= 0) || (ok && d != tc.dev) {
			t.Errorf("%s.Dev() = %d, %v; want %d", tc.in, d, ok, tc.dev)
		}
		if got := v.IsPrerelease(); got != tc.pre {
			t.Errorf("%s.IsPrerelease() = %v, want %v", tc.in, got, tc.pre)
		}
		if got := v.IsDevrelease(); got != tc.isDev {
			t.Errorf("%s.IsDevrelease() = %v, want %v", tc.in, got, tc.isDev)
		}
		if got := v.IsPostrelease(); got != tc.isPost {
			t.Errorf("%s.IsPostrelease() = %v, want %v", tc.in, got, tc.isPost)
		}
	}
}

func TestReleaseIsACopy(t *testing.T) {
	v := MustParse("1.2.3")
	r := v.Release()
	r[0] = 9
	if v.String() != "1.2.3" {
		t.Fatalf("changing Release() changed the version to %s", v)
	}
}

func TestZeroVersion(t *testing.T) {
	var v Version
	if v.String() != "0" || v.Compare(MustParse("0.0")) != 0 {
		t.Fatalf("zero Version = %q, want \"0\" equal to 0.0", v)
	}
}

func FuzzParseRoundTrip(f *testing.F) {
	for _, s := range orderedVersions {
		f.Add(s)
	}
	for _, s := range []string{"1.0-1", "v1.0RC1", "1!2.0.post", "1.0+Ubuntu-01", " 1.0.dev ", "1.0a.1", "1.0_pre_2-r3.DEV4+x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			return
		}
		norm := v.String()
		w, err := Parse(norm)
		if err != nil {
			t.Fatalf("Parse(%q) gave %q, which does not parse: %v", s, norm, err)
		}
		if w.String() != norm {
			t.Fatalf("normal form not stable: %q -> %q -> %q", s, norm, w.String())
		}
		if v.Compare(w) != 0 {
			t.Fatalf("%q and its normal form %q compare %d", s, norm, v.Compare(w))
		}
	})
}

func TestKey(t *testing.T) {
	vs := make([]Version, 0, len(orderedVersions))
	for _, s := range orderedVersions {
		vs = append(vs, MustParse(s))
	}
	for _, tc := range [][2]string{{"1.0.0", "1"}, {"1.0.0+a.0", "1+a.0"}, {"1!2.0.0rc1.post0.dev0", "1!2rc1.post0.dev0"}, {"0.0", "0"}, {"1.0.1", "1.0.1"}, {"1.01.0+01", "1.1+1"}} {
		if got := MustParse(tc[0]).Key(); got != tc[1] {
			t.Errorf("Key(%q) = %q, want %q", tc[0], got, tc[1])
		}
		vs = append(vs, MustParse(tc[0]))
	}
	for _, a := range vs {
		for _, b := range vs {
			if (a.Key() == b.Key()) != (a.Compare(b) == 0) {
				t.Errorf("%s and %s: keys %q, %q but Compare %d", a, b, a.Key(), b.Key(), a.Compare(b))
			}
		}
	}
	v := MustParse("1.0.0")
	if v.Key(); v.String() != "1.0.0" {
		t.Errorf("Key changed the version to %s", v)
	}
}

func TestMajorMinorMicro(t *testing.T) {
	for _, tc := range []struct {
		in                  string
		major, minor, micro int
	}{{"3.11.4", 3, 11, 4}, {"3.11", 3, 11, 0}, {"3", 3, 0, 0}, {"1!2.3.4.5rc1", 2, 3, 4}} {
		v := MustParse(tc.in)
		if v.Major() != tc.major || v.Minor() != tc.minor || v.Micro() != tc.micro {
			t.Errorf("%s: %d.%d.%d, want %d.%d.%d", tc.in, v.Major(), v.Minor(), v.Micro(), tc.major, tc.minor, tc.micro)
		}
	}
}
