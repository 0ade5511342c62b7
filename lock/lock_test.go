package lock

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/conda/envlock"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi"
	"github.com/envbuild/envbuild/lock/target"
)

var debianBase = target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11", Base: "reg/base@sha256:aa"}

func TestPythonSource(t *testing.T) {
	fromFlags := debianBase
	fromFlags.Interpreter = ""
	for _, c := range []struct {
		name   string
		spec   spec.Spec
		target target.Target
		want   lockfile.PythonSource
	}{
		{"pypi only, no python", spec.Spec{PyPI: spec.PyPI{Requirements: []string{"six"}}}, debianBase, lockfile.PythonFromBase},
		{"pypi only, the base's major.minor", spec.Spec{Python: "3.11"}, debianBase, lockfile.PythonFromBase},
		{"pypi only, the base's full version differs in patch", spec.Spec{Python: "3.11.9"}, debianBase, lockfile.PythonFromBase},
		{"pypi only, another minor", spec.Spec{Python: "3.12"}, debianBase, lockfile.PythonFromConda},
		{"pypi only, free-threaded", spec.Spec{Python: "3.11t"}, debianBase, lockfile.PythonFromConda},
		{"conda specs", spec.Spec{Conda: spec.Conda{Specs: []string{"numpy"}}}, debianBase, lockfile.PythonFromConda},
		{"conda specs without a base", spec.Spec{Conda: spec.Conda{Specs: []string{"numpy"}}}, fromFlags, lockfile.PythonFromConda},
		{"pypi only from flags", spec.Spec{Python: "3.12"}, fromFlags, ""},
	} {
		got, err := PythonSource(c.spec, c.target)
		if err != nil || got != c.want {
			t.Errorf("%s: PythonSource = %q, %v; want %q", c.name, got, err, c.want)
		}
	}
	if _, err := PythonSource(spec.Spec{Python: "three"}, debianBase); failure.KindOf(err) != failure.KindUser {
		t.Errorf("a bad python version: got %v, want a user error", err)
	}
}

// fakes replaces the lockers: conda returns pkgs for whatever is asked
// (recording the specs), PyPI returns what resolve gives for the
// requirements (recording them).
type fakes struct {
	condaSpecs [][]string
	pypiReqs   [][]string
	pypiTarget target.Target
}

func (f *fakes) install(t *testing.T, conda []lockfile.Package, resolve func(reqs []string) []lockfile.Package) {
	oldC, oldP := condaLocker, pypiLocker
	t.Cleanup(func() { condaLocker, pypiLocker = oldC, oldP })
	condaLocker = func(_ context.Context, r envlock.Request) ([]lockfile.Package, error) {
		f.condaSpecs = append(f.condaSpecs, r.Specs)
		return conda, nil
	}
	pypiLocker = func(_ context.Context, r pypi.Request) ([]lockfile.Package, error) {
		f.pypiReqs = append(f.pypiReqs, r.Requirements)
		f.pypiTarget = r.Target
		return resolve(r.Requirements), nil
	}
}

func condaPkg(name, version, build string, deps ...string) lockfile.Package {
	return lockfile.Package{Name: name, Version: version, Build: build, Source: lockfile.SourceConda, Kind: lockfile.KindConda, Sha256: strings.Repeat("a", 64), Depends: deps}
}

func pypiPkg(name, version string) lockfile.Package {
	return lockfile.Package{Name: name, Version: version, Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, Sha256: strings.Repeat("b", 64)}
}

var condaEnv = []lockfile.Package{
	condaPkg("python", "3.12.4", "h1_0"),
	condaPkg("six", "1.16.0", "pyh_0", "python"),
	{Name: "tomli", Version: "2.0.1", Build: "pyhd_0", Source: lockfile.SourceConda, Kind: lockfile.KindConda, Noarch: "python", Sha256: strings.Repeat("c", 64)},
	condaPkg("libzlib", "1.3", "h0_0"),
}

