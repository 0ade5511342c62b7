package lock

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func TestEnsurePolicy(t *testing.T) {
	s := spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0"}}}
	changed := spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.17.0"}}}
	both := s
	both.Platforms = []string{"linux/amd64", "linux/arm64"}
	arm := changed
	arm.Platforms = []string{"linux/arm64"}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.lock")
	if err := lockfile.Write(good, &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{{
		Name: "default", SpecDigest: s.Digest(),
		Targets: []lockfile.Target{{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(dir, "partial.lock")
	if err := lockfile.Write(partial, &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{{
		Name: "default", SpecDigest: both.Digest(),
		Targets: []lockfile.Target{{Target: target.Target{Platform: "linux/amd64", Python: "3.11.2", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.36"}}},
	}}}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	missing := filepath.Join(dir, "missing.lock")
	for _, tc := range []struct {
		name   string
		policy Policy
		spec   spec.Spec
		path   string
		want   string // "" means the lock is used as it is
	}{
		{"update, up to date", Update, s, good, ""},
		{"locked, up to date", Locked, s, good, ""},
		{"locked, spec changed", Locked, changed, good, `--locked: ` + good + ` is out of date: the spec of environment "default" changed since it was written; lock again (the same command without --locked) and commit ` + good},
		{"locked, no lock", Locked, s, missing, "--locked: " + missing + " does not exist"},
		{"locked, other environment", Locked, spec.Spec{Name: "train"}, good, `has no environment "train"`},
		{"locked, platform missing", Locked, both, partial, `environment "default" has no target for linux/arm64`},
		{"frozen, spec changed", Frozen, changed, good, ""},
		{"frozen, no lock", Frozen, s, missing, "--frozen: " + missing + " does not exist"},
		{"frozen, platform missing", Frozen, arm, good, "--frozen"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logged []string
			ens, err := Ensure(context.Background(), tc.path, tc.policy, Request{Spec: tc.spec}, func(l string) { logged = append(logged, l) })
			early := CheckPolicy(tc.path, tc.spec, tc.policy)
			if tc.want == "" {
				if err != nil || ens.Env == nil || ens.Locked || early != nil {
					t.Fatalf("ensured %+v, err %v, early %v; want the lock as it is", ens, err, early)
				}
			} else {
				if err == nil || failure.KindOf(err) != failure.KindStale || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v (kind %v); want exit 3 with %q", err, failure.KindOf(err), tc.want)
				}
				if early == nil || early.Error() != err.Error() {
					t.Errorf("CheckPolicy: %v; want Ensure's %v", early, err)
				}
			}
			if len(logged) > 0 {
				t.Errorf("logged %q", logged)
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

func TestPolicyOf(t *testing.T) {
	for _, c := range []struct {
		locked, frozen bool
		want           Policy
	}{{false, false, Update}, {true, false, Locked}, {false, true, Frozen}} {
		if got, err := PolicyOf(c.locked, c.frozen); got != c.want || err != nil {
			t.Errorf("PolicyOf(%v, %v) = %v, %v; want %v", c.locked, c.frozen, got, err, c.want)
		}
	}
	if _, err := PolicyOf(true, true); failure.KindOf(err) != failure.KindUsage {
		t.Errorf("--locked --frozen: %v, want a usage error", err)
	}
}
