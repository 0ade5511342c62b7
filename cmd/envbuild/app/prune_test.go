package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestPruneLocalCache(t *testing.T) {
	t.Setenv("BUILDKIT_HOST", "")
	t.Setenv("ENVBUILD_NO_LOCAL_BUILDKITD", "1")
	t.Setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
	cache := t.TempDir()
	write := func(rel string, size int, age time.Duration) string {
		p := filepath.Join(cache, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
		tm := time.Now().Add(-age)
		if err := os.Chtimes(p, tm, tm); err != nil {
			t.Fatal(err)
		}
		return p
	}
	old := write("http/old", 3000, 72*time.Hour)
	mid := write("http/sub/mid", 2000, 30*time.Hour)
	fresh := write("bases/fresh", 1000, time.Minute)

	// A dry run lists and keeps.
	code, out, errOut := runMain(t, t.TempDir(), "prune", "--cache-dir", cache, "--filter", "until=24h")
	if code != 0 || !strings.Contains(out, old) || !strings.Contains(out, mid) || strings.Contains(out, fresh) || !strings.Contains(errOut, "dry run") {
		t.Fatalf("dry run: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, p := range []string{old, mid, fresh} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a dry run removed %s", p)
		}
	}
	if !strings.Contains(errOut, "no BuildKit daemon is running") {
		t.Errorf("no word on BuildKit: %s", errOut)
	}
	// --keep-storage keeps the newest 3000 bytes: old goes, mid stays.
	code, out, errOut = runMain(t, t.TempDir(), "prune", "--cache-dir", cache, "--keep-storage", "3500", "--force")
	if code != 0 || !strings.Contains(out, old) || strings.Contains(out, mid) {
		t.Fatalf("keep-storage: exit %d\n%s\n%s", code, out, errOut)
	}
	if _, err := os.Stat(old); err == nil {
		t.Errorf("%s was not removed", old)
	}
	if _, err := os.Stat(mid); err != nil {
		t.Errorf("%s was removed", mid)
	}
	// Bad bounds are usage errors.
	if code, _, _ := runMain(t, t.TempDir(), "prune", "--cache-dir", cache, "--keep-storage", "lots"); code != 2 {
		t.Errorf("--keep-storage lots: exit %d, want 2", code)
	}
	if code, _, _ := runMain(t, t.TempDir(), "prune", "--cache-dir", cache, "--filter", "label=x"); code != 2 {
		t.Errorf("--filter label=x: exit %d, want 2", code)
	}
}