func TestLockCondaPython(t *testing.T) {
	for _, c := range []struct {
		name      string
		spec      spec.Spec
		target    target.Target
		wantSpecs string
	}{
		{"python from the spec", spec.Spec{Python: "3.12", PyPI: spec.PyPI{Requirements: []string{}}}, debianBase, "python 3.12.*"},
		{"free-threaded python", spec.Spec{Python: "3.13t", Conda: spec.Conda{Specs: []string{"numpy"}}}, debianBase, "numpy|python 3.13.* *_cp313t"},
		{"the base's major.minor when the spec has none", spec.Spec{Conda: spec.Conda{Specs: []string{"numpy"}}}, debianBase, "numpy|python 3.11.*"},
		{"a spec naming python wins", spec.Spec{Conda: spec.Conda{Specs: []string{"python=3.10", "numpy"}}}, debianBase, "python=3.10|numpy"},
		{"python narrows the pin", spec.Spec{Python: "3.11", Conda: spec.Conda{Specs: []string{"conda-forge::python>=3.10", "numpy"}}}, debianBase, "conda-forge::python >=3.10,3.11.*|numpy"},
		{"python and a bare pin", spec.Spec{Python: "3.11.4", Conda: spec.Conda{Specs: []string{"python", "numpy"}}}, debianBase, "python 3.11.4|numpy"},
		{"a pin with a build is left as written", spec.Spec{Python: "3.11", Conda: spec.Conda{Specs: []string{"python 3.11.* *_cpython"}}}, debianBase, "python 3.11.* *_cpython"},
		{"a python pin with a comma", spec.Spec{Conda: spec.Conda{Specs: []string{"python>=3.10,<3.13", "numpy"}}}, debianBase, "python>=3.10,<3.13|numpy"},
		{"a python pin without a target Python", spec.Spec{Conda: spec.Conda{Specs: []string{"python=3.12"}}}, target.Target{Platform: "linux/amd64", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Base: "reg/base@sha256:aa"}, "python=3.12"},
		{"Metaflow's free-threaded spec names python", spec.Spec{Conda: spec.Conda{Specs: []string{"python=3.13t"}}}, debianBase, "python=3.13t"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f fakes
			f.install(t, condaEnv, func([]string) []lockfile.Package { return nil })
			env, err := Env(context.Background(), Request{Spec: c.spec, Targets: []target.Target{c.target}})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(f.condaSpecs[0], "|"); got != c.wantSpecs {
				t.Errorf("conda specs %q, want %q", got, c.wantSpecs)
			}
			lt := env.Targets[0]
			if lt.PythonSource != lockfile.PythonFromConda || lt.Python != "3.12.4" || lt.Interpreter != "" || lt.LibcString() != "glibc 2.36" || lt.Base != "reg/base@sha256:aa" {
				t.Errorf("target %+v: want python-source conda, python 3.12.4 (the conda package's), no interpreter, the base's libc", lt)
			}
			if len(f.pypiReqs) != 0 {
				t.Errorf("PyPI was locked with %q though the spec has no PyPI requirement", f.pypiReqs)
			}
		})
	}
}

