package solve

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/conda/matchspec"
	"github.com/envbuild/envbuild/lock/conda/repodata"
	"github.com/envbuild/envbuild/lock/conda/virtual"
	"github.com/envbuild/envbuild/lock/target"
)

// lazy makes loadChannel hand the solver a *repodata.Index instead of
// decoded records.
var lazy bool

func loadChannel(t *testing.T, name, file string) ChannelRepodata {
	t.Helper()
	if lazy {
		x, err := repodata.ReadIndexFile("testdata/"+file, repodata.Source{Channel: name, BaseURL: "https://conda.example/" + name})
		if err != nil {
			t.Fatal(err)
		}
		return ChannelRepodata{Channel: name, Sources: []RecordSource{x}}
	}
	recs, err := repodata.ReadFile("testdata/"+file, repodata.Source{Channel: name, BaseURL: "https://conda.example/" + name})
	if err != nil {
		t.Fatal(err)
	}
	return ChannelRepodata{Channel: name, Records: recs}
}

type solveCase struct {
	name     string
	specs    []string
	extra    bool // put the "extra" channel before "main"
	cuda     string
	glibc    string
	locked   []string // name=version=build
	want     []string // name=version=build, sorted by name
	wantErr  string   // the whole error message, word for word
	contains string   // or a part of it
}

