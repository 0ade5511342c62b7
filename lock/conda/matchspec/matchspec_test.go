package matchspec

import (
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/repodata"
)

func record(name, ver, build string, bn int) *repodata.Record {
	r := &repodata.Record{Name: name, Version: ver, Build: build, BuildNumber: bn, Channel: "conda-forge", Subdir: "linux-64",
		Fn: name + "-" + ver + "-" + build + ".conda", MD5: "abc", TrackFeatures: nil}
	if err := r.Parse(); err != nil {
		panic(err)
	}
	return r
}

// conda's test_match_spec cases, against numpy-1.7.1-py27_0.
func TestMatchConda(t *testing.T) {
	r := record("numpy", "1.7.1", "py27_0", 0)
	for _, c := range []struct {
		spec string
		want bool
	}{
		{"numpy 1.7*", true}, {"numpy 1.7.1", true}, {"numpy 1.7", false}, {"numpy 1.5*", false},
		{"numpy >=1.5", true}, {"numpy >=1.5,<2", true}, {"numpy >=1.8,<2|1.7", false},
		{"numpy >1.8,<2|==1.7", false}, {"numpy >1.8,<2|>=1.7.1", true},
		{"numpy >=1.8|1.7*", true}, {"numpy ==1.7", false}, {"numpy >=1.5,>1.6", true},
		{"numpy ==1.7.1", true}, {"numpy ==1.7.1.0", true}, {"numpy==1.7.1.0.0", true},
		{"numpy >=1,*.7.*", true}, {"numpy *.7.*,>=1", true}, {"numpy >=1,*.8.*", false},
		{"numpy >=2,*.7.*", false}, {"numpy 1.6*|1.7*", true}, {"numpy 1.6*|1.8*", false},
		{"numpy 1.6.2|1.7*", true}, {"numpy 1.6.2|1.7.1", true}, {"numpy 1.6.2|1.7.0", false},
		{"numpy 1.7.1 py27_0", true}, {"numpy 1.7.1 py26_0", false}, {"numpy >1.7.1a", true},
		{"python", false}, {"numpy", true}, {"num*", true}, {"*py", true}, {"*", true}, {"*[md5=abc]", true},
		{"numpy=1.7", true}, {"numpy=1.7.1=py27_0", true}, {"numpy=1.7=py27_0", false},
		{"numpy=1.7.*=py27_0", true}, {"numpy=*=py27*", true}, {"numpy * py27*", true},
		{"numpy * *_0", true}, {"numpy * *_1", false}, {"numpy * ^py2.*_0$", true},
		{"conda-forge::numpy", true}, {"defaults::numpy", false},
		{"conda-forge/linux-64::numpy", true}, {"conda-forge/noarch::numpy", false},
		{"https://conda.anaconda.org/conda-forge::numpy", false},
		{"numpy[version='>=1.7,<2']", true}, {"numpy[version='>=1.8,<2']", false},
		{"numpy[version='>=1.7, <2']", true}, {"numpy >=1.7 , <2", true}, {"numpy[version=\"1.7.*\"]", true},
		{"numpy[build_number=0]", true}, {"numpy[build_number='>=1']", false},
		{"numpy[build=py27_0, build_number=0]", true}, {"numpy[build=py27_1]", false},
		{"numpy[md5=ABC]", true}, {"numpy[md5=abd]", false}, {"numpy[subdir=linux-64]", true},
		{"numpy[channel=conda-forge/linux-64]", true}, {"numpy[channel=pkgs/main]", false},
		{"numpy[fn=numpy-1.7.1-py27_0.conda]", true}, {"numpy[fn=numpy-1.7.1-py27_0.tar.bz2]", false},
		{"numpy >=1.5 # a comment", true}, {"numpy >=1.8 if python", false},
		{"NumPy >=1.5", true},
	} {
		m, err := Parse(c.spec)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.spec, err)
			continue
		}
		if got := m.Match(r); got != c.want {
			t.Errorf("Parse(%q).Match(numpy-1.7.1-py27_0) = %v, want %v", c.spec, got, c.want)
		}
	}
}

