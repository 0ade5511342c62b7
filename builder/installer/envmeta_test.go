package installer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

func TestWriteEnvMeta(t *testing.T) {
	dir := t.TempDir()
	// The packages tree: a wheel whose .dist-info is spelled unlike its
	// normalized name, and a conda package.
	pkgs := mkroot(t, dir, "pkgs")
	whl := writeZip(t, dir, "Py_YAML-6.0-py3-none-any.whl", wheelEntries("Py_YAML-6.0.dist-info", true, []zipEntry{{name: "yaml/__init__.py", body: ""}}))
	if _, err := InstallWheel(whl, pkgs, WheelOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	if _, err := InstallConda(demoConda().writeDotConda(t, dir), pkgs, CondaOptions{}); err != nil {
		t.Fatal(err)
	}

	m := &EnvMeta{
		EnvID: "0123abcd", LockDigest: "sha256:feed", Python: "3.11",
		Venv:      &Venv{Home: "/usr/bin", Executable: "/usr/bin/python3.11", Version: "3.11.2"},
		Requested: []RequestedDist{{Name: "py-yaml", Version: "6.0"}},
		Conda:     []CondaMeta{{Name: "demo", Version: "1.2.3", Build: "h123_0", RequestedSpec: "demo>=1", URL: "https://conda.example/linux-64/demo-1.2.3-h123_0.conda", Channel: "https://conda.example", Link: &CondaLink{Source: "/pkgs/demo-1.2.3-h123_0", Type: 3}}},
	}
	root := mkroot(t, dir, "root")
	if err := WriteEnvMeta(root, m, EnvMetaOptions{Packages: pkgs}); err != nil {
		t.Fatal(err)
	}
	checkAtimes(t, root)
	P := func(p string) string { return filepath.Join(root, p) }
	wantCfg := "home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.2\nexecutable = /usr/bin/python3.11\n"
	if got := readFile(t, P(layout.Prefix+"/pyvenv.cfg")); got != wantCfg {
		t.Errorf("pyvenv.cfg: got %q, want %q", got, wantCfg)
	}
	for _, name := range []string{"python", "python3", "python3.11"} {
		if got, _ := os.Readlink(P(layout.BinDir + "/" + name)); got != "/usr/bin/python3.11" {
			t.Errorf("bin/%s: got symlink to %q, want /usr/bin/python3.11", name, got)
		}
	}
	if st, err := os.Stat(P(layout.SitePackages(3, 11, false))); err != nil || !st.IsDir() {
		t.Errorf("site-packages: %v, want a directory", err)
	}
	if _, err := os.Stat(P(layout.SitePackages(3, 11, false) + "/Py_YAML-6.0.dist-info/REQUESTED")); err != nil {
		t.Errorf("REQUESTED marker in the wheel's own .dist-info: %v", err)
	}
	var env map[string]string
	json.Unmarshal([]byte(readFile(t, P(layout.MetaDir+"/env.json"))), &env)
	if env["env_id"] != "0123abcd" || env["lock_digest"] != "sha256:feed" || env["layout_version"] != layout.Version {
		t.Errorf("env.json: got %v", env)
	}
	var rec map[string]any
	json.Unmarshal([]byte(readFile(t, P(layout.CondaMeta+"/demo-1.2.3-h123_0.json"))), &rec)
	if link, _ := rec["link"].(map[string]any); link["source"] != "/pkgs/demo-1.2.3-h123_0" || link["type"] != 3.0 {
		t.Errorf("conda-meta link: got %v, want source /pkgs/demo-1.2.3-h123_0 type 3", rec["link"])
	}
	if rec["requested_spec"] != "demo>=1" || rec["url"] != m.Conda[0].URL || rec["channel"] != m.Conda[0].Channel || rec["name"] != "demo" || rec["files"] == nil {
		t.Errorf("conda-meta record: got requested_spec %v url %v channel %v name %v, want the package's record completed", rec["requested_spec"], rec["url"], rec["channel"], rec["name"])
	}

	// Same description, same bytes.
	again := mkroot(t, dir, "again")
	if err := WriteEnvMeta(again, m, EnvMetaOptions{Packages: pkgs}); err != nil {
		t.Fatal(err)
	}
	compareSnapshots(t, stripInodes(snapshot(t, root)), stripInodes(snapshot(t, again)))

	// Without the packages tree REQUESTED follows the wheel naming rule.
	bare := mkroot(t, dir, "bare")
	if err := WriteEnvMeta(bare, &EnvMeta{EnvID: "1", LockDigest: "sha256:1", Python: "3.12", Requested: []RequestedDist{{Name: "Foo.Bar", Version: "2"}}}, EnvMetaOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(bare, layout.SitePackages(3, 12, false), "foo_bar-2.dist-info/REQUESTED")); err != nil {
		t.Errorf("REQUESTED without --packages: %v", err)
	}
}

func TestWriteEnvMetaErrors(t *testing.T) {
	tests := []struct {
		name string
		m    EnvMeta
		want string
	}{
		{"no id", EnvMeta{LockDigest: "x"}, "env_id"},
		{"conda without packages", EnvMeta{EnvID: "1", LockDigest: "x", Conda: []CondaMeta{{Name: "a", Version: "1", Build: "0"}}}, "--packages"},
		{"requested without python", EnvMeta{EnvID: "1", LockDigest: "x", Requested: []RequestedDist{{Name: "a", Version: "1"}}}, "--python"},
		{"requested path", EnvMeta{EnvID: "1", LockDigest: "x", Python: "3.11", Requested: []RequestedDist{{Name: "../../x", Version: "1"}}}, "plain name"},
		{"relative venv", EnvMeta{EnvID: "1", LockDigest: "x", Python: "3.11", Venv: &Venv{Home: "bin", Executable: "python", Version: "3.11.2"}}, "absolute"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := WriteEnvMeta(t.TempDir(), &tc.m, EnvMetaOptions{})
			wantErr(t, err, tc.want)
		})
	}
	_, err := ReadEnvMeta([]byte(`{"env_id": "1", "lock_digest": "x", "extra": 1}`))
	wantErr(t, err, `"extra"`)
	if !strings.Contains(err.Error(), "environment description") {
		t.Errorf("got %q, want it to say what was being read", err)
	}
}

func TestWriteEnvMetaFreeThreaded(t *testing.T) {
	root := t.TempDir()
	m := &EnvMeta{EnvID: "1", LockDigest: "sha256:1", Python: "3.13t", Venv: &Venv{Home: "/usr/bin", Executable: "/usr/bin/python3.13t", Version: "3.13.1"}}
	if err := WriteEnvMeta(root, m, EnvMetaOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"python", "python3", "python3.13", "python3.13t"} {
		if got, _ := os.Readlink(filepath.Join(root, layout.BinDir, name)); got != "/usr/bin/python3.13t" {
			t.Errorf("bin/%s: got symlink to %q, want /usr/bin/python3.13t", name, got)
		}
	}
	if st, err := os.Stat(filepath.Join(root, layout.SitePackages(3, 13, true))); err != nil || !st.IsDir() {
		t.Errorf("free-threaded site-packages: %v", err)
	}
}
