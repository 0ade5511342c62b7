package build

import (
	"encoding/json"
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
		source string
		locked target.Target
		want   bool
	}{
		{"venv on the same base", "base", base, true},
		{"venv locked for another Python", "base", target.Target{Platform: "linux/amd64", Python: "3.12.1", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, false},
		{"conda Python of another version", "conda", target.Target{Platform: "linux/amd64", Python: "3.12.1", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}, true},
		{"conda Python, another glibc", "conda", target.Target{Platform: "linux/amd64", Python: "3.12.1", Libc: "glibc", LibcVersion: "2.28"}, false},
		{"conda Python, another platform", "conda", target.Target{Platform: "linux/arm64", Python: "3.12.1", Libc: "glibc", LibcVersion: "2.36"}, false},
	} {
		if got := targetFits(lockfile.Target{PythonSource: c.source}, c.locked, base); got != c.want {
			t.Errorf("%s: targetFits = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestEnvMetaConda(t *testing.T) {
	pp := plan.PlatformPlan{Target: lockfile.Target{Python: "3.11.2", PythonSource: "conda", Packages: []lockfile.Package{
		{Name: "python", Version: "3.11.2", Build: "h_0", Source: "conda", URL: "http://ch/linux-64/python-3.11.2-h_0.conda", Channel: "http://ch", Requested: true, Spec: "python 3.11.*"},
		{Name: "six", Version: "1.16.0", Build: "pyh_0", Source: "conda", URL: "http://ch/noarch/six-1.16.0-pyh_0.conda", Channel: "http://ch"},
		{Name: "idna", Version: "3.7", Source: "pypi", Requested: true},
	}}}
	m := envMeta(&plan.Plan{EnvID: "ab", LockDigest: "sha256:cd"}, pp)
	if m.Venv != nil {
		t.Errorf("a conda Python got a venv: %+v", m.Venv)
	}
	got, _ := json.Marshal(m.Conda)
	want := `[{"name":"python","version":"3.11.2","build":"h_0","requested_spec":"python 3.11.*","url":"http://ch/linux-64/python-3.11.2-h_0.conda","channel":"http://ch"},` +
		`{"name":"six","version":"1.16.0","build":"pyh_0","url":"http://ch/noarch/six-1.16.0-pyh_0.conda","channel":"http://ch"}]`
	if string(got) != want {
		t.Errorf("conda entries\n got %s\nwant %s", got, want)
	}
	if len(m.Requested) != 1 || m.Requested[0].Name != "idna" || !strings.HasPrefix(m.Python, "3.11") {
		t.Errorf("requested %+v, python %q", m.Requested, m.Python)
	}
}
