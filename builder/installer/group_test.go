package installer

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

// Several packages installed into one root one after the other behave like
// stacked layers: the later package's file wins, and a symlink left by an
// earlier package is replaced, never written through.
func TestInstallIntoSharedRoot(t *testing.T) {
	dir := t.TempDir()
	root := mkroot(t, dir, "root")
	first := condaFixture{stem: "first-1-0", info: []tarEntry{indexJSON("first", "1", "0", "")}, payload: []tarEntry{
		{name: "lib/real.txt", body: "real\n"},
		{name: "lib/shared.txt", body: "first\n"},
		{name: "lib/x", typeflag: tar.TypeSymlink, link: "real.txt"},
	}}
	second := condaFixture{stem: "second-1-0", info: []tarEntry{indexJSON("second", "1", "0", "")}, payload: []tarEntry{
		{name: "lib/shared.txt", body: "second\n"},
		{name: "lib/x", body: "file\n"},
	}}
	for _, fx := range []condaFixture{first, second} {
		if _, err := InstallConda(fx.writeDotConda(t, dir), root, CondaOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	P := func(p string) string { return filepath.Join(root, layout.Prefix, p) }
	for p, want := range map[string]string{"lib/real.txt": "real\n", "lib/shared.txt": "second\n", "lib/x": "file\n"} {
		if got := readFile(t, P(p)); got != want {
			t.Errorf("%s: got %q, want %q", p, got, want)
		}
	}
	if st, _ := os.Lstat(P("lib/x")); st.Mode()&os.ModeSymlink != 0 {
		t.Errorf("lib/x is still a symlink")
	}

	// A wheel saved under a name that is not a wheel file name installs too.
	root = mkroot(t, dir, "wheel")
	src := writeZip(t, dir, "artifact.whl", wheelEntries("x-1.dist-info", true, []zipEntry{{name: "x/__init__.py", body: "1\n"}}))
	if _, err := InstallWheel(src, root, WheelOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	// The same wheel again replaces its own files.
	if _, err := InstallWheel(src, root, WheelOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, root, layout.SitePackages(3, 11, false), "x-1.dist-info")
}