func TestLockPyPIOnConda(t *testing.T) {
	index := map[string]lockfile.Package{
		"requests":        pypiPkg("requests", "2.32.3"),
		"python-dateutil": pypiPkg("python-dateutil", "2.9.0"),
		"six":             pypiPkg("six", "1.17.0"),
		"idna":            pypiPkg("idna", "3.7"),
	}
	// The fake resolver: each requirement's name (none with a marker), plus six for
	// python-dateutil and idna for requests; a pin "six==X" sets six's
	// version.
	resolve := func(reqs []string) []lockfile.Package {
		got := map[string]lockfile.Package{}
		for _, r := range reqs {
			if strings.Contains(r, ";") {
				continue // the fake's markers never apply
			}
			name, pin, _ := strings.Cut(r, "==")
			name = strings.Fields(strings.Split(name, ">")[0])[0]
			p := index[name]
			if pin != "" {
				p.Version = pin
			}
			got[name] = p
			switch name {
			case "python-dateutil":
				if _, ok := got["six"]; !ok {
					got["six"] = index["six"]
				}
			case "requests":
				got["idna"] = index["idna"]
			}
		}
		var out []lockfile.Package
		for _, n := range []string{"idna", "python-dateutil", "requests", "six"} {
			if p, ok := got[n]; ok {
				out = append(out, p)
			}
		}
		return out
	}
	for _, c := range []struct {
		name     string
		reqs     []string
		wantReqs string // each call's requirements, calls separated by " / "
		want     string // the PyPI packages locked
		wantErr  string
	}{
		{"a requirement conda satisfies is dropped", []string{"six>=1.10", "requests"}, "requests", "idna=3.7 requests=2.32.3", ""},
		{"only requirements conda satisfies: no PyPI lock", []string{"six", "tomli"}, "", "", ""},
		{"a dependency conda installs is pinned and left out", []string{"python-dateutil"}, "python-dateutil / python-dateutil|six==1.16.0", "python-dateutil=2.9.0", ""},
		{"a requirement conda does not satisfy", []string{"six>=1.17"}, "", "", `PyPI requirement "six>=1.17" is not satisfied by conda package six 1.16.0`},
		{"a requirement whose marker excludes the target is left to PyPI", []string{`six>=1.17; python_version < "3"`, "requests"}, `six>=1.17; python_version < "3"|requests`, "idna=3.7 requests=2.32.3", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f fakes
			f.install(t, condaEnv, resolve)
			s := spec.Spec{Python: "3.12", PyPI: spec.PyPI{Requirements: c.reqs}}
			env, err := Env(context.Background(), Request{Spec: s, Targets: []target.Target{debianBase}})
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || failure.KindOf(err) != failure.KindUser {
					t.Fatalf("got error %v, want a user error saying %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var calls []string
			for _, r := range f.pypiReqs {
				calls = append(calls, strings.Join(r, "|"))
			}
			if got := strings.Join(calls, " / "); got != c.wantReqs {
				t.Errorf("PyPI locked with %q, want %q", got, c.wantReqs)
			}
			var got []string
			for _, p := range env.Targets[0].Packages {
				if p.Source == lockfile.SourcePyPI {
					got = append(got, p.Name+"="+p.Version)
				}
			}
			if g := strings.Join(got, " "); g != c.want {
				t.Errorf("PyPI packages %q, want %q", g, c.want)
			}
			if len(f.pypiReqs) > 0 && (f.pypiTarget.Python != "3.12.4" || f.pypiTarget.Interpreter != "") {
				t.Errorf("PyPI locked for %+v, want the conda python 3.12.4", f.pypiTarget)
			}
			if n := len(env.Targets[0].Packages); n != len(condaEnv)+len(got) {
				t.Errorf("%d packages in the target, want the %d conda ones and the PyPI ones", n, len(condaEnv))
			}
		})
	}
}

func TestLockPyPIOnBase(t *testing.T) {
	var f fakes
	f.install(t, nil, func(reqs []string) []lockfile.Package { return []lockfile.Package{pypiPkg("six", "1.16.0")} })
	env, err := Env(context.Background(), Request{Spec: spec.Spec{Python: "3.11", PyPI: spec.PyPI{Requirements: []string{"six"}}}, Targets: []target.Target{debianBase}})
	if err != nil {
		t.Fatal(err)
	}
	lt := env.Targets[0]
	if got := fmt.Sprintf("%s %s %s %d", lt.PythonSource, lt.Interpreter, lt.Python, len(f.condaSpecs)); got != "base /usr/bin/python3.11 3.11.2 0" {
		t.Errorf("got %q, want a venv on the base's interpreter and no conda lock", got)
	}
}

func TestCondaPythonFailureSaysWhy(t *testing.T) {
	old := condaLocker
	t.Cleanup(func() { condaLocker = old })
	condaLocker = func(context.Context, envlock.Request) ([]lockfile.Package, error) {
		return nil, failure.Infra(fmt.Errorf("fetching repodata of conda channel %q: connection refused", "conda-forge"))
	}
	_, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Python: "3.12", PyPI: spec.PyPI{Requirements: []string{"six"}}}, Targets: []target.Target{debianBase}})
	want := `environment "default" asks for Python 3.12, and the base's interpreter /usr/bin/python3.11 is Python 3.11.2 (linux/amd64), so its Python comes from conda: fetching repodata of conda channel "conda-forge": connection refused`
	if err == nil || err.Error() != want || failure.KindOf(err) != failure.KindInfra {
		t.Errorf("got %v (kind %d)\nwant %s (infrastructure)", err, failure.KindOf(err), want)
	}
}

