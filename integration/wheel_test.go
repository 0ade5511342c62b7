package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/integration/testbed"
)

// The pip wheel make dist writes (packaging/wheel.py) installs into a fresh
// venv, gives an `envbuild` command that builds on the test bed, and
// carries the Metaflow extension.
func TestPipWheel(t *testing.T) {
	bed := testbed.Require(t)
	root, err := testbed.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail(errb.String(), 20))
		}
		return out.String()
	}
	whl := strings.TrimSpace(run("python3", filepath.Join(root, "packaging", "wheel.py"), "--binary", envbuildBin, "--platform", "linux/amd64", "--version", "0.1.0+test", "--out", dir))
	if !strings.HasSuffix(whl, "envbuild-0.1.0+test-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") {
		t.Fatalf("wheel %q", whl)
	}
	again := strings.TrimSpace(run("python3", filepath.Join(root, "packaging", "wheel.py"), "--binary", envbuildBin, "--platform", "linux/amd64", "--version", "0.1.0+test", "--out", filepath.Join(dir, "again")))
	a, _ := os.ReadFile(whl)
	b, _ := os.ReadFile(again)
	if !bytes.Equal(a, b) {
		t.Error("two wheels of the same inputs differ")
	}
	run("python3", "-m", "venv", "venv")
	run(filepath.Join(dir, "venv", "bin", "pip"), "install", "--quiet", "--no-index", whl)
	if out := run(filepath.Join(dir, "venv", "bin", "envbuild"), "--version"); !strings.HasPrefix(out, "envbuild version") {
		t.Errorf("envbuild --version from the wheel: %q", out)
	}
	ext, _ := filepath.Glob(filepath.Join(dir, "venv", "lib", "python3*", "site-packages", "metaflow_extensions", "envbuild", "plugins", "mfextinit_envbuild.py"))
	if len(ext) != 1 {
		t.Error("the wheel does not carry the Metaflow extension")
	}
	cmd := exec.Command(filepath.Join(dir, "venv", "bin", "envbuild"), "build", "--json", "--progress", "quiet", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/"+uniqueName(t)+"/wheel")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cacheHome(t), "XDG_CONFIG_HOME="+filepath.Join(dir, ".config"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("envbuild build from the wheel: %v\n%s", err, tail(errb.String(), 20))
	}
	var res result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Errorf("build from the wheel: %v %q", err, out.String())
	}
}
