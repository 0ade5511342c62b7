package pypi

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
	"github.com/envbuild/envbuild/lock/target"
)

func mustTarget(t *testing.T, python, platform string) target.Target {
	t.Helper()
	tg, err := target.FromFlags(python, platform, "")
	if err != nil {
		t.Fatal(err)
	}
	return tg
}

// lockAt locks reqs against the fake index for a target; edit changes the
// request before it is sent.
func lockAt(t *testing.T, f *fakeIndex, tg target.Target, reqs []string, edit func(*Request)) ([]lockfile.Package, string, error) {
	t.Helper()
	var log bytes.Buffer
	req := Request{
		Requirements: reqs, Target: tg,
		Indexes:  []index.Index{{Name: "pypi", URL: f.url("", "")}},
		CacheDir: t.TempDir(), Log: &log, Retries: -1, Timeout: 5 * time.Second,
	}
	if edit != nil {
		edit(&req)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pkgs, err := Lock(ctx, req)
	return pkgs, log.String(), err
}

// summary writes "name version kind [depends]" per package, "; "-joined.
func summary(pkgs []lockfile.Package) string {
	var parts []string
	for _, p := range pkgs {
		s := p.Name + " " + p.Version
		if p.Kind != lockfile.KindWheel {
			s += " " + string(p.Kind)
		}
		if len(p.Depends) > 0 {
			s += " [" + strings.Join(p.Depends, " ") + "]"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// testProjects is the little world most tests lock from.
func testProjects(t *testing.T) map[string][]*dist {
	return map[string][]*dist{
		"app": {
			wheel(t, "app-1.0-py3-none-any.whl",
				"Requires-Dist: lib>=1",
				"Requires-Dist: armonly; platform_machine == \"aarch64\"",
				"Requires-Dist: newpy; python_version >= \"3.12\"",
				"Requires-Dist: fancy[color]",
				"Provides-Extra: opt",
				"Requires-Dist: optdep; extra == \"opt\""),
		},
		"lib": {
			wheel(t, "lib-1.0-py3-none-any.whl"),
			wheel(t, "lib-2.0-py3-none-any.whl"),
			wheel(t, "lib-2.1b1-py3-none-any.whl"),
			func() *dist { d := wheel(t, "lib-3.0-py3-none-any.whl"); d.yanked = "broken build"; return d }(),
		},
		"armonly": {wheel(t, "armonly-1.0-py3-none-any.whl")},
		"newpy": {
			wheel(t, "newpy-1.0-py3-none-any.whl"),
			wheel(t, "newpy-2.0-py3-none-any.whl", "Requires-Python: >=3.12"),
		},
		"fancy": {
			wheel(t, "fancy-1.0-py3-none-any.whl", "Provides-Extra: color", "Requires-Dist: colorlib; extra == 'color'"),
		},
		"colorlib": {wheel(t, "colorlib-0.5-py3-none-any.whl")},
		"optdep":   {wheel(t, "optdep-1.0-py3-none-any.whl")},
		"onlypre":  {wheel(t, "onlypre-1.0a1-py3-none-any.whl")},
		"native": {
			wheel(t, "native-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
			wheel(t, "native-1.0-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"),
			wheel(t, "native-0.9-cp311-cp311-manylinux_2_17_aarch64.whl"),
			sdist(t, "native-1.0.tar.gz", "2.2", "Requires-Dist: lib<2"),
		},
		"wants-new-lib": {wheel(t, "wants_new_lib-1.0-py3-none-any.whl", "Requires-Dist: lib>=3.1")},
		"x86only": {
			wheel(t, "x86only-1.0-py3-none-manylinux_2_17_x86_64.whl"),
			wheel(t, "x86only-1.1-py3-none-manylinux_2_17_x86_64.whl"),
			wheel(t, "x86only-1.2-py3-none-manylinux_2_17_x86_64.whl"),
			wheel(t, "x86only-1.3-py3-none-manylinux_2_17_x86_64.whl"),
			wheel(t, "x86only-1.4-py3-none-manylinux_2_17_x86_64.whl"),
		},
		"dynamic":     {sdist(t, "dynamic-1.0.tar.gz", "2.1", "Requires-Dist: lib")},
		"conflicting": {wheel(t, "conflicting-1.0-py3-none-any.whl", "Requires-Dist: lib>=2")},
	}
}

func TestLockChoosesPerTarget(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	tests := []struct {
		name   string
		reqs   []string
		python string
		plat   string
		edit   func(*Request)
		want   string
	}{
		{"markers and extras, 3.11 on x86_64", []string{"app[opt]"}, "3.11", "linux/amd64", nil,
			"app 1.0 [fancy lib optdep]; colorlib 0.5; fancy 1.0 [colorlib]; lib 2.0; optdep 1.0"},
		{"markers and extras, 3.12 on aarch64", []string{"app"}, "3.12", "linux/arm64", nil,
			"app 1.0 [armonly fancy lib newpy]; armonly 1.0; colorlib 0.5; fancy 1.0 [colorlib]; lib 2.0; newpy 2.0"},
		{"pre-releases only when asked for", []string{"lib>=2.1b1"}, "3.11", "linux/amd64", nil, "lib 2.1b1"},
		{"pre-releases when nothing else exists", []string{"onlypre"}, "3.11", "linux/amd64", nil, "onlypre 1.0a1"},
		{"--prerelease allow", []string{"lib<3"}, "3.11", "linux/amd64", func(r *Request) { r.Prerelease = PrereleaseAllow }, "lib 2.1b1"},
		{"a yanked version is skipped", []string{"lib>=2"}, "3.11", "linux/amd64", nil, "lib 2.0"},
		{"a yanked version pinned with ==", []string{"lib==3.0"}, "3.11", "linux/amd64", nil, "lib 3.0"},
		{"requires-python on 3.11", []string{"newpy"}, "3.11", "linux/amd64", nil, "newpy 1.0"},
		{"requires-python on 3.12", []string{"newpy"}, "3.12", "linux/amd64", nil, "newpy 2.0"},
		{"the wheel for the target's Python and arch", []string{"native"}, "3.12", "linux/amd64", nil, "native 1.0"},
		{"an older version has the only aarch64 wheel", []string{"native"}, "3.11", "linux/arm64", nil, "native 0.9"},
		{"an sdist when allowed", []string{"native>=1"}, "3.12", "linux/arm64", func(r *Request) { r.AllowSdist = true }, "lib 1.0; native 1.0 sdist [lib]"},
		{"a marker that excludes the requirement", []string{"lib", "armonly; platform_machine == 'aarch64'"}, "3.11", "linux/amd64", nil, "lib 2.0"},
		{"the existing lock is kept", []string{"lib", "newpy"}, "3.12", "linux/amd64", func(r *Request) {
			r.Existing = []lockfile.Package{{Name: "lib", Version: "1.0", Source: lockfile.SourcePyPI}, {Name: "newpy", Version: "1.0", Source: lockfile.SourcePyPI}}
		}, "lib 1.0; newpy 1.0"},
		{"--upgrade-package changes only that package", []string{"lib", "newpy"}, "3.12", "linux/amd64", func(r *Request) {
			r.Existing = []lockfile.Package{{Name: "lib", Version: "1.0", Source: lockfile.SourcePyPI}, {Name: "newpy", Version: "1.0", Source: lockfile.SourcePyPI}}
			r.UpgradePackages = []string{"NewPy"}
		}, "lib 1.0; newpy 2.0"},
		{"--upgrade changes everything", []string{"lib", "newpy"}, "3.12", "linux/amd64", func(r *Request) {
			r.Existing = []lockfile.Package{{Name: "lib", Version: "1.0", Source: lockfile.SourcePyPI}, {Name: "newpy", Version: "1.0", Source: lockfile.SourcePyPI}}
			r.Upgrade = true
		}, "lib 2.0; newpy 2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pkgs, _, err := lockAt(t, f, mustTarget(t, tt.python, tt.plat), tt.reqs, tt.edit)
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			if got := summary(pkgs); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

// The same choices from a PEP 503 HTML index (no upload times, hashes in
// URL fragments, data-* attributes for Requires-Python and yanking).
func TestLockFromHTMLIndex(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	f.html = true
	tests := []struct {
		reqs []string
		want string
	}{
		{[]string{"app[opt]"}, "app 1.0 [fancy lib optdep]; colorlib 0.5; fancy 1.0 [colorlib]; lib 2.0; optdep 1.0"},
		{[]string{"newpy", "lib>=2.1b1"}, "lib 2.1b1; newpy 1.0"},
	}
	for _, tt := range tests {
		pkgs, _, err := lockAt(t, f, mustTarget(t, "3.11", "linux/amd64"), tt.reqs, nil)
		if err != nil {
			t.Fatalf("Lock %q: %v", tt.reqs, err)
		}
		if got := summary(pkgs); got != tt.want {
			t.Errorf("Lock %q:\ngot  %s\nwant %s", tt.reqs, got, tt.want)
		}
	}
}

// Background fetches finish in any order: the lock must not depend on it.
func TestLockIsDeterministic(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	var first string
	for i := 0; i < 5; i++ {
		pkgs, _, err := lockAt(t, f, mustTarget(t, "3.11", "linux/arm64"), []string{"app[opt]", "native"}, nil)
		if err != nil {
			t.Fatalf("Lock: %v", err)
		}
		var b strings.Builder
		for _, p := range pkgs {
			fmt.Fprintf(&b, "%+v\n", p)
		}
		if i == 0 {
			first = b.String()
		} else if b.String() != first {
			t.Fatalf("run %d differs:\n%s\nvs\n%s", i, b.String(), first)
		}
	}
}

func TestLockEntries(t *testing.T) {
	projects := testProjects(t)
	f := newFakeIndex(t, projects)
	pkgs, _, err := lockAt(t, f, mustTarget(t, "3.11", "linux/amd64"), []string{"Lib>=2"}, nil)
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	d := projects["lib"][1]
	want := lockfile.Package{Name: "lib", Version: "2.0", Source: lockfile.SourcePyPI, Kind: lockfile.KindWheel, URL: f.srv.URL + "/files/" + d.filename,
		Filename: d.filename, Sha256: sha(d.body), Size: int64(len(d.body)), Depends: []string{}, Requested: true, Index: "pypi"}
	if len(pkgs) != 1 || !equalPackage(pkgs[0], want) {
		t.Errorf("got %+v\nwant %+v", pkgs, want)
	}
}

func equalPackage(a, b lockfile.Package) bool {
	return a.Name == b.Name && a.Version == b.Version && a.Source == b.Source && a.Kind == b.Kind && a.URL == b.URL &&
		a.Filename == b.Filename && a.Sha256 == b.Sha256 && a.Size == b.Size && strings.Join(a.Depends, " ") == strings.Join(b.Depends, " ") &&
		a.Requested == b.Requested && a.Index == b.Index
}

// Failures the user can act on, with their explanation word for word.
func TestLockExplainsFailures(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	tests := []struct {
		name   string
		reqs   []string
		python string
		plat   string
		edit   func(*Request)
		want   string
	}{
		{"a conflict", []string{"conflicting", "lib<2"}, "3.11", "linux/amd64", nil,
			"no set of packages for CPython 3.11.0 on linux/amd64 (glibc 2.28) satisfies the requirements:\n" +
				"Because conflicting 1.0 depends on lib>=2 and you asked for lib<2, conflicting 1.0 cannot be used.\n" +
				"So, because you asked for conflicting, the requirements cannot be satisfied."},
		{"requires-python", []string{"newpy>=2"}, "3.11", "linux/amd64", nil,
			"no set of packages for CPython 3.11.0 on linux/amd64 (glibc 2.28) satisfies the requirements:\n" +
				"Because newpy 2.0 requires Python >=3.12 and you asked for newpy>=2, the requirements cannot be satisfied."},
		{"no wheel for the target", []string{"native>=1"}, "3.12", "linux/arm64", nil,
			"no set of packages for CPython 3.12.0 on linux/arm64 (glibc 2.28) satisfies the requirements:\n" +
				"Because native 1.0 has no wheel for CPython 3.12.0 on linux/arm64 (glibc 2.28) and you asked for native>=1, the requirements cannot be satisfied.\n" +
				"hint: native 1.0 has a source distribution: --allow-sdist locks it for the build to compile"},
		{"no wheel for the target, an older one has", []string{"native>=1"}, "3.11", "linux/arm64", nil,
			"no set of packages for CPython 3.11.0 on linux/arm64 (glibc 2.28) satisfies the requirements:\n" +
				"Because native 1.0 has no wheel for CPython 3.11.0 on linux/arm64 (glibc 2.28) and you asked for native>=1, the requirements cannot be satisfied.\n" +
				"hint: the newest version of native with a wheel for CPython 3.11.0 on linux/arm64 (glibc 2.28) is 0.9\n" +
				"hint: native 1.0 has a source distribution: --allow-sdist locks it for the build to compile"},
		{"a transitive requirement no version matches", []string{"wants-new-lib"}, "3.11", "linux/amd64", nil,
			"no set of packages for CPython 3.11.0 on linux/amd64 (glibc 2.28) satisfies the requirements:\n" +
				"Because wants-new-lib 1.0 depends on lib>=3.1 and no version of lib matches >=3.1, wants-new-lib 1.0 cannot be used.\n" +
				"So, because you asked for wants-new-lib, the requirements cannot be satisfied."},
		{"an unknown project", []string{"nosuch"}, "3.11", "linux/amd64", nil,
			"no set of packages for CPython 3.11.0 on linux/amd64 (glibc 2.28) satisfies the requirements:\n" +
				"Because no index (pypi) has a project named nosuch and you asked for nosuch, the requirements cannot be satisfied."},
		{"pre-releases are not used when not asked for", []string{"onlypre"}, "3.11", "linux/amd64", func(r *Request) { r.Prerelease = PrereleaseDisallow },
			"no set of packages for CPython 3.11.0 on linux/amd64 (glibc 2.28) satisfies the requirements:\n" +
				"Because onlypre 1.0a1 is a pre-release and you asked for onlypre, the requirements cannot be satisfied.\n" +
				"hint: pre-releases are used when a requirement names one, or with --prerelease allow"},
		{"many versions without a wheel", []string{"x86only"}, "3.11", "linux/arm64", nil,
			"no set of packages for CPython 3.11.0 on linux/arm64 (glibc 2.28) satisfies the requirements:\n" +
				"Because x86only 1.4, 1.3 and 3 older versions have no wheel for CPython 3.11.0 on linux/arm64 (glibc 2.28) and you asked for x86only, the requirements cannot be satisfied."},
		{"several unusable versions", []string{"lib>2"}, "3.11", "linux/amd64", nil,
			"no set of packages for CPython 3.11.0 on linux/amd64 (glibc 2.28) satisfies the requirements:\n" +
				"Because lib 3.0 was yanked (broken build) and lib 2.1b1 is a pre-release and you asked for lib>2, the requirements cannot be satisfied.\n" +
				"hint: pre-releases are used when a requirement names one, or with --prerelease allow"},
		{"a malformed requirement", []string{"lib >= = 2"}, "3.11", "linux/amd64", nil, ""},
		{"a file: reference", []string{"lib @ file:///tmp/lib-1.0-py3-none-any.whl"}, "3.11", "linux/amd64", nil,
			"locking \"lib @ file:///tmp/lib-1.0-py3-none-any.whl\": a file: reference cannot be locked; link to a built wheel over https, or publish the package to an index"},
		{"a VCS reference", []string{"lib @ git+https://example.com/lib.git"}, "3.11", "linux/amd64", nil,
			"locking \"lib @ git+https://example.com/lib.git\": a git+https: reference cannot be locked; link to a built wheel over https, or publish the package to an index"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := lockAt(t, f, mustTarget(t, tt.python, tt.plat), tt.reqs, tt.edit)
			if err == nil {
				t.Fatal("Lock succeeded, want an error")
			}
			if k := failure.KindOf(err); k != failure.KindUser {
				t.Errorf("error kind %d, want %d (user): %v", k, failure.KindUser, err)
			}
			if tt.want == "" {
				if !strings.Contains(err.Error(), "lib >= = 2") {
					t.Errorf("error %q does not quote the requirement", err)
				}
				return
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", err, tt.want)
			}
		})
	}
}

// With --allow-sdist, an sdist whose metadata only a build would settle is
// locked with the dependencies its PKG-INFO declares, and the log says so.
func TestLockSdistWithDeclaredDependencies(t *testing.T) {
	f := newFakeIndex(t, testProjects(t))
	pkgs, log, err := lockAt(t, f, mustTarget(t, "3.11", "linux/amd64"), []string{"dynamic"}, func(r *Request) { r.AllowSdist = true })
	if err != nil {
		t.Fatal(err)
	}
	if got := summary(pkgs); !strings.HasPrefix(got, "dynamic 1.0 sdist [lib]; lib ") {
		t.Errorf("locked %q, want dynamic 1.0 as an sdist depending on lib, and lib", got)
	}
	if !strings.Contains(log, "dynamic 1.0: dependencies taken from dynamic-1.0.tar.gz's PKG-INFO") {
		t.Errorf("the log does not say the dependencies come from PKG-INFO:\n%s", log)
	}
}
