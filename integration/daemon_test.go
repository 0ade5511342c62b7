package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/integration/testbed"
)

// With neither --buildkit-addr nor BUILDKIT_HOST, envbuild starts its local
// daemon from the buildkitd beside it, reuses it for the next
// command, and `envbuild daemon stop` stops it.
func TestLocalDaemon(t *testing.T) {
	bed := testbed.Require(t)
	if os.Geteuid() != 0 {
		t.Skip("the local daemon is started only as root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		t.Skip("runc is not installed")
	}
	// envbuild finds buildkitd beside itself.
	dir := t.TempDir()
	bin := filepath.Join(dir, "envbuild")
	copyFile(t, envbuildBin, bin, 0o755)
	copyFile(t, bed.Buildkitd, filepath.Join(dir, "buildkitd"), 0o755)
	run := func(args ...string) run {
		cmd := exec.Command(bin, args...)
		cmd.Dir = t.TempDir()
		var env []string
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "BUILDKIT_HOST=") {
				env = append(env, kv)
			}
		}
		cmd.Env = append(env, "XDG_CACHE_HOME="+cacheHome(t))
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		t.Logf("envbuild %s → %d\n%s", strings.Join(args, " "), code, tail(errb.String(), 20))
		return struct {
			stdout, stderr string
			code           int
		}{out.String(), errb.String(), code}
	}
	run("daemon", "stop")
	t.Cleanup(func() { run("daemon", "stop") })

	r := run("build", "--progress", "plain", "--pypi", "six==1.16.0", "--pypi", "packaging==24.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/localdaemon")
	if r.code != 0 || !strings.Contains(r.stderr, "starting a local BuildKit daemon") {
		t.Fatalf("build without an address: exit %d, did not start the local daemon:\n%s", r.code, r.stderr)
	}
	r = run("build", "--progress", "plain", "--pypi", "six==1.16.0", "--base", bed.Base, "--registry", bed.Registry+"/envs/localdaemon")
	if r.code != 0 || strings.Contains(r.stderr, "starting a local BuildKit daemon") {
		t.Errorf("the second build did not reuse the running local daemon: exit %d\n%s", r.code, r.stderr)
	}
	r = run("daemon", "stop")
	if r.code != 0 || !strings.Contains(r.stderr, "stopped") {
		t.Errorf("daemon stop: exit %d %q", r.code, r.stderr)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
