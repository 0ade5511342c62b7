package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/target"
)

func runMain(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	var out, errb bytes.Buffer
	code := Main(append([]string{"envbuild"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"build", "--no-such-flag"}, 2, "no-such-flag"},
		{"unknown top-level flag", []string{"--no-such-flag"}, 2, "no-such-flag"},
		{"unknown command", []string{"biuld"}, 2, `unknown command "biuld"`},
		{"nothing to build", []string{"build"}, 2, "nothing to build"},
		{"bad platform", []string{"lock", "--pypi", "six", "--platform", "windows/amd64"}, 2, "windows/amd64"},
		{"bad date", []string{"lock", "--pypi", "six", "--python", "3.11", "--exclude-newer", "yesterday"}, 2, "--exclude-newer"},
		{"missing toml", []string{"build", "--file", "nope.toml"}, 1, "nope.toml"},
		{"flow without a file", []string{"flow", "build"}, 2, "one flow file"},
		{"bad --with", []string{"flow", "build", "--with", "kubernetes:cpu", "f.py"}, 2, "kubernetes:cpu"},
		{"--with kubernetes and batch", []string{"flow", "build", "--with", "kubernetes", "--with", "batch", "f.py"}, 2, "not both"},
		{"--with after the flow file, with attributes", []string{"flow", "build", "nope.py", "--with", "kubernetes:image=reg.example.com/b:1,cpu=2"}, 1, "nope.py"},
		{"--with with attributes reads on to the flow", []string{"flow", "build", "--with", "kubernetes:image=reg.example.com/b:1,cpu=2", "nope.py"}, 1, "nope.py"},
		{"check without a lock", []string{"lock", "--check", "--pypi", "six"}, 3, "does not exist"},
		{"missing TLS file", []string{"build", "--pypi", "six", "--base", "b.example.com/base", "--registry", "r.example.com/envs", "--buildkit-addr", "tcp://127.0.0.1:1", "--tlscacert", "nope.pem"}, 1, "nope.pem (--tlscacert): no such file"},
		{"TLS on a unix address", []string{"build", "--pypi", "six", "--base", "b.example.com/base", "--registry", "r.example.com/envs", "--buildkit-addr", "unix:///x.sock", "--tlsservername", "x"}, 2, "tcp://"},
		{"address and builder", []string{"build", "--pypi", "six", "--base", "b.example.com/base", "--registry", "r.example.com/envs", "--buildkit-addr", "tcp://127.0.0.1:1", "--builder", "b"}, 2, "give one"},
		{"bad address", []string{"build", "--pypi", "six", "--base", "b.example.com/base", "--registry", "r.example.com/envs", "--buildkit-addr", "http://127.0.0.1:1"}, 2, `unknown scheme "http"`},
		{"flow: bad address", []string{"flow", "build", "f.py", "--buildkit-addr", "buildkitd.sock"}, 2, "no scheme"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, dir, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("a failure printed %q on stdout", stdout)
			}
		})
	}
}

func TestLockCheck(t *testing.T) {
	dir := t.TempDir()
	writeLockFor(t, dir, spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0"}}})
	if code, _, stderr := runMain(t, dir, "lock", "--check", "--pypi", "six==1.16.0"); code != 0 || !strings.Contains(stderr, "up to date") {
		t.Errorf("unchanged spec: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runMain(t, dir, "lock", "--check", "--pypi", "six==1.17.0"); code != 3 || !strings.Contains(stderr, "out of date") {
		t.Errorf("changed spec: exit %d, %q; want 3", code, stderr)
	}
	if code, _, stderr := runMain(t, dir, "lock", "--locked", "--pypi", "six==1.17.0"); code != 3 || !strings.Contains(stderr, "out of date") {
		t.Errorf("--locked, changed spec: exit %d, %q; want 3", code, stderr)
	}
	if code, _, stderr := runMain(t, dir, "lock", "--locked", "--pypi", "six==1.16.0", "--platform", "linux/amd64,linux/arm64"); code != 3 || !strings.Contains(stderr, "out of date") {
		t.Errorf("--locked, a platform more: exit %d, %q; want 3", code, stderr)
	}
	if code, _, stderr := runMain(t, dir, "build", "--locked", "--frozen", "--pypi", "six==1.16.0"); code != 2 || !strings.Contains(stderr, "exclude each other") {
		t.Errorf("--locked --frozen: exit %d, %q; want 2", code, stderr)
	}
}

// writeLockFor writes a lock whose only environment has s's spec digest,
// so that `lock --check` with a command line says whether the command
// line made exactly s.
func writeLockFor(t *testing.T, dir string, s spec.Spec) {
	t.Helper()
	e := lockfile.Env{Name: s.Name, SpecDigest: s.Digest()}
	for _, p := range s.PlatformsOrDefault() {
		e.Targets = append(e.Targets, lockfile.Target{Target: target.Target{Platform: p, Python: "3.11.0", Implementation: "cpython", Libc: "glibc", LibcVersion: "2.28"}})
	}
	f := &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{e}}
	if err := lockfile.Write(filepath.Join(dir, "envbuild.lock"), f); err != nil {
		t.Fatal(err)
	}
}

// Values of repeatable flags are taken whole: requirements and MatchSpecs
// have commas of their own. --platform alone is also split on commas.
func TestFlagValuesWithCommas(t *testing.T) {
	dir := t.TempDir()
	writeLockFor(t, dir, spec.Spec{
		Name:      "default",
		Python:    "3.11",
		Platforms: []string{"linux/amd64", "linux/arm64"},
		PyPI: spec.PyPI{
			Requirements:   []string{"requests>=2.31,<3", "six"},
			ExtraIndexURLs: []string{"https://example.com/simple?a=1,2"},
		},
		Conda: spec.Conda{Specs: []string{"numpy>=1.5,<2"}, Channels: []string{"conda-forge", "bioconda"}},
	})
	code, stdout, stderr := runMain(t, dir, "lock", "--check", "--python", "3.11",
		"--pypi", "requests>=2.31,<3", "--pypi", "six",
		"--extra-index-url", "https://example.com/simple?a=1,2",
		"--conda", "numpy>=1.5,<2", "--channel", "conda-forge", "--channel", "bioconda",
		"--platform", "linux/amd64,linux/arm64")
	if code != 0 || stdout != "" || !strings.Contains(stderr, "up to date") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0 and up to date", code, stdout, stderr)
	}
	// The same platforms given one per flag make the same spec.
	code, _, stderr = runMain(t, dir, "lock", "--check", "--python", "3.11",
		"--pypi", "requests>=2.31,<3", "--pypi", "six",
		"--extra-index-url", "https://example.com/simple?a=1,2",
		"--conda", "numpy>=1.5,<2", "--channel", "conda-forge", "--channel", "bioconda",
		"--platform", "linux/amd64", "--platform", "linux/arm64")
	if code != 0 {
		t.Errorf("repeated --platform: exit %d, stderr %q", code, stderr)
	}
}