func TestParseFields(t *testing.T) {
	for _, c := range []struct {
		in                                    string
		name, version, build, channel, subdir string
		buildNumber                           string
	}{
		{in: "numpy", name: "numpy", version: "*"},
		{in: "numpy=1.8", name: "numpy", version: "1.8.*"},
		{in: "numpy =1.8", name: "numpy", version: "1.8.*"},
		{in: "numpy==1.8", name: "numpy", version: "==1.8"},
		{in: "numpy 1.8", name: "numpy", version: "==1.8"},
		{in: "numpy 1.8*", name: "numpy", version: "1.8.*"},
		{in: "numpy=1.8=py27_0", name: "numpy", version: "==1.8", build: "py27_0"},
		{in: "numpy==1.8=py27_0", name: "numpy", version: "==1.8", build: "py27_0"},
		{in: "numpy=1.8.*=py27_0", name: "numpy", version: "1.8.*", build: "py27_0"},
		{in: "numpy 1.8.1 py27_0", name: "numpy", version: "==1.8.1", build: "py27_0"},
		{in: "numpy =1.2.3 0", name: "numpy", version: "==1.2.3", build: "0"},
		{in: "numpy 1.2.3=0", name: "numpy", version: "==1.2.3", build: "0"},
		{in: "numpy >=1.0 , < 2.0 py34_0", name: "numpy", version: ">=1.0,<2.0", build: "py34_0"},
		{in: "numpy >=1.0 , < 2.0 =py34_0", name: "numpy", version: ">=1.0,<2.0", build: "py34_0"},
		{in: "numpy >1.8,<2|==1.7", name: "numpy", version: ">1.8,<2|==1.7"},
		{in: "numpy * openblas_0", name: "numpy", version: "*", build: "openblas_0"},
		{in: "numpy >= 1.8", name: "numpy", version: ">=1.8"},
		{in: "pytorch=*=cuda*", name: "pytorch", version: "*", build: "cuda*"},
		{in: "python 3.8.* *_cpython", name: "python", version: "3.8.*", build: "*_cpython"},
		{in: "blas *.* mkl", name: "blas", version: "*", build: "mkl"},
		{in: "x264 >=1!164.3095,<1!165", name: "x264", version: ">=1!164.3095,<1!165"},
		{in: "python ==2.7.*.*|>=3.6", name: "python", version: "2.7.*|>=3.6"},
		{in: "python=3.9", name: "python", version: "3.9.*"},
		{in: "python=*", name: "python", version: "*"},
		{in: "rust ~=1.2.3", name: "rust", version: "~=1.2.3"},
		{in: "numpy>=1.7", name: "numpy", version: ">=1.7"},
		{in: "numpy!=1.7", name: "numpy", version: "!=1.7"},
		{in: "numpy 1.8|1.8*", name: "numpy", version: "==1.8|1.8.*"},
		{in: "numpy (1.5|1.6),<2", name: "numpy", version: "(==1.5|==1.6),<2"},
		{in: "conda-forge::numpy", name: "numpy", version: "*", channel: "conda-forge"},
		{in: "conda-forge/linux-64::numpy>=1.8", name: "numpy", version: ">=1.8", channel: "conda-forge", subdir: "linux-64"},
		{in: "pkgs/main::numpy", name: "numpy", version: "*", channel: "pkgs/main"},
		{in: "https://c.com/p/conda/linux-64::python[version=3.9]", name: "python", version: "==3.9", channel: "https://c.com/p/conda", subdir: "linux-64"},
		{in: "conda-forge/linux-32::python[version=3.9, subdir=linux-64]", name: "python", version: "==3.9", channel: "conda-forge", subdir: "linux-64"},
		{in: `conda-forge::foo[version=1.0.*, build_number=">6"]`, name: "foo", version: "1.0.*", channel: "conda-forge", buildNumber: ">6"},
		{in: `python ==3.9[channel=conda-forge/linux-64]`, name: "python", version: "==3.9", channel: "conda-forge", subdir: "linux-64"},
		{in: "channel/win-64::foobar[channel=conda-forge, subdir=linux-64]", name: "foobar", version: "*", channel: "conda-forge", subdir: "linux-64"},
		{in: "numpy[version=1.8.*, build=py27_0]", name: "numpy", version: "1.8.*", build: "py27_0"},
		{in: "numpy 1.8.*[build_number=3]", name: "numpy", version: "1.8.*", buildNumber: "3"},
		{in: "numpy[name=scipy]", name: "numpy", version: "*"},
		{in: "https://conda.anaconda.org/conda-forge/linux-64/py-rattler-0.6.1-py39h8169da8_0.conda", name: "py-rattler", version: "==0.6.1", build: "py39h8169da8_0"},
		{in: "/home/user/conda-bld/linux-64/foo-1.0-py27_0.tar.bz2", name: "foo", version: "==1.0", build: "py27_0"},
	} {
		m, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		bn := ""
		if m.BuildNumber != nil {
			bn = m.BuildNumber.String()
		}
		got := []string{m.Name, m.Version.String(), m.Build, m.Channel, m.Subdir, bn}
		want := []string{c.name, c.version, c.build, c.channel, c.subdir, c.buildNumber}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Parse(%q) = name, version, build, channel, subdir, build_number %q, want %q", c.in, got, want)
		}
	}
}

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"numpy", "numpy"},
		{"numpy=1.8", "numpy 1.8.*"},
		{"numpy 1.8", "numpy ==1.8"},
		{"numpy=1.8=py27_0", "numpy ==1.8 py27_0"},
		{"numpy * py27*", "numpy * py27*"},
		{"numpy=*=py27*", "numpy * py27*"},
		{"numpy >=1.0 , < 2.0 py34_0", "numpy >=1.0,<2.0 py34_0"},
		{"conda-forge/linux-64::numpy>=1.8", "conda-forge/linux-64::numpy >=1.8"},
		{"numpy[subdir=linux-64, build_number='>=3', md5=abc]", "numpy[build_number='>=3', subdir=linux-64, md5=abc]"},
		{"numpy[license='BSD 3-Clause']", "numpy[license='BSD 3-Clause']"},
		{"*[track_features=mkl]", "*[track_features=mkl]"},
	} {
		m, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		got := m.String()
		if got != c.want {
			t.Errorf("Parse(%q).String() = %q, want %q", c.in, got, c.want)
		}
		again, err := Parse(got)
		if err != nil || again.String() != got {
			t.Errorf("Parse(%q) did not read back: %q, %v", got, again.String(), err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{
		"", "   ", "# only a comment", "numpy==", "numpy>=", "numpy[version=1.8", "numpy[foo=bar]",
		"numpy[version]", "numpy[build_number=abc]", "::numpy", "numpy >=1.8[version=1]x[build=2]",
		"numpy <>1.8", "mkl@", "[version=1.8]", "numpy ~=1",
	} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", s)
		}
	}
	_, err := Parse("numpy[foo=bar]")
	if err == nil || !strings.Contains(err.Error(), `"numpy[foo=bar]"`) || !strings.Contains(err.Error(), `unknown key "foo"`) {
		t.Errorf("error %v should quote the spec and name the key", err)
	}
}

func TestTrackFeatures(t *testing.T) {
	r := record("numpy", "1.7.1", "py27_mkl", 0)
	r.TrackFeatures = repodata.StringList{"mkl"}
	mkl, nomkl := MustParse("*[track_features=mkl]"), MustParse("*[track_features=nomkl]")
	if !mkl.Match(r) {
		t.Errorf("*[track_features=mkl] should match a record tracking mkl")
	}
	if nomkl.Match(r) {
		t.Errorf("*[track_features=nomkl] should not match a record tracking mkl")
	}
}
