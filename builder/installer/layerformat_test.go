package installer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

// treeDigest hashes what a layer made of root would hold: every path with
// its type, permission bits, modification time and content or link target.
func treeDigest(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		body := ""
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			body, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			sum := sha256.Sum256(b)
			body = hex.EncodeToString(sum[:])
		}
		lines = append(lines, fmt.Sprintf("%s %s %o %d %s", filepath.ToSlash(rel), fi.Mode().Type(), fi.Mode().Perm(), fi.ModTime().Unix(), body))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(sum[:])
}

// The team layer cache keys a layer on layout.Version, not on the envbuild
// binary: a new envbuild reuses the layers an older one recorded. That is
// only right while the installer writes the same bytes for the same
// inputs. This golden test pins what the installer writes for fixture
// packages; when it fails, the layer format changed: bump layout.Version
// (so no cached layer of the old format is reused) and update the digests.
func TestLayerFormatGolden(t *testing.T) {
	const (
		formatVersion = "1"
		wantWheel     = "78797b2b598c7e14acf2ffce3aa69549c936ea41feafd9f77ad72bedd443fdeb"
		wantConda     = "34ca61fe43c66e1e275c1e0e681f10454a6b5c73240305d185e567bccad5ee76"
	)
	if layout.Version != formatVersion {
		t.Fatalf("layout.Version is %q: update this test's digests for the new format and formatVersion", layout.Version)
	}
	dir := t.TempDir()
	wheel := writeZip(t, dir, "fixture-1.0-py3-none-any.whl", wheelEntries("fixture-1.0.dist-info", true, []zipEntry{
		{name: "fixture/__init__.py", body: "VALUE = 1\n"},
		{name: "fixture/data.txt", body: "data\n"},
		{name: "fixture-1.0.dist-info/METADATA", body: "Metadata-Version: 2.1\nName: fixture\nVersion: 1.0\n"},
		{name: "fixture-1.0.dist-info/entry_points.txt", body: "[console_scripts]\nfixture = fixture:main\n"},
	}))
	root := mkroot(t, dir, "wheel")
	if _, err := InstallWheel(wheel, root, WheelOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	if err := Normalize(root); err != nil {
		t.Fatal(err)
	}
	if got := treeDigest(t, root); got != wantWheel {
		t.Errorf("a fixture wheel's layer is now %s, was %s: the layer format changed; bump layout.Version", got, wantWheel)
	}

	src := demoConda().writeDotConda(t, dir)
	croot := mkroot(t, dir, "conda")
	if _, err := InstallConda(src, croot, CondaOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	if err := Normalize(croot); err != nil {
		t.Fatal(err)
	}
	if got := treeDigest(t, croot); got != wantConda {
		t.Errorf("a fixture conda package's layer is now %s, was %s: the layer format changed; bump layout.Version", got, wantConda)
	}
}

// ReadLayerMeta finds what the metadata layer needs of a layer, and
// PackagesTree lays it out again for WriteEnvMeta.
func TestLayerMetaRoundTrip(t *testing.T) {
	dir := t.TempDir()
	wheel := writeZip(t, dir, "Fixture_Pkg-1.0-py3-none-any.whl", wheelEntries("Fixture_Pkg-1.0.dist-info", true, []zipEntry{
		{name: "fixture_pkg/__init__.py", body: ""},
		{name: "Fixture_Pkg-1.0.dist-info/METADATA", body: "Metadata-Version: 2.1\nName: Fixture-Pkg\nVersion: 1.0\n"},
	}))
	root := mkroot(t, dir, "out")
	if _, err := InstallWheel(wheel, root, WheelOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallConda(demoConda().writeDotConda(t, dir), root, CondaOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadLayerMeta(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.DistInfo) != 1 || m.DistInfo[0] != layout.SitePackages(3, 11, false)+"/Fixture_Pkg-1.0.dist-info" {
		t.Errorf("dist-info %q", m.DistInfo)
	}
	rec := layout.CondaMeta + "/demo-1.2.3-h123_0.json"
	if len(m.CondaMeta) != 1 || !strings.Contains(m.CondaMeta[rec], `"name": "demo"`) && !strings.Contains(m.CondaMeta[rec], `"name":"demo"`) {
		t.Errorf("conda-meta %v", m.CondaMeta)
	}
	pkgs := filepath.Join(dir, "pkgs")
	if err := PackagesTree(pkgs, []LayerMeta{*m}); err != nil {
		t.Fatal(err)
	}
	out := mkroot(t, dir, "meta")
	em := &EnvMeta{EnvID: "ab", LockDigest: "sha256:cd", Python: "3.11",
		Requested: []RequestedDist{{Name: "fixture-pkg", Version: "1.0"}},
		Conda:     []CondaMeta{{Name: "demo", Version: "1.2.3", Build: "h123_0", RequestedSpec: "demo >=1"}}}
	if err := WriteEnvMeta(out, em, EnvMetaOptions{Packages: pkgs}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, filepath.FromSlash(m.DistInfo[0]), "REQUESTED")); err != nil {
		t.Errorf("REQUESTED not in the recorded dist-info: %v", err)
	}
	if b := readFile(t, filepath.Join(out, filepath.FromSlash(rec))); !strings.Contains(b, `"requested_spec": "demo \u003e=1"`) {
		t.Errorf("conda record not completed: %s", b)
	}
	if err := PackagesTree(t.TempDir(), []LayerMeta{{DistInfo: []string{"/etc/passwd.dist-info"}}}); err == nil {
		t.Error("a recorded path outside the prefix was accepted")
	}
}
