package build

import (
	"testing"

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
		if got := targetFits(lockfile.Target{Target: c.locked, PythonSource: c.source}, base); got != c.want {
			t.Errorf("%s: targetFits = %v, want %v", c.name, got, c.want)
		}
	}
}
