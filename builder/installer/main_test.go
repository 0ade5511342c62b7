package installer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

func runMain(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestMainCLI(t *testing.T) {
	dir := t.TempDir()
	whl := writeZip(t, dir, "demo_pkg-1.0-py3-none-any.whl", wheelEntries(demoDistInfo, true, demoWheelFiles()))
	conda := demoConda().writeDotConda(t, dir)
	meta := filepath.Join(dir, "env.json")
	os.WriteFile(meta, []byte(`{"env_id": "abc", "lock_digest": "sha256:1", "python": "3.11", "requested": [{"name": "demo-pkg", "version": "1.0"}]}`), 0o644)
	root := mkroot(t, dir, "root")
	pkgs := mkroot(t, dir, "pkgs")
	tests := []struct {
		args     []string
		code     int
		out, err string
	}{
		{[]string{"wheel", "--src", whl, "--root", pkgs, "--python", "3.11"}, 0, "installed demo_pkg 1.0 (", ""},
		{[]string{"wheel", "--src", whl, "--root", mkroot(t, dir, "part"), "--python", "3.11", "--part", "1", "--parts", "2"}, 0, "installed part 2 of 2 of demo_pkg 1.0 (0 files)", ""},
		{[]string{"wheel", "--src", whl, "--root", mkroot(t, dir, "part9"), "--python", "3.11", "--part", "9", "--parts", "2"}, 2, "", "--part 9 of --parts 2"},
		{[]string{"conda", "-src", conda, "-root", mkroot(t, dir, "conda"), "-filename", "demo.conda"}, 0, "installed demo 1.2.3 h123_0 (6 files)", ""},
		{[]string{"envmeta", "--root", root, "--json", meta, "--packages", pkgs}, 0, "wrote the metadata of environment abc", ""},
		{[]string{"normalize", "--root", root}, 0, "", ""},
		{[]string{"wheel", "--src", whl, "--root", mkroot(t, dir, "r2"), "--python", "3.11", "--sha256", strings.Repeat("0", 64)}, 1, "", "envbuild installer: installing wheel"},
		{[]string{"wheel", "--src", whl, "--root", root}, 1, "", "--python"},
		{[]string{"wheel", "--root", root}, 2, "", "--src FILE is required"},
		{[]string{"conda", "--src", conda}, 2, "", "--root DIR is required"},
		{[]string{"wheel", "--src", whl, "--root", root, "--requested"}, 2, "", "flag provided but not defined: -requested"},
		{[]string{"wheel", "--src", whl, "--root", root, "extra"}, 2, "", `unexpected argument "extra"`},
		{[]string{"pip"}, 2, "", `unknown subcommand "pip"`},
		{nil, 2, "", "no subcommand"},
	}
	for _, tc := range tests {
		code, out, errs := runMain(tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errs, tc.err) {
			t.Errorf("Main(%q): got %d, %q, %q; want %d, %q, %q", tc.args, code, out, errs, tc.code, tc.out, tc.err)
		}
		if strings.Count(errs, "\n") > 1 {
			t.Errorf("Main(%q): got stderr %q, want one line", tc.args, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(root, layout.SitePackages(3, 11, false), demoDistInfo, "REQUESTED")); err != nil {
		t.Errorf("envmeta did not mark demo-pkg requested: %v", err)
	}
}