func runCase(t *testing.T, c solveCase) {
	t.Helper()
	main := loadChannel(t, "main", "main.json")
	chans := []ChannelRepodata{main}
	if c.extra {
		chans = []ChannelRepodata{loadChannel(t, "extra", "extra.json"), main}
	}
	virt, err := virtual.Packages(target.Target{Platform: "linux/amd64", Libc: "glibc", LibcVersion: c.glibc}, c.cuda, nil)
	if err != nil {
		t.Fatal(err)
	}
	var specs []matchspec.MatchSpec
	for _, s := range c.specs {
		specs = append(specs, matchspec.MustParse(s))
	}
	var locked []repodata.Record
	for _, l := range c.locked {
		f := strings.Split(l, "=")
		locked = append(locked, repodata.Record{Name: f[0], Version: f[1], Build: f[2]})
	}
	got, err := Solve(context.Background(), Request{Specs: specs, Channels: chans, Virtual: virt, Locked: locked})
	if c.wantErr != "" || c.contains != "" {
		var ue *UnsatisfiableError
		if err == nil || !errors.As(err, &ue) {
			t.Fatalf("%s: Solve(%v) = %v, %v; want an *UnsatisfiableError", c.name, c.specs, names(got), err)
		}
		if c.wantErr != "" && err.Error() != c.wantErr {
			t.Errorf("%s: error:\n%s\nwant:\n%s", c.name, err, c.wantErr)
		}
		if c.contains != "" && !strings.Contains(err.Error(), c.contains) {
			t.Errorf("%s: error:\n%s\nwant it to contain:\n%s", c.name, err, c.contains)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: Solve(%v): %v", c.name, c.specs, err)
	}
	if g, w := strings.Join(names(got), " "), strings.Join(c.want, " "); g != w {
		t.Errorf("%s: Solve(%v) =\n  %s\nwant\n  %s", c.name, c.specs, g, w)
	}
}

func names(recs []repodata.Record) []string {
	var out []string
	for _, r := range recs {
		s := r.Name + "=" + r.Version + "=" + r.Build
		if r.Channel == "extra" {
			s += "@extra"
		}
		out = append(out, s)
	}
	return out
}

func TestSolve(t *testing.T) {
	for _, l := range []bool{false, true} {
		lazy = l
		t.Run(map[bool]string{false: "records", true: "index"}[l], testSolve)
	}
	lazy = false
}

func testSolve(t *testing.T) {
	for _, c := range []solveCase{
		{name: "highest versions, zlib 1.3 needs glibc 2.28 (the default)", specs: []string{"python"},
			want: []string{"libc-shim=1.0=h0", "openssl=3.2.0=h0", "python=3.12.1=h0_cpython", "zlib=1.3=h0"}},
		{name: "old glibc: zlib falls back, the higher build number wins", specs: []string{"python"}, glibc: "2.17",
			want: []string{"libc-shim=1.0=h0", "openssl=3.2.0=h0", "python=3.12.1=h0_cpython", "zlib=1.2.13=h1"}},
		{name: "glibc too old for anything", specs: []string{"python"}, glibc: "2.12",
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for python\n" +
				"  - python 3.9.18, 3.10.13, 3.11.7 and 3.12.1 need libc-shim\n" +
				"  - libc-shim 1.0 needs __glibc >=2.17, but no __glibc matches it (there are 2.12)"},
		{name: "app pulls numpy, blas without track_features", specs: []string{"app"},
			want: []string{"app=2.0=py_0", "libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=2.0.0=py312h0_0", "openssl=3.2.0=h0", "python=3.12.1=h0_cpython", "zlib=1.3=h0"}},
		{name: "requested spec first: python 3.9 forces app 1.0 and numpy 1.26", specs: []string{"python=3.9", "app"},
			want: []string{"app=1.0=py_0", "libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=1.26.4=py39h0_0", "openssl=3.2.0=h0", "python=3.9.18=h0_cpython", "zlib=1.3=h0"}},
		{name: "a tracked feature can still be asked for", specs: []string{"numpy=1.22", "libblas=*=openblas*"},
			want: []string{"libblas=3.9.0=openblas_5", "libc-shim=1.0=h0", "numpy=1.22.4=py310h0_0", "openssl=3.2.0=h0", "python=3.10.13=h0_cpython", "zlib=1.3=h0"}},
		{name: "constrains does not install", specs: []string{"plotlib"},
			want: []string{"plotlib=2.0=h0"}},
		{name: "constrains restricts when installed", specs: []string{"plotlib", "numpy>=2"},
			want: []string{"libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=2.0.0=py312h0_0", "openssl=3.2.0=h0", "plotlib=1.0=h0", "python=3.12.1=h0_cpython", "zlib=1.3=h0"}},
		{name: "constrains conflict", specs: []string{"plotlib=2", "numpy>=2"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for plotlib 2.*\n" +
				"  - the request asks for numpy >=2, but plotlib 2.0 allows only numpy <2"},
		{name: "no cuda: the cpu build", specs: []string{"cudapkg"}, want: []string{"cudapkg=0.9=cpu_0"}},
		{name: "cuda 11.8", specs: []string{"cudapkg"}, cuda: "11.8", want: []string{"cudapkg=1.0=cuda11_0"}},
		{name: "cuda 12.4", specs: []string{"cudapkg"}, cuda: "12.4", want: []string{"cudapkg=2.0=cuda12_0"}},
		{name: "cuda asked for but absent", specs: []string{"cudapkg>=1"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for cudapkg >=1\n" +
				"  - cudapkg 1.0 and 2.0 need __cuda >=11.2 or __cuda >=12, but the target has no virtual package __cuda"},
		{name: "glibc 2.34 allows modern 2.0", specs: []string{"modern"}, glibc: "2.34", want: []string{"modern=2.0=h0"}},
		{name: "glibc 2.28 keeps modern 1.0", specs: []string{"modern"}, want: []string{"modern=1.0=h0"}},
		{name: "dependency tie-break prefers the build for the newer python", specs: []string{"ext"},
			want: []string{"ext=1.0=py311_0", "libc-shim=1.0=h0", "openssl=3.2.0=h0", "python=3.11.7=h0_cpython", "zlib=1.3=h0"}},
		{name: "timestamp tie-break", specs: []string{"stamp"}, want: []string{"stamp=1.0=b_0"}},
		{name: "strict channel priority", specs: []string{"numpy"}, extra: true,
			want: []string{"libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=1.21.0=py310_0@extra", "openssl=3.2.0=h0", "python=3.10.13=h0_cpython", "zlib=1.3=h0"}},
		{name: "a pinned channel overrides priority", specs: []string{"main::numpy"}, extra: true,
			want: []string{"libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=2.0.0=py312h0_0", "openssl=3.2.0=h0", "python=3.12.1=h0_cpython", "zlib=1.3=h0"}},
		{name: "strict priority makes numpy 2 unavailable", specs: []string{"numpy>=2"}, extra: true,
			wantErr: "cannot solve the conda environment:\n  - no numpy matches numpy >=2; the versions there are: 1.21.0"},
		{name: "locked records are preferred", specs: []string{"numpy", "python"}, locked: []string{"numpy=1.26.4=py311h0_0"},
			want: []string{"libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=1.26.4=py311h0_0", "openssl=3.2.0=h0", "python=3.11.7=h0_cpython", "zlib=1.3=h0"}},
		{name: "a locked record that no longer fits is dropped", specs: []string{"numpy>=2", "python"}, locked: []string{"numpy=1.26.4=py311h0_0"},
			want: []string{"libblas=3.9.0=mkl_0", "libc-shim=1.0=h0", "numpy=2.0.0=py312h0_0", "openssl=3.2.0=h0", "python=3.12.1=h0_cpython", "zlib=1.3=h0"}},
		{name: "the conflict of the issue", specs: []string{"python=3.12", "numpy=1.22"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for numpy 1.22.*\n" +
				"  - the request asks for python 3.12.*, but numpy 1.22.4 needs python >=3.10,<3.11.0a0 or python >=3.9,<3.10.0a0; only one version of python can be installed"},
		{name: "a chain of requirements", specs: []string{"python=3.10", "webapp"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for webapp\n" +
				"  - webapp 1.0 needs framework >=2\n" +
				"  - the request asks for python 3.10.*, but framework 2.0 and 2.1 need python >=3.12; only one version of python can be installed"},
		{name: "two requested versions of one name", specs: []string{"python=3.10", "python=3.11"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for python 3.10.* and python 3.11.*; only one version of python can be installed"},
		{name: "unknown package", specs: []string{"nonesuch"},
			wantErr: "cannot solve the conda environment:\n  - no package named nonesuch in channel main"},
		{name: "no matching version", specs: []string{"numpy=3"},
			wantErr: "cannot solve the conda environment:\n  - no numpy matches numpy 3.*; the versions there are: 2.0.0, 1.26.4, 1.22.4"},
		{name: "dependency no channel has", specs: []string{"orphan"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for orphan\n" +
				"  - orphan 1.0 needs ghost >=1, but no channel has a package named ghost"},
		{name: "a constraint that does not parse", specs: []string{"badmeta"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for badmeta\n" +
				"  - badmeta 1.0 has a constraint that cannot be parsed: \"ray[default,data] >=2.9\""},
		{name: "one pin per build", specs: []string{"core=1.0", "core-base=0.9"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for core 1.0.*\n" +
				"  - the request asks for core-base 0.9.*, but core 1.0 needs core-base 1.0 b1, core-base 1.0 b2, … or core-base 1.0 b4 (4 variants, one per build); only one version of core-base can be installed"},
		{name: "every version needs something absent", specs: []string{"plug"},
			wantErr: "cannot solve the conda environment:\n" +
				"  - the request asks for plug\n" +
				"  - plug 1.0, 2.0, 3.0 and 4.0 need one of 4 specs on host (host ==1.0, … host ==4.0), but no host matches any of them (there are 9.0)"},
		{name: "dependency version missing", specs: []string{"needsnew"},
			contains: "needsnew 1.0 needs openssl >=4, but no openssl matches it (there are 3.2.0, 3.1.4, 1.1.1w)"},
	} {
		runCase(t, c)
	}
}

func TestSolveErrors(t *testing.T) {
	main := loadChannel(t, "main", "main.json")
	_, err := Solve(context.Background(), Request{Specs: []matchspec.MatchSpec{matchspec.MustParse("num*")}, Channels: []ChannelRepodata{main}})
	if err == nil || !strings.Contains(err.Error(), `"num*"`) {
		t.Errorf("a glob name: err = %v, want one quoting the spec", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Solve(ctx, Request{Specs: []matchspec.MatchSpec{matchspec.MustParse("app")}, Channels: []ChannelRepodata{main}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled context: err = %v, want context.Canceled", err)
	}
	broken := errors.New("record numpy is corrupt")
	_, err = Solve(context.Background(), Request{Specs: []matchspec.MatchSpec{matchspec.MustParse("numpy")},
		Channels: []ChannelRepodata{{Channel: "bad", Sources: []RecordSource{failingSource{broken}}}}})
	if !errors.Is(err, broken) {
		t.Errorf("a failing source: err = %v, want it wrapped", err)
	}
	got, err := Solve(context.Background(), Request{})
	if err != nil || got != nil {
		t.Errorf("an empty request = %v, %v; want nothing", got, err)
	}
}

type failingSource struct{ err error }

func (f failingSource) Records(string) ([]repodata.Record, error) { return nil, f.err }

// The solver must give the same answer every time.
func TestSolveDeterministic(t *testing.T) {
	main := loadChannel(t, "main", "main.json")
	virt, err := virtual.Packages(target.Target{Platform: "linux/amd64"}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 0; i < 5; i++ {
		got, err := Solve(context.Background(), Request{Specs: []matchspec.MatchSpec{matchspec.MustParse("app"), matchspec.MustParse("ext")}, Channels: []ChannelRepodata{main}, Virtual: virt})
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Join(names(got), " ")
		if i == 0 {
			first = s
			if want := "app=2.0=py_0 ext=1.0=py311_0 libblas=3.9.0=mkl_0 libc-shim=1.0=h0 numpy=2.0.0=py311h0_0 openssl=3.2.0=h0 python=3.11.7=h0_cpython zlib=1.3=h0"; s != want {
				t.Errorf("Solve(app, ext) = %s, want %s", s, want)
			}
		} else if s != first {
			t.Fatalf("run %d gave %s, run 0 gave %s", i, s, first)
		}
	}
}
