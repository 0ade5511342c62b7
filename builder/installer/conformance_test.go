package installer

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

// sharedData is the project's shared test data (real packages from public
// projects); a fresh clone does not have it.
const sharedData = "../../../shared/data"

func needSharedData(t *testing.T, sub string) string {
	t.Helper()
	dir := filepath.Join(sharedData, sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("conformance data %s is absent (%v); it lives beside the checkout in ../shared/data", dir, err)
	}
	return dir
}

// TestConformanceRealCondaPackages installs every tiny real package of the
// shared data (both formats, noarch python, symlinks, hard links, zip64,
// "./" names, empty and info-only packages).
func TestConformanceRealCondaPackages(t *testing.T) {
	dir := needSharedData(t, "conda/packages")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	checks := map[string]func(t *testing.T, prefix string){
		"symlink-test-1.0.0-0.conda": func(t *testing.T, prefix string) {
			if got, _ := os.Readlink(filepath.Join(prefix, "lib/liblink.so")); got != "libreal.so.1" {
				t.Errorf("lib/liblink.so: got symlink to %q, want libreal.so.1", got)
			}
			a, _ := os.Stat(filepath.Join(prefix, "lib/libreal.so.1"))
			b, _ := os.Stat(filepath.Join(prefix, "lib/libhard.so"))
			if a == nil || b == nil || !os.SameFile(a, b) {
				t.Errorf("lib/libhard.so is not a hard link of lib/libreal.so.1")
			}
		},
		"dotslash-test-1.0.0-0.conda": func(t *testing.T, prefix string) {
			if _, err := os.Stat(filepath.Join(prefix, "lib/data.txt")); err != nil {
				t.Errorf("lib/data.txt: %v", err)
			}
		},
		"sparse-test-1.0.0-0.conda": func(t *testing.T, prefix string) {
			if st, err := os.Stat(filepath.Join(prefix, "lib/blob.bin")); err != nil || st.Size() != 150000 {
				t.Errorf("lib/blob.bin: got %v, want 150000 bytes", err)
			}
		},
		"clobber-pynoarch-1-0.1.0-pyh4616a5c_0.tar.bz2": func(t *testing.T, prefix string) {
			if _, err := os.Stat(filepath.Join(prefix, "lib/python3.11/site-packages/clobber/clobber.py")); err != nil {
				t.Errorf("noarch python file not relocated: %v", err)
			}
		},
		"clobber-with-symlink-a-0.1.0-h4616a5c_0.conda": func(t *testing.T, prefix string) {
			if got, _ := os.Readlink(filepath.Join(prefix, "lib/clobber.so")); got != "clobber-2.txt" {
				t.Errorf("lib/clobber.so: got symlink to %q, want clobber-2.txt", got)
			}
		},
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".conda") && !strings.HasSuffix(name, ".tar.bz2") {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			res, err := InstallConda(filepath.Join(dir, name), root, CondaOptions{Python: "3.11"})
			if err != nil {
				t.Fatal(err)
			}
			stem := strings.TrimSuffix(strings.TrimSuffix(name, ".conda"), ".tar.bz2")
			if got := res.Name + "-" + res.Version + "-" + res.Build; got != stem {
				t.Errorf("got record %s, want %s", got, stem)
			}
			if _, err := os.Stat(filepath.Join(root, res.Record)); err != nil {
				t.Errorf("conda-meta record: %v", err)
			}
			if check := checks[name]; check != nil {
				check(t, filepath.Join(root, layout.Prefix))
			}
		})
	}
	if n == 0 {
		t.Fatalf("no packages found in %s", dir)
	}
}

// TestConformanceHostileTars refuses the hostile archives of conda's own
// tests, each wrapped into a .tar.bz2 package behind an info/index.json.
func TestConformanceHostileTars(t *testing.T) {
	dir := needSharedData(t, "security/tar-traversal")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	_, tmpMooBefore := os.Lstat("/tmp/moo")
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".tar") {
			continue
		}
		t.Run(name, func(t *testing.T) {
			hostile, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			index := `{"name": "hostile", "version": "1", "build": "0"}`
			tw.WriteHeader(&tar.Header{Name: "info/index.json", Mode: 0o644, Size: int64(len(index)), Typeflag: tar.TypeReg})
			tw.Write([]byte(index))
			tw.Flush() // no end-of-archive marker: the hostile tar follows as is
			b.Write(hostile)
			work := t.TempDir()
			src := filepath.Join(work, "hostile-1-0.tar.bz2")
			writeBz2(t, src, b.Bytes())
			root := filepath.Join(work, "root")
			os.Mkdir(root, 0o755)
			_, err = InstallConda(src, root, CondaOptions{})
			wantErr(t, err)
			for _, s := range []string{"absolute", `".."`, "symlink", "prefix"} {
				if strings.Contains(err.Error(), s) {
					goto named
				}
			}
			t.Errorf("got error %q, want it to say which path rule the archive breaks", err)
		named:
			t.Logf("refused: %v", err)
			if _, err := os.Lstat(filepath.Join(work, "moo")); err == nil {
				t.Errorf("%s wrote moo outside the install directory", name)
			}
		})
	}
	if _, err := os.Lstat("/tmp/moo"); tmpMooBefore != nil && err == nil {
		t.Errorf("a hostile archive wrote /tmp/moo")
	}
}