// A python pin among the conda specs is the environment's Python: no
// --python or base is needed, the solve picks the version and the lock
// records it; a --python that disagrees is refused.
func TestCondaPythonPin(t *testing.T) {
	isolate(t)
	ch := condaChannel(t)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		python string
		stderr string
	}{
		{"python=3.6", []string{"--conda", "python=3.6", "--conda", "six"}, 0, "3.6.15", "Python 3.6.15"},
		{"a range with a comma", []string{"--conda", "python>=3.10,<3.12"}, 0, "3.11.9", "Python 3.11.9"},
		{"agreeing --python", []string{"--python", "3.11", "--conda", "python>=3.10"}, 0, "3.11.9", "Python 3.11.9"},
		{"conflicting --python", []string{"--python", "3.12", "--conda", "python>=3.10,<3.12"}, 1, "", `conda spec "python>=3.10,<3.12" allows no Python 3.12`},
		{"no python at all", []string{"--conda", "six"}, 2, "", "python pin among the conda specs"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"lock", "--cache-dir", filepath.Join(dir, "cache"), "--channel", ch}, tc.args...)
			code, _, stderr := runMain(t, dir, args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, tc.code, tc.stderr)
			}
			f, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.code != 0 {
				if f != nil {
					t.Errorf("a failed lock wrote %s", filepath.Join(dir, "envbuild.lock"))
				}
				return
			}
			lt := f.Env("default").Target("linux/amd64")
			if lt.Python != tc.python || lt.PythonSource != lockfile.PythonFromConda {
				t.Errorf("target python %q (%s), want %s from conda", lt.Python, lt.PythonSource, tc.python)
			}
		})
	}
}

// isolate keeps the machine's configuration out of a test: no config
// file, no ENVBUILD_/METAFLOW_ defaults, no Metaflow profile.
func isolate(t *testing.T) {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("XDG_CACHE_HOME", filepath.Join(home, ".cache"))
	t.Setenv("XDG_CONFIG_DIRS", filepath.Join(home, "etc-xdg"))
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ENVBUILD_") && k != "ENVBUILD_SKIP_INTEGRATION" || strings.HasPrefix(k, "METAFLOW_") || strings.HasPrefix(k, "PIP_") || strings.HasPrefix(k, "CONDA") || k == "BUILDKIT_HOST" || k == "BUILDX_BUILDER" || k == "DOCKER_CONFIG" || k == "NETRC" {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("PIP_CONFIG_FILE", os.DevNull) // no pip.conf of this machine

}

// build --locked and --frozen decide before any registry is asked.
func TestBuildLockPolicy(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	writeLockFor(t, dir, spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0"}}})
	lockBytes, _ := os.ReadFile(filepath.Join(dir, "envbuild.lock"))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"locked, stale", []string{"build", "--locked", "--pypi", "six==1.17.0"}, 3, "--locked: envbuild.lock is out of date: the spec of environment \"default\" changed"},
		{"locked, no lock", []string{"build", "--locked", "--lock", "other.lock", "--pypi", "six==1.16.0"}, 3, "--locked: other.lock does not exist"},
		{"frozen, no lock", []string{"build", "--frozen", "--lock", "other.lock", "--pypi", "six==1.16.0"}, 3, "--frozen: other.lock does not exist"},
		// The lock is taken as it is: the build goes on, to the base.
		{"frozen, stale", []string{"build", "--frozen", "--pypi", "six==1.17.0"}, 1, "no base image"},
		{"locked, up to date", []string{"build", "--locked", "--pypi", "six==1.16.0"}, 1, "no base image"},
		{"flow --locked --frozen", []string{"flow", "build", "--locked", "--frozen", "f.py"}, 2, "exclude each other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, dir, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and %q", code, stdout, stderr, tc.code, tc.want)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "envbuild.lock")); string(b) != string(lockBytes) {
				t.Errorf("the lock was rewritten")
			}
			if _, err := os.Stat(filepath.Join(dir, "other.lock")); err == nil {
				t.Errorf("a lock was written")
			}
		})
	}
}
