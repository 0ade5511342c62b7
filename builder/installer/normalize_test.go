package installer

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

func TestNormalize(t *testing.T) {
	root := t.TempDir()
	os.Chmod(root, 0o755)
	// /opt made by someone else with a narrow mode.
	if err := os.Mkdir(filepath.Join(root, "opt"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(root, "opt"), 0o700)
	files := map[string]fs.FileMode{
		"opt/envbuild/env/a":        0o777,
		"opt/envbuild/env/b":        0o600,
		"opt/envbuild/env/suid":     0o755 | fs.ModeSetuid,
		"opt/envbuild/env/sub/c.py": 0o664,
	}
	for p, mode := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o777)
		if err := os.WriteFile(full, []byte(p), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(full, mode); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(root, "opt/envbuild/env/sub"), 0o777)
	if err := os.Symlink("a", filepath.Join(root, "opt/envbuild/env/link")); err != nil {
		t.Fatal(err)
	}
	if err := Normalize(root); err != nil {
		t.Fatal(err)
	}
	checkAtimes(t, root)
	want := map[string]fs.FileMode{
		".":                         fs.ModeDir | 0o755,
		"opt":                       fs.ModeDir | 0o755,
		"opt/envbuild":              fs.ModeDir | 0o755,
		"opt/envbuild/env":          fs.ModeDir | 0o755,
		"opt/envbuild/env/a":        0o755,
		"opt/envbuild/env/b":        0o600,
		"opt/envbuild/env/suid":     0o755,
		"opt/envbuild/env/sub":      fs.ModeDir | 0o755,
		"opt/envbuild/env/sub/c.py": 0o644,
		"opt/envbuild/env/link":     fs.ModeSymlink | 0o777,
	}
	got := snapshot(t, root)
	for p, mode := range want {
		e, ok := got[p]
		if !ok {
			t.Errorf("%s: missing", p)
			continue
		}
		if e.mode != mode {
			t.Errorf("%s: got mode %v, want %v", p, e.mode, mode)
		}
		if e.mtime != layout.Epoch {
			t.Errorf("%s: got mtime %d, want %d", p, e.mtime, layout.Epoch)
		}
		if os.Geteuid() == 0 && e.uid != 0 {
			t.Errorf("%s: got owner %d, want 0", p, e.uid)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got paths %q, want %d paths", sortedKeys(got), len(want))
	}
}

func TestNormalizeErrors(t *testing.T) {
	wantErr(t, Normalize(""), "--root")
	wantErr(t, Normalize(filepath.Join(t.TempDir(), "missing")), "missing")
}
