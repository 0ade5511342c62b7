package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/lockfile"
)

func TestFileKind(t *testing.T) {
	for _, tc := range []struct{ path, content, want string }{
		{"envbuild.toml", "", kindEnvToml},
		{"x/pyproject.toml", "", kindPyproject},
		{"uv.lock", "", kindUVLock},
		{"pylock.toml", "", kindPylock},
		{"pylock.dev.toml", "", kindPylock},
		{"environment.yml", "", kindEnvYML},
		{"conda.yaml", "", kindEnvYML},
		{"requirements-dev.txt", "", kindRequirements},
		{"requirements.in", "", kindRequirements},
		{"locked.toml", "lock-version = \"1.0\"\ncreated-by = \"x\"\n[[packages]]\n", kindPylock},
		{"project.lock", "version = 1\nrevision = 3\n\n[[package]]\n", kindUVLock},
		{"proj.toml", "[project]\nname = \"x\"\n", kindPyproject},
		{"env", "name: x\ndependencies:\n  - numpy\n", kindEnvYML},
		{"team.toml", "[pypi]\npackages = {}\n", kindEnvToml},
		{"deps", "requests>=2\n", kindRequirements},
	} {
		if got := fileKind(tc.path, []byte(tc.content)); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.path, got, tc.want)
		}
	}
}

// An environment.yml locks its conda specs from its channels under its
// name, and exports as a conda explicit file.
func TestEnvironmentYMLLocksAndExports(t *testing.T) {
	isolate(t)
	ch := condaChannel(t)
	dir := t.TempDir()
	yml := "# the team's notebook environment\nname: notebooks\nchannels:\n  - " + ch + "\n  - nodefaults\ndependencies:\n  - python=3.11\n  - six\n"
	if err := os.WriteFile(filepath.Join(dir, "environment.yml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := runMain(t, dir, "lock", "--cache-dir", filepath.Join(dir, "cache"), "-f", "environment.yml", "--export", "conda-explicit")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	f, err := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
	if err != nil || f == nil || f.Env("notebooks") == nil {
		t.Fatalf("lock: %v %+v", err, f)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.Contains(out, "# platform: linux-64\n@EXPLICIT\n") || len(lines) != 3+len(f.Env("notebooks").Targets[0].Packages) {
		t.Errorf("explicit file:\n%s", out)
	}
	for _, l := range lines[3:] {
		if !strings.HasPrefix(l, ch+"/") || !strings.Contains(l, ".conda#") {
			t.Errorf("line %q", l)
		}
	}
	// pylock cannot hold conda packages: exit 1, nothing on stdout.
	if code, out, stderr := runMain(t, dir, "lock", "--cache-dir", filepath.Join(dir, "cache"), "-f", "environment.yml", "--export", "pylock"); code != 1 || out != "" || !strings.Contains(stderr, "conda-explicit") {
		t.Errorf("pylock of conda: exit %d out %q err %q", code, out, stderr)
	}
}

// A requirements file with an index URL carrying credentials (from the
// environment), a constraint and a --hash pin: the lock obeys them, the
// password is nowhere in the lock, the export or the log, and a wrong hash
// is exit 1 with nothing written.
func TestRequirementsFileHashesAndCredentials(t *testing.T) {
	isolate(t)
	wheels := []wheelFixture{{name: "app", version: "1.0", requires: []string{"lib"}}, {name: "lib", version: "1.0"}, {name: "lib", version: "2.0"}}
	idx := pypiIndex(t, wheels)
	appSha := sha256hex(wheelFixture{name: "app", version: "1.0", requires: []string{"lib"}}.body())
	dir := t.TempDir()
	t.Setenv("IDX_TOKEN", "hunter2")
	creds := strings.Replace(idx, "http://", "http://ci:${IDX_TOKEN}@", 1)
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("constraints.txt", "lib<2  # 2.0 breaks us\n")
	write("requirements.txt", "--index-url "+creds+"\n-c constraints.txt\napp==1.0 \\\n    --hash=sha256:"+appSha+"\n")
	args := []string{"lock", "--python", "3.11", "--cache-dir", filepath.Join(dir, "cache"), "-r", "requirements.txt", "--export", "requirements"}
	code, out, stderr := runMain(t, dir, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "envbuild.lock"))
	for what, s := range map[string]string{"lock": string(lock), "export": out, "log": stderr} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("the password is in the %s:\n%s", what, s)
		}
	}
	if !strings.Contains(out, "app==1.0 \\\n    --hash=sha256:"+appSha) || !strings.Contains(out, "lib==1.0 \\") {
		t.Errorf("export:\n%s", out)
	}
	if code, _, stderr := runMain(t, dir, "lock", "--python", "3.11", "-r", "requirements.txt", "--check"); code != 0 {
		t.Errorf("--check right after: exit %d %s", code, stderr)
	}
	write("constraints.txt", "lib<3\n")
	if code, _, _ := runMain(t, dir, "lock", "--python", "3.11", "-r", "requirements.txt", "--check"); code != 3 {
		t.Errorf("--check after the constraints changed: exit %d, want 3", code)
	}

	os.Remove(filepath.Join(dir, "envbuild.lock"))
	write("requirements.txt", "--index-url "+creds+"\napp==1.0 --hash=sha256:"+strings.Repeat("0", 64)+"\n")
	code, out, stderr = runMain(t, dir, args...)
	if code != 1 || out != "" || !strings.Contains(stderr, "is not one of the 1 hash(es)") {
		t.Errorf("wrong hash: exit %d out %q err %q", code, out, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "envbuild.lock")); err == nil {
		t.Errorf("a lock was written despite the wrong hash")
	}
}

