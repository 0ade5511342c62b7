package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
)

func TestLockPolicy(t *testing.T) {
	s := spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0"}}}
	changed := spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.17.0"}}}
	amd := []string{"linux/amd64"}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.lock")
	if err := lockfile.Write(good, &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{{
		Name: "default", SpecDigest: s.Digest(),
		Targets: []lockfile.Target{{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc 2.36"}},
	}}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	missing := filepath.Join(dir, "missing.lock")
	for _, tc := range []struct {
		name      string
		policy    LockPolicy
		spec      spec.Spec
		path      string
		platforms []string
		want      string // "" means the lock is used as it is
	}{
		{"locked, up to date", LockLocked, s, good, amd, ""},
		{"locked, spec changed", LockLocked, changed, good, amd, "--locked: the spec changed since"},
		{"locked, no lock", LockLocked, s, missing, amd, "--locked: " + missing + " does not exist"},
		{"locked, other environment", LockLocked, spec.Spec{Name: "train"}, good, amd, `has no environment "train"`},
		{"locked, platform missing", LockLocked, s, good, []string{"linux/amd64", "linux/arm64"}, "no target for every platform"},
		{"frozen, spec changed", LockFrozen, changed, good, amd, ""},
		{"frozen, no lock", LockFrozen, s, missing, amd, "--frozen: " + missing + " does not exist"},
		{"frozen, platform missing", LockFrozen, changed, good, []string{"linux/arm64"}, "--frozen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, _, locked, err := ensureLocked(context.Background(), Options{LockPath: tc.path, LockPolicy: tc.policy}, tc.spec, tc.platforms, nil)
			if tc.want == "" {
				if err != nil || env == nil || locked {
					t.Fatalf("env %v, locked %v, err %v; want the lock as it is", env, locked, err)
				}
			} else if err == nil || failure.KindOf(err) != failure.KindStale || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err %v (kind %v); want exit 3 with %q", err, failure.KindOf(err), tc.want)
			}
			after, _ := os.ReadFile(good)
			if string(after) != string(before) {
				t.Errorf("the lock was rewritten")
			}
			if _, err := os.Stat(missing); err == nil {
				t.Errorf("a lock was written")
			}
		})
	}
}
