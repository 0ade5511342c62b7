package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
)

var envbuildBin string

func TestMain(m *testing.M) {
	if os.Getenv("ENVBUILD_SKIP_INTEGRATION") != "" {
		fmt.Println("integration: skipped (ENVBUILD_SKIP_INTEGRATION is set)")
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "envbuild-it-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	envbuildBin = filepath.Join(dir, "envbuild")
	root, err := testbed.ModuleRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cmd := exec.Command("go", "build", "-o", envbuildBin, "./cmd/envbuild")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building envbuild: %v\n%s", err, out)
		os.Exit(1)
	}
	testbed.Main(m)
}

// result is the JSON of `envbuild build --json`.
type result struct {
	Image       string   `json:"image"`
	OCILayout   string   `json:"oci_layout"`
	Digest      string   `json:"digest"`
	EnvID       string   `json:"env_id"`
	Cached      bool     `json:"cached"`
	Platforms   []string `json:"platforms"`
	Layers      int      `json:"layers"`
	PushedBytes int64    `json:"pushed_bytes"`
	// The team layer cache.
	LayersReused int `json:"layers_reused"`
	LayersBuilt  int `json:"layers_built"`
	// Notes say what the build decided (where Python comes from, …).
	Notes []string `json:"notes"`
	Steps int      `json:"steps"`
}

type run struct {
	stdout, stderr string
	code           int
}

// envbuild runs the binary in dir with the bed's environment plus env.
func envbuild(t *testing.T, dir string, env []string, args ...string) run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, envbuildBin, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "XDG_CACHE_HOME="+cacheHome(t), "XDG_CONFIG_HOME="+filepath.Join(dir, ".config")), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running envbuild %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	r := run{out.String(), errb.String(), code}
	t.Logf("envbuild %s → exit %d\nstderr:\n%s", strings.Join(args, " "), code, tail(r.stderr, 40))
	return r
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cacheHome is shared by every test of the run, so the index's HTTP cache
// and the bases' inspections are reused the way a user's would be.
func cacheHome(t *testing.T) string {
	dir := filepath.Join(os.TempDir(), "envbuild-it-cache")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// mustBuild runs a build that must succeed and returns its JSON.
func mustBuild(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	r := envbuild(t, dir, env, append([]string{"build", "--json", "--progress", "plain"}, args...)...)
	if r.code != 0 {
		t.Fatalf("build failed with exit %d:\n%s", r.code, tail(r.stderr, 80))
	}
	var res result
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("build printed no JSON result: %v\n%s", err, r.stdout)
	}
	return res
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
