package build

import (
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/plan"

	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func TestTargetFits(t *testing.T) {
	base := target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36", Interpreter: "/usr/bin/python3.11"}
	for _, c := range []struct {
		name   string
		source lockfile.PythonSource
		locked target.Target
		want   bool
	}{
		{"venv on the same base", lockfile.PythonFromBase, base, true},
		{"venv locked for another Python", lockfile.PythonFromBase, target.Target{Platform: "linux/amd64", Python: "3.12.1", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, false},
		{"conda Python of another version", lockfile.PythonFromConda, target.Target{Platform: "linux/amd64", Python: "3.12.1", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, true},
		{"conda Python, another glibc", lockfile.PythonFromConda, target.Target{Platform: "linux/amd64", Python: "3.12.1", Libc: "glibc", LibcVersion: "2.28"}, false},
		{"conda Python, another platform", lockfile.PythonFromConda, target.Target{Platform: "linux/arm64", Python: "3.12.1", Libc: "glibc", LibcVersion: "2.36"}, false},
	} {
		if got := targetFits(lockfile.Target{Target: c.locked, PythonSource: c.source}, base); got != c.want {
			t.Errorf("%s: targetFits = %v, want %v", c.name, got, c.want)
		}
	}
}

// The plan for BuildKit's platform is one made before connecting: the
// candidate of that platform, or the one of no platform; with bytecode
// off, a BuildKit of the target's platform still builds its sdists.
func TestCandidateForHost(t *testing.T) {
	sdist := lockfile.Package{Name: "foo", Version: "1.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindSdist, URL: "http://pypi/foo-1.0.tar.gz", Filename: "foo-1.0.tar.gz", Sha256: strings.Repeat("6", 64)}
	wheel := lockfile.Package{Name: "six", Version: "1.16.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: "http://pypi/six.whl", Filename: "six-1.16.0-py3-none-any.whl", Sha256: strings.Repeat("5", 64)}
	lt := lockfile.Target{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, PythonSource: lockfile.PythonFromBase}
	bases := map[string]plan.Base{"linux/amd64": {Ref: "reg/base@sha256:" + strings.Repeat("9", 64), ManifestDigest: "sha256:" + strings.Repeat("9", 64), Interpreter: "/usr/bin/python3.11", PythonVersion: "3.11.2", InterpreterDigest: "x"}}
	for _, c := range []struct {
		name     string
		pkgs     []lockfile.Package
		bytecode bool
	}{{"wheel, bytecode", []lockfile.Package{wheel}, true}, {"wheel, no bytecode", []lockfile.Package{wheel}, false},
		{"sdist, bytecode", []lockfile.Package{sdist}, true}, {"sdist, no bytecode", []lockfile.Package{sdist}, false}} {
		l := lt
		l.Packages = c.pkgs
		in := plan.Input{EnvName: "default", Env: &lockfile.Env{Name: "default", Targets: []lockfile.Target{l}}, Platforms: []string{"linux/amd64"}, Bases: bases, Options: plan.Options{Bytecode: c.bytecode}}
		cands, err := planCandidates(in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for _, host := range []string{"linux/amd64", "linux/arm64"} {
			in.HostPlatform = host
			want, wantErr := plan.Make(in)
			got, err := cands.forHost(in.Platforms, host)
			switch {
			case (err == nil) != (wantErr == nil):
				t.Errorf("%s, host %s: error %v, want %v", c.name, host, err, wantErr)
			case err != nil && !strings.Contains(err.Error(), "BuildKit runs on "+host):
				t.Errorf("%s, host %s: error %v does not name BuildKit's platform", c.name, host, err)
			case err == nil && got.EnvID != want.EnvID:
				t.Errorf("%s, host %s: env id %s, want %s", c.name, host, got.EnvID, want.EnvID)
			}
		}
	}
}