// --export-platform picks one platform of a two-platform lock, and leaves
// the lock's other platform in place; a conda explicit file of two
// platforms asks for it.
func TestExportPlatform(t *testing.T) {
	isolate(t)
	idx := pypiIndex(t, []wheelFixture{{name: "lib", version: "1.0"}})
	dir := t.TempDir()
	base := []string{"lock", "--python", "3.11", "--cache-dir", filepath.Join(dir, "cache"), "--index-url", idx, "--pypi", "lib", "--platform", "linux/amd64,linux/arm64"}
	if code, _, stderr := runMain(t, dir, append(base, "--export", "conda-explicit")...); code != 2 || !strings.Contains(stderr, "--export-platform") {
		t.Errorf("two platforms: exit %d %s", code, stderr)
	}
	code, out, stderr := runMain(t, dir, append(base, "--export", "requirements", "--export-platform", "linux/arm64")...)
	if code != 0 || !strings.Contains(out, "lib==1.0 \\") || strings.Contains(out, "platform_machine") {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	f, _ := lockfile.Read(filepath.Join(dir, "envbuild.lock"))
	if f == nil || len(f.Envs[0].Targets) != 2 {
		t.Errorf("the lock lost a platform: %+v", f)
	}
	if code, _, _ := runMain(t, dir, append(base, "--export-platform", "linux/amd64")...); code != 2 {
		t.Errorf("--export-platform without --export: exit %d", code)
	}
	if code, _, _ := runMain(t, dir, append(base, "--export", "pylock", "--export-platform", "linux/s390x")...); code != 2 {
		t.Errorf("--export-platform of a platform the lock lacks: exit %d", code)
	}
}

func TestExtraNeedsAProject(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte("six\n"), 0o644)
	for _, args := range [][]string{
		{"lock", "--python", "3.11", "-r", "requirements.txt", "--extra", "s3"},
		{"lock", "--python", "3.11", "-f", "requirements.txt", "--group", "dev"},
		{"lock", "--python", "3.11", "--pypi", "six", "--extra", "s3"},
	} {
		if code, _, stderr := runMain(t, dir, args...); code != 2 || !strings.Contains(stderr, "pyproject.toml or uv.lock") {
			t.Errorf("%v: exit %d %s", args, code, stderr)
		}
	}
}