func TestCondaRequestCarriesTargetAndCuda(t *testing.T) {
	var got envlock.Request
	old := condaLocker
	t.Cleanup(func() { condaLocker = old })
	condaLocker = func(_ context.Context, r envlock.Request) ([]lockfile.Package, error) {
		got = r
		return condaEnv, nil
	}
	env := map[string]string{"CONDA_CHANNELS": "local"}
	_, err := Env(context.Background(), Request{Spec: spec.Spec{Conda: spec.Conda{Specs: []string{"numpy"}, Channels: []string{"bioconda", "conda-forge"}}},
		Targets: []target.Target{debianBase}, Cuda: "12.4", CacheDir: "/cache", Env: env, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if got.Cuda != "12.4" || got.CacheDir != "/cache/conda" || !got.Offline || got.Env["CONDA_CHANNELS"] != "local" ||
		strings.Join(got.Channels, ",") != "bioconda,conda-forge" || got.Target.LibcVersion != "2.36" || got.Target.Platform != "linux/amd64" {
		t.Errorf("conda request %+v does not carry the spec's channels, the target, CUDA, the cache and the environment", got)
	}
}

func TestCheckPythonPin(t *testing.T) {
	for _, c := range []struct {
		python, pin string
		ok          bool
	}{
		{"", "python=3.6", true},
		{"3.11", "", true},
		{"3.11", "python=3.11", true},
		{"3.11", "python>=3.10,<3.12", true},
		{"3.11", "python 3.11.4", true},
		{"3.11.4", "python=3.11", true},
		{"3.11.4", "python 3.11.5", false},
		{"3.12", "python=3.11", false},
		{"3.12", "python>=3.10,<3.12", false},
		{"3.13t", "python=3.13t", true},
		{"3.13", "python=3.13t", false},
		{"3.13t", "python=3.13", false},
		{"3.11", "conda-forge::python>=3.11", true},
	} {
		s := spec.Spec{Name: "default", Python: c.python}
		if c.pin != "" {
			s.Conda.Specs = []string{"numpy", c.pin}
		}
		err := CheckPythonPin(s)
		if (err == nil) != c.ok {
			t.Errorf("python %q, pin %q: %v; want ok=%v", c.python, c.pin, err, c.ok)
		}
		if err != nil && (failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), c.pin)) {
			t.Errorf("python %q, pin %q: %v (kind %v): want a user error naming the pin", c.python, c.pin, err, failure.KindOf(err))
		}
	}
	// Env refuses the conflict before asking conda anything.
	var f fakes
	f.install(t, condaEnv, func([]string) []lockfile.Package { return nil })
	_, err := Env(context.Background(), Request{Spec: spec.Spec{Name: "default", Python: "3.12", Conda: spec.Conda{Specs: []string{"python=3.10"}}}, Targets: []target.Target{debianBase}})
	if err == nil || len(f.condaSpecs) != 0 {
		t.Errorf("conflicting python and pin: err %v, conda asked %v", err, f.condaSpecs)
	}
}
