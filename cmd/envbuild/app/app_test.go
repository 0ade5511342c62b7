package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/lock/lockfile"
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
		{"bad --with", []string{"flow", "build", "--with", "kubernetes:cpu=2", "f.py"}, 2, "kubernetes:cpu=2"},
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
	s := spec.Spec{Name: "default", PyPI: spec.PyPI{Requirements: []string{"six==1.16.0"}}}
	f := &lockfile.File{LockVersion: lockfile.Version, Envs: []lockfile.Env{{Name: "default", SpecDigest: s.Digest()}}}
	if err := lockfile.Write(filepath.Join(dir, "envbuild.lock"), f); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runMain(t, dir, "lock", "--check", "--pypi", "six==1.16.0"); code != 0 || !strings.Contains(stderr, "up to date") {
		t.Errorf("unchanged spec: exit %d, %q", code, stderr)
	}
	if code, _, stderr := runMain(t, dir, "lock", "--check", "--pypi", "six==1.17.0"); code != 3 || !strings.Contains(stderr, "out of date") {
		t.Errorf("changed spec: exit %d, %q; want 3", code, stderr)
	}
}
