package tags

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/target"
)

func TestParseTag(t *testing.T) {
	tests := []struct{ in, want string }{
		{"py3-none-any", "py3-none-any"},
		{"py2.py3-none-any", "py2-none-any py3-none-any"},
		{"cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "cp311-cp311-manylinux_2_17_x86_64 cp311-cp311-manylinux2014_x86_64"},
		{"CP311-ABI3-Linux_X86_64", "cp311-abi3-linux_x86_64"},
		{"cp38.cp39-abi3.none-any.linux_x86_64", "cp38-abi3-any cp38-abi3-linux_x86_64 cp38-none-any cp38-none-linux_x86_64 cp39-abi3-any cp39-abi3-linux_x86_64 cp39-none-any cp39-none-linux_x86_64"},
	}
	for _, tc := range tests {
		tags, err := ParseTag(tc.in)
		if err != nil {
			t.Errorf("ParseTag(%q): %v", tc.in, err)
			continue
		}
		if got := joinTags(tags); got != tc.want {
			t.Errorf("ParseTag(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"py3-none", "py3-none-any-x", "py3.-none-any", "-none-any", "py3--any"} {
		if tags, err := ParseTag(bad); err == nil {
			t.Errorf("ParseTag(%q) = %v, want an error", bad, tags)
		}
	}
}

func joinTags(tags []Tag) string {
	s := make([]string, len(tags))
	for i, t := range tags {
		s[i] = t.String()
	}
	return strings.Join(s, " ")
}

func TestParseWheelFilename(t *testing.T) {
	tests := []struct {
		fn, name, version, build, tags string
	}{
		{"foo-1.0-py3-none-any.whl", "foo", "1.0", "", "py3-none-any"},
		{"some_PACKAGE-1.0-py3-none-any.whl", "some-package", "1.0", "", "py3-none-any"},
		{"foo-1.0-1000-py3-none-any.whl", "foo", "1.0", "1000", "py3-none-any"},
		{"foo-1.0-1000abc-py3-none-any.whl", "foo", "1.0", "1000abc", "py3-none-any"},
		{"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "numpy", "1.26.4", "", "cp311-cp311-manylinux_2_17_x86_64 cp311-cp311-manylinux2014_x86_64"},
		{"pyvirtualcam-0.13.0-cp310-cp310-manylinux2014_x86_64.manylinux_2_17_x86_64.whl", "pyvirtualcam", "0.13.0", "", "cp310-cp310-manylinux2014_x86_64 cp310-cp310-manylinux_2_17_x86_64"},
		{"foo_bár-1.0-py3-none-any.whl", "foo-bár", "1.0", "", "py3-none-any"},
		{"six-1.16.0-py2.py3-none-any.whl", "six", "1.16.0", "", "py2-none-any py3-none-any"},
		{"zope.interface-6.0-cp311-cp311-musllinux_1_1_x86_64.whl", "zope-interface", "6.0", "", "cp311-cp311-musllinux_1_1_x86_64"},
		{"torch-2.4.0+cpu-cp311-cp311-linux_x86_64.whl", "torch", "2.4.0+cpu", "", "cp311-cp311-linux_x86_64"},
		{"foo-1.0a.1-py3-none-any.whl", "foo", "1.0a1", "", "py3-none-any"},
	}
	for _, tc := range tests {
		w, err := ParseWheelFilename(tc.fn)
		if err != nil {
			t.Errorf("ParseWheelFilename(%q): %v", tc.fn, err)
			continue
		}
		if w.Name != tc.name || w.Version.String() != tc.version || w.Build != tc.build || joinTags(w.Tags) != tc.tags || w.Filename != tc.fn {
			t.Errorf("ParseWheelFilename(%q) = %q %s %q %q, want %q %s %q %q", tc.fn, w.Name, w.Version, w.Build, joinTags(w.Tags), tc.name, tc.version, tc.build, tc.tags)
		}
	}
	for _, bad := range []string{
		"foo-1.0.whl", "foo-1.0-py3-none-any.wheel", "foo__bar-1.0-py3-none-any.whl", "foo#bar-1.0-py3-none-any.whl",
		"foobar-1.x-py3-none-any.whl", "foo-1.0-abc-py3-none-any.whl", "foo-1.0-200-py3-none-any-junk.whl",
		"foo-1.0--none-any.whl", "foo-1.0-py3-none-.whl", "foo-1.0-py3.-none-any.whl", "-1.0-py3-none-any.whl",
		"foo-1.0--py3-none-any.whl",
	} {
		if w, err := ParseWheelFilename(bad); err == nil {
			t.Errorf("ParseWheelFilename(%q) = %+v, want an error", bad, w)
		} else if !strings.Contains(err.Error(), fmt.Sprintf("%q", bad)) {
			t.Errorf("error %q does not quote the file name", err)
		}
	}
}

func TestCompareBuildTags(t *testing.T) {
	ordered := []string{"", "0", "1", "1a", "1b", "2", "10", "010x", "100"}
	for i := range ordered {
		for j := range ordered {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := CompareBuildTags(ordered[i], ordered[j]); got != want {
				t.Errorf("CompareBuildTags(%q, %q) = %d, want %d", ordered[i], ordered[j], got, want)
			}
		}
	}
}

func TestParseSdistFilename(t *testing.T) {
	tests := []struct{ fn, name, version, ext string }{
		{"foo-1.0.tar.gz", "foo", "1.0", ".tar.gz"},
		{"foo-1.0.zip", "foo", "1.0", ".zip"},
		{"Foo_Bar-2.0rc1.tar.gz", "foo-bar", "2.0rc1", ".tar.gz"},
		{"zope.interface-6.0.tar.gz", "zope-interface", "6.0", ".tar.gz"},
		{"foo-bar-baz-1.0.post1.tar.bz2", "foo-bar-baz", "1.0.post1", ".tar.bz2"},
		{"pkg-0.1.TAR.GZ", "pkg", "0.1", ".tar.gz"},
		{"old-1.0.tgz", "old", "1.0", ".tgz"},
	}
	for _, tc := range tests {
		s, err := ParseSdistFilename(tc.fn)
		if err != nil {
			t.Errorf("ParseSdistFilename(%q): %v", tc.fn, err)
			continue
		}
		if s.Name != tc.name || s.Version.String() != tc.version || s.Ext != tc.ext {
			t.Errorf("ParseSdistFilename(%q) = %q %s %q, want %q %s %q", tc.fn, s.Name, s.Version, s.Ext, tc.name, tc.version, tc.ext)
		}
	}
	for _, bad := range []string{"foo-1.0.xz", "foo1.0.tar.gz", "foo-1.x.tar.gz", "-1.0.tar.gz", "foo-.tar.gz"} {
		if s, err := ParseSdistFilename(bad); err == nil {
			t.Errorf("ParseSdistFilename(%q) = %+v, want an error", bad, s)
		}
	}
	// With the project known, a version holding a dash is read whole.
	s, err := ParseSdistFilenameFor("Foo.Bar-1.0-1.tar.gz", "foo-bar")
	if err != nil || s.Name != "foo-bar" || s.Version.String() != "1.0.post1" {
		t.Errorf("ParseSdistFilenameFor(Foo.Bar-1.0-1.tar.gz) = %+v, %v", s, err)
	}
	if _, err := ParseSdistFilenameFor("other-1.0.tar.gz", "foo"); err == nil {
		t.Errorf("ParseSdistFilenameFor of another project gave no error")
	}
}

func TestPlatformTags(t *testing.T) {
	var many []string
	for z := 28; z >= 5; z-- {
		many = append(many, fmt.Sprintf("manylinux_2_%d_x86_64", z))
		switch z {
		case 17:
			many = append(many, "manylinux2014_x86_64")
		case 12:
			many = append(many, "manylinux2010_x86_64")
		case 5:
			many = append(many, "manylinux1_x86_64")
		}
	}
	many = append(many, "linux_x86_64")
	tests := []struct {
		target Target
		want   []string
	}{
		{Target{Arch: "x86_64", Libc: "glibc", LibcMajor: 2, LibcMinor: 28}, many},
		{Target{Arch: "aarch64", Libc: "glibc", LibcMajor: 2, LibcMinor: 19}, []string{"manylinux_2_19_aarch64", "manylinux_2_18_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"}},
		{Target{Arch: "aarch64", Libc: "glibc", LibcMajor: 2, LibcMinor: 17}, []string{"manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"}},
		{Target{Arch: "aarch64", Libc: "glibc", LibcMajor: 2, LibcMinor: 12}, []string{"linux_aarch64"}},
		{Target{Arch: "x86_64", Libc: "glibc", LibcMajor: 2, LibcMinor: 5}, []string{"manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64"}},
		{Target{Arch: "x86_64", Libc: "musl", LibcMajor: 1, LibcMinor: 2}, []string{"musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64"}},
		{Target{Arch: "aarch64", Libc: "musl", LibcMajor: 1, LibcMinor: 1}, []string{"musllinux_1_1_aarch64", "musllinux_1_0_aarch64", "linux_aarch64"}},
	}
	for _, tc := range tests {
		if got := tc.target.PlatformTags(); !slices.Equal(got, tc.want) {
			t.Errorf("%v.PlatformTags() =\n%q\nwant\n%q", tc.target, got, tc.want)
		}
	}
	// A glibc 3.x target continues into 2.x from the assumed last minor.
	got := Target{Arch: "aarch64", Libc: "glibc", LibcMajor: 3, LibcMinor: 1}.PlatformTags()
	if len(got) < 4 || got[0] != "manylinux_3_1_aarch64" || got[1] != "manylinux_3_0_aarch64" || got[2] != "manylinux_2_50_aarch64" || got[len(got)-2] != "manylinux2014_aarch64" {
		t.Errorf("glibc 3.1 platform tags = %q", got)
	}
}

var cp311 = Target{PythonMajor: 3, PythonMinor: 11, Implementation: "cpython", Arch: "x86_64", Libc: "glibc", LibcMajor: 2, LibcMinor: 28}

func TestCompatibleTagsCPython(t *testing.T) {
	tags := CompatibleTags(cp311)
	plats := cp311.PlatformTags()
	P := len(plats)
	pys := []string{"py311", "py3", "py310", "py39", "py38", "py37", "py36", "py35", "py34", "py33", "py32", "py31", "py30"}
	var want []Tag
	for _, p := range plats {
		want = append(want, Tag{"cp311", "cp311", p})
	}
	for _, p := range plats {
		want = append(want, Tag{"cp311", "abi3", p})
	}
	for _, p := range plats {
		want = append(want, Tag{"cp311", "none", p})
	}
	for minor := 10; minor >= 2; minor-- {
		for _, p := range plats {
			want = append(want, Tag{fmt.Sprintf("cp3%d", minor), "abi3", p})
		}
	}
	for _, py := range pys {
		for _, p := range plats {
			want = append(want, Tag{py, "none", p})
		}
	}
	want = append(want, Tag{"cp311", "none", "any"})
	for _, py := range pys {
		want = append(want, Tag{py, "none", "any"})
	}
	if len(tags) != len(want) || len(tags) != 3*P+9*P+13*P+1+13 {
		t.Fatalf("got %d tags, want %d", len(tags), len(want))
	}
	for i := range want {
		if tags[i] != want[i] {
			t.Fatalf("tag %d = %s, want %s", i, tags[i], want[i])
		}
	}
	// Each tag appears once.
	seen := map[Tag]bool{}
	for _, tag := range tags {
		if seen[tag] {
			t.Fatalf("tag %s listed twice", tag)
		}
		seen[tag] = true
	}
	if got := cp311.CompatibleTags(); !slices.Equal(got, tags) {
		t.Errorf("method and function disagree")
	}
}

func TestCompatibleTagsVariants(t *testing.T) {
	ft := Target{PythonMajor: 3, PythonMinor: 13, Implementation: "cpython", Arch: "aarch64", Libc: "glibc", LibcMajor: 2, LibcMinor: 17, FreeThreaded: true}
	tags := CompatibleTags(ft)
	if tags[0] != (Tag{"cp313", "cp313t", "manylinux_2_17_aarch64"}) {
		t.Errorf("free-threaded first tag = %s", tags[0])
	}
	for _, tag := range tags {
		if tag.ABI == "abi3" || tag.ABI == "cp313" {
			t.Errorf("free-threaded target accepts %s", tag)
		}
	}
	if !ft.Supports(Tag{"cp313", "none", "linux_aarch64"}) || !ft.Supports(Tag{"py3", "none", "any"}) {
		t.Errorf("free-threaded target rejects none/any tags")
	}

	old := Target{PythonMajor: 3, PythonMinor: 7, Implementation: "cpython", Arch: "x86_64", Libc: "glibc", LibcMajor: 2, LibcMinor: 17}
	if got := CompatibleTags(old)[0]; got != (Tag{"cp37", "cp37m", "manylinux_2_17_x86_64"}) {
		t.Errorf("3.7 first tag = %s, want the cp37m ABI", got)
	}

	pypy := Target{PythonMajor: 3, PythonMinor: 10, Implementation: "pypy", Arch: "x86_64", Libc: "glibc", LibcMajor: 2, LibcMinor: 28}
	pt := CompatibleTags(pypy)
	if pt[0] != (Tag{"py310", "none", "manylinux_2_28_x86_64"}) || pt[len(pt)-1] != (Tag{"py30", "none", "any"}) {
		t.Errorf("pypy tags run from %s to %s", pt[0], pt[len(pt)-1])
	}
	for _, tag := range pt {
		if strings.HasPrefix(tag.Interpreter, "cp") {
			t.Fatalf("pypy target accepts %s", tag)
		}
	}

	musl := Target{PythonMajor: 3, PythonMinor: 12, Implementation: "cpython", Arch: "x86_64", Libc: "musl", LibcMajor: 1, LibcMinor: 2}
	if musl.Supports(Tag{"cp312", "cp312", "manylinux_2_17_x86_64"}) || !musl.Supports(Tag{"cp312", "cp312", "musllinux_1_1_x86_64"}) {
		t.Errorf("musl target: manylinux/musllinux support wrong")
	}
}

func mustWheel(t *testing.T, fn string) WheelName {
	t.Helper()
	w, err := ParseWheelFilename(fn)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestRankCompatibility(t *testing.T) {
	tests := []struct {
		fn string
		ok bool
	}{
		{"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", true},
		{"numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl", false},
		{"numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.manylinux2014_aarch64.whl", false},
		{"numpy-1.26.4-cp311-cp311-macosx_10_9_x86_64.whl", false},
		{"numpy-1.26.4-cp311-cp311-win_amd64.whl", false},
		{"numpy-1.26.4-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", false},
		{"numpy-1.26.4-cp311-cp311-manylinux_2_31_x86_64.whl", false},
		{"numpy-1.26.4-cp311-cp311-manylinux_2_28_x86_64.whl", true},
		{"cryptography-42.0.5-cp39-abi3-manylinux_2_28_x86_64.whl", true},
		{"cryptography-42.0.5-cp312-abi3-manylinux_2_28_x86_64.whl", false},
		{"six-1.16.0-py2.py3-none-any.whl", true},
		{"oldlib-1.0-py2-none-any.whl", false},
		{"future-1.0-py312-none-any.whl", false},
		{"mod-1.0-cp311-none-any.whl", true},
		{"pp-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", false},
		{"ft-1.0-cp311-cp311t-manylinux_2_17_x86_64.whl", false},
		{"legacy-1.0-cp311-cp311-manylinux1_x86_64.whl", true},
		{"legacy-1.0-cp311-cp311-manylinux2010_x86_64.whl", true},
		{"plain-1.0-cp311-cp311-linux_x86_64.whl", true},
	}
	for _, tc := range tests {
		_, ok := cp311.Rank(mustWheel(t, tc.fn))
		if ok != tc.ok {
			t.Errorf("Rank(%s) ok = %v, want %v", tc.fn, ok, tc.ok)
		}
	}
}

func TestBestWheel(t *testing.T) {
	tests := []struct {
		target Target
		files  []string
		want   string // "" for none
	}{
		{cp311, []string{
			"numpy-1.26.4-cp311-cp311-macosx_10_9_x86_64.whl",
			"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
			"numpy-1.26.4-cp311-cp311-musllinux_1_1_x86_64.whl",
			"numpy-1.26.4-cp311-cp311-manylinux_2_28_x86_64.whl",
		}, "numpy-1.26.4-cp311-cp311-manylinux_2_28_x86_64.whl"},
		{cp311, []string{
			"x-1.0-py3-none-any.whl",
			"x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl",
			"x-1.0-cp311-none-any.whl",
		}, "x-1.0-cp39-abi3-manylinux_2_17_x86_64.whl"},
		{cp311, []string{
			"x-1.0-py3-none-any.whl",
			"x-1.0-cp311-none-any.whl",
		}, "x-1.0-cp311-none-any.whl"},
		{cp311, []string{
			"x-1.0-py2.py3-none-any.whl",
			"x-1.0-py311-none-any.whl",
		}, "x-1.0-py311-none-any.whl"},
		{cp311, []string{
			"x-1.0-cp310-abi3-manylinux_2_17_x86_64.whl",
			"x-1.0-cp311-abi3-manylinux_2_12_x86_64.whl",
		}, "x-1.0-cp311-abi3-manylinux_2_12_x86_64.whl"},
		{cp311, []string{
			"x-1.0-1-py3-none-any.whl",
			"x-1.0-3-py3-none-any.whl",
			"x-1.0-2-py3-none-any.whl",
			"x-1.0-py3-none-any.whl",
		}, "x-1.0-3-py3-none-any.whl"},
		{cp311, []string{
			"x-1.0-9-py3-none-any.whl",
			"x-1.0-cp311-cp311-linux_x86_64.whl",
		}, "x-1.0-cp311-cp311-linux_x86_64.whl"},
		{cp311, []string{
			"x-1.0-cp311-cp311-win_amd64.whl",
			"x-1.0-cp312-cp312-manylinux_2_17_x86_64.whl",
		}, ""},
		{Target{PythonMajor: 3, PythonMinor: 12, Implementation: "cpython", Arch: "aarch64", Libc: "glibc", LibcMajor: 2, LibcMinor: 28}, []string{
			"torch-2.4.0-cp312-cp312-manylinux1_x86_64.whl",
			"torch-2.4.0-cp312-cp312-manylinux2014_aarch64.whl",
			"torch-2.4.0-cp312-none-macosx_11_0_arm64.whl",
		}, "torch-2.4.0-cp312-cp312-manylinux2014_aarch64.whl"},
	}
	for i, tc := range tests {
		var ws []WheelName
		for _, fn := range tc.files {
			ws = append(ws, mustWheel(t, fn))
		}
		best, ok := tc.target.Best(ws)
		got := ""
		if ok {
			got = ws[best].Filename
		}
		if got != tc.want {
			t.Errorf("case %d: Best = %q, want %q", i, got, tc.want)
		}
	}
}

func TestForTarget(t *testing.T) {
	tests := []struct {
		in   target.Target
		want Target
	}{
		{target.Target{Python: "3.11.2", Implementation: "cpython", Platform: "linux/amd64", Libc: "glibc", LibcVersion: "2.36"}, Target{3, 11, "cpython", "x86_64", "glibc", 2, 36, false}},
		{target.Target{Python: "3.13.0", FreeThreaded: true, Platform: "linux/arm64/v8", Libc: "glibc", LibcVersion: "2.28"}, Target{3, 13, "cpython", "aarch64", "glibc", 2, 28, true}},
		{target.Target{Python: "3.12", Implementation: "CPython", Platform: "linux/arm64", Libc: "musl", LibcVersion: "1.2"}, Target{3, 12, "cpython", "aarch64", "musl", 1, 2, false}},
	}
	for _, tc := range tests {
		got, err := ForTarget(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ForTarget(%+v) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	ok := target.Target{Python: "3.11", Implementation: "cpython", Platform: "linux/amd64", Libc: "glibc", LibcVersion: "2.28"}
	for _, change := range []func(*target.Target){
		func(t *target.Target) { t.Python = "3" }, func(t *target.Target) { t.Python = "3.x" },
		func(t *target.Target) { t.Platform = "linux/riscv64" }, func(t *target.Target) { t.Libc = "uclibc" },
		func(t *target.Target) { t.LibcVersion = "2" }, func(t *target.Target) { t.Libc, t.LibcVersion = "", "" },
	} {
		bad := ok
		change(&bad)
		if got, err := ForTarget(bad); err == nil {
			t.Errorf("ForTarget(%+v) = %+v, want an error", bad, got)
		}
	}
}
