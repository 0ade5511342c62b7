package app

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Flag values no later step can make right are usage errors (exit 2)
// before anything is locked, built or dialed: no lock is written, and the
// unreachable index, registry and BuildKit given are never asked.
func TestValidationBeforeWork(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	common := []string{"--pypi", "six", "--python", "3.11", "--index-url", "http://127.0.0.1:1/simple", "--base", "127.0.0.1:1/base", "--buildkit-addr", "tcp://127.0.0.1:1"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"compression", nil, []string{"build", "--compression", "lz4"}, `--compression "lz4": want gzip or zstd`},
		{"gzip level", nil, []string{"build", "--compression-level", "10"}, `--compression-level 10: want 1-9 for gzip`},
		{"zstd level", nil, []string{"build", "--compression", "zstd", "--compression-level", "0"}, `--compression-level 0: want 1-22 for zstd`},
		{"layers from wheels with zstd", nil, []string{"build", "--layers-from-wheels", "--compression", "zstd"}, `--layers-from-wheels copies the wheels' DEFLATE data into gzip layers`},
		{"layers from wheels with a level", nil, []string{"build", "--layers-from-wheels", "--compression-level", "6"}, "at its default level only"},
		{"layers from wheels from the environment", map[string]string{"ENVBUILD_LAYERS_FROM_WHEELS": "sometimes"}, []string{"build"}, `ENVBUILD_LAYERS_FROM_WHEELS="sometimes": want true or false`},
		{"progress", nil, []string{"build", "--progress", "loud"}, `--progress "loud": want auto, plain, tty, quiet, rawjson`},
		{"registry URL", nil, []string{"build", "--registry", "http://x/y"}, `--registry "http://x/y": a repository has no URL scheme`},
		{"registry from the environment", map[string]string{"ENVBUILD_REPOSITORY": "https://r.example.com/envs"}, []string{"build"}, "ENVBUILD_REPOSITORY"},
		{"layer cache", nil, []string{"build", "--layer-cache", "sometimes"}, `--layer-cache "sometimes": want write, read or off`},
		{"layer cache repository", nil, []string{"build", "--layer-cache-repo", "oci://x/y"}, "--layer-cache-repo"},
		{"layer cache mode from the environment", map[string]string{"ENVBUILD_LAYER_CACHE_MODE": "on"}, []string{"build"}, "ENVBUILD_LAYER_CACHE_MODE"},
		{"push timeout", map[string]string{"ENVBUILD_PUSH_TIMEOUT": "soon"}, []string{"build"}, "ENVBUILD_PUSH_TIMEOUT"},
		{"long value", nil, []string{"build", "--compression", strings.Repeat("x", 5000)}, `--compression "` + strings.Repeat("x", 200) + `…"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			start := time.Now()
			code, stdout, stderr := runMain(t, dir, append(tc.args, common...)...)
			if code != 2 || !strings.Contains(stderr, tc.want) || stdout != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2 and %q", code, stdout, stderr, tc.want)
			}
			if len(stderr) > 600 {
				t.Errorf("the message is %d bytes long", len(stderr))
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("refused after %s: something was dialed first", d)
			}
			if _, err := os.Stat(filepath.Join(dir, "envbuild.lock")); err == nil {
				t.Fatalf("a lock was written")
			}
		})
	}
	t.Run("flow progress", func(t *testing.T) {
		code, _, stderr := runMain(t, dir, "flow", "build", "--progress", "loud", "f.py")
		if code != 2 || !strings.Contains(stderr, "--progress") {
			t.Errorf("exit %d, %q", code, stderr)
		}
	})
}

// A 100 KB invalid requirement is not echoed whole, and a long URL in an
// error is shortened to its host and file.
func TestLongInputIsNotEchoed(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	for _, req := range []string{"six" + strings.Repeat("x", 100<<10) + ">=1;;", "six>=" + strings.Repeat("1.", 50<<10) + "x"} {
		code, _, stderr := runMain(t, dir, "lock", "--python", "3.11", "--pypi", req)
		if code != 1 || len(stderr) > 1500 || !strings.Contains(stderr, "…") {
			t.Errorf("exit %d, %d bytes of stderr: %.300q", code, len(stderr), stderr)
		}
	}
	long := "https://files.example.com/packages/" + strings.Repeat("ab/", 200) + "six-1.16.0-py2.py3-none-any.whl?X-Amz-Signature=" + strings.Repeat("f", 300)
	if got := errorText(errors.New("pushing: Put " + long + ": broken pipe")); got != "pushing: Put https://files.example.com/…/six-1.16.0-py2.py3-none-any.whl?…: broken pipe" {
		t.Errorf("errorText = %q", got)
	}
}
