package installer

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

const demoDistInfo = "demo_pkg-1.0.dist-info"

func demoWheelFiles() []zipEntry {
	return []zipEntry{
		{name: "demo_pkg/__init__.py", body: "VERSION = '1.0'\n"},
		{name: "demo_pkg/tool.sh", body: "#!/bin/sh\necho hi\n", mode: 0o755},
		{name: "demo_pkg-1.0.data/scripts/demo-script", body: "#!python\nprint('script')\n"},
		{name: "demo_pkg-1.0.data/scripts/demo-gui", body: "#!pythonw -u\nprint('gui')\n"},
		{name: "demo_pkg-1.0.data/scripts/plain.sh", body: "#!/bin/sh\nexit 0\n"},
		{name: "demo_pkg-1.0.data/headers/demo.h", body: "int demo;\n"},
		{name: "demo_pkg-1.0.data/data/share/demo/readme.txt", body: "data\n"},
		{name: "demo_pkg-1.0.data/platlib/demo_ext.so", body: "\x7fELF...", mode: 0o755},
		{name: demoDistInfo + "/METADATA", body: "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n"},
		{name: demoDistInfo + "/entry_points.txt", body: "[console_scripts]\ndemo = demo_pkg.cli:main\ndemo-sub = demo_pkg.cli:App.run [extra]\n\n[gui_scripts]\ndemo-gui-ep = demo_pkg.gui:start\n\n[other]\nignored = x:y\n"},
	}
}

func TestInstallWheel(t *testing.T) {
	dir := t.TempDir()
	src := writeZip(t, dir, "demo_pkg-1.0-py3-none-any.whl", wheelEntries(demoDistInfo, true, demoWheelFiles()))
	root := filepath.Join(dir, "out")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	res, err := InstallWheel(src, root, WheelOptions{Python: "3.11"})
	if err != nil {
		t.Fatal(err)
	}
	checkAtimes(t, root)
	site := layout.SitePackages(3, 11, false)
	if res.Name != "demo_pkg" || res.Version != "1.0" || res.DistInfo != site+"/"+demoDistInfo {
		t.Errorf("got result %+v, want demo_pkg 1.0 in %s", res, site)
	}
	files := []struct {
		path string
		body string
		mode os.FileMode
	}{
		{site + "/demo_pkg/__init__.py", "VERSION = '1.0'\n", 0o644},
		{site + "/demo_pkg/tool.sh", "#!/bin/sh\necho hi\n", 0o755},
		{layout.BinDir + "/demo-script", "#!" + layout.Python + "\nprint('script')\n", 0o755},
		{layout.BinDir + "/demo-gui", "#!" + layout.Python + " -u\nprint('gui')\n", 0o755},
		{layout.BinDir + "/plain.sh", "#!/bin/sh\nexit 0\n", 0o755},
		{layout.Include("demo_pkg") + "/demo.h", "int demo;\n", 0o644},
		{layout.Prefix + "/share/demo/readme.txt", "data\n", 0o644},
		{site + "/demo_ext.so", "\x7fELF...", 0o755},
		{site + "/" + demoDistInfo + "/INSTALLER", "envbuild\n", 0o644},
	}
	for _, f := range files {
		p := filepath.Join(root, f.path)
		if got := readFile(t, p); got != f.body {
			t.Errorf("%s: got %q, want %q", f.path, got, f.body)
		}
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != f.mode {
			t.Errorf("%s: got mode %v, want %v", f.path, got, f.mode)
		}
	}
	for _, ep := range []struct{ name, imp, call string }{
		{"demo", "from demo_pkg.cli import main\n", "sys.exit(main())"},
		{"demo-sub", "from demo_pkg.cli import App\n", "sys.exit(App.run())"},
		{"demo-gui-ep", "from demo_pkg.gui import start\n", "sys.exit(start())"},
	} {
		p := filepath.Join(root, layout.BinDir, ep.name)
		body := readFile(t, p)
		if !strings.HasPrefix(body, "#!/opt/envbuild/env/bin/python\n") || !strings.Contains(body, ep.imp) || !strings.Contains(body, ep.call) {
			t.Errorf("entry point %s: got\n%s\nwant shebang %s, %q and %q", ep.name, body, layout.Python, ep.imp, ep.call)
		}
		if st, _ := os.Stat(p); st.Mode().Perm() != 0o755 {
			t.Errorf("entry point %s: got mode %v, want 0755", ep.name, st.Mode().Perm())
		}
	}
	if _, err := os.Stat(filepath.Join(root, layout.BinDir, "ignored")); err == nil {
		t.Errorf("an entry point of section [other] became a script")
	}
	for _, f := range []string{"REQUESTED", "direct_url.json"} {
		if _, err := os.Lstat(filepath.Join(root, site, demoDistInfo, f)); err == nil {
			t.Errorf("%s was written into the package layer; it belongs to the envmeta layer", f)
		}
	}
	checkRecord(t, root, site, demoDistInfo)
	for p, e := range snapshot(t, root) {
		if e.mtime != layout.Epoch {
			t.Errorf("%s: got mtime %d, want %d", p, e.mtime, layout.Epoch)
		}
		if e.mode&0o022 != 0 {
			t.Errorf("%s: got mode %v, want no group or other write", p, e.mode)
		}
	}
}

// checkRecord re-hashes every installed file and compares it with RECORD,
// and checks that RECORD lists every file of the tree.
func checkRecord(t *testing.T, root, site, distInfo string) {
	t.Helper()
	data := readFile(t, filepath.Join(root, site, distInfo, "RECORD"))
	rows, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("RECORD: %v", err)
	}
	listed := map[string]bool{}
	for _, row := range rows {
		p := filepath.Clean(filepath.Join(root, site, row[0]))
		rel, _ := filepath.Rel(root, p)
		listed["/"+filepath.ToSlash(rel)] = true
		if row[0] == distInfo+"/RECORD" {
			if row[1] != "" || row[2] != "" {
				t.Errorf("RECORD row of RECORD: got %q, want empty hash and size", row)
			}
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("RECORD lists %q: %v", row[0], err)
			continue
		}
		sum := sha256.Sum256(b)
		if want := recordHash(sum[:]); row[1] != want {
			t.Errorf("RECORD %s: got hash %s, want %s", row[0], row[1], want)
		}
		if want := strconv.Itoa(len(b)); row[2] != want {
			t.Errorf("RECORD %s: got size %s, want %s", row[0], row[2], want)
		}
	}
	for p, e := range snapshot(t, root) {
		if e.mode.IsRegular() && !listed["/"+p] {
			t.Errorf("%s is installed but not in RECORD", p)
		}
	}
}

func TestInstallWheelPlatlibRoot(t *testing.T) {
	dir := t.TempDir()
	src := writeZip(t, dir, "native-2.0-cp313-cp313t-linux_x86_64.whl", wheelEntries("native-2.0.dist-info", false, []zipEntry{
		{name: "native/_core.so", body: "ELF", mode: 0o755},
	}))
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	if _, err := InstallWheel(src, root, WheelOptions{Python: "3.13", FreeThreaded: true}); err != nil {
		t.Fatal(err)
	}
	site := layout.SitePackages(3, 13, true)
	if got := readFile(t, filepath.Join(root, site, "native/_core.so")); got != "ELF" {
		t.Errorf("got %q in platlib, want ELF", got)
	}
	checkRecord(t, root, site, "native-2.0.dist-info")
}

func TestInstallWheelEntryPointReplacesScript(t *testing.T) {
	dir := t.TempDir()
	src := writeZip(t, dir, "x-1-py3-none-any.whl", wheelEntries("x-1.dist-info", true, []zipEntry{
		{name: "x-1.data/scripts/x", body: "#!python\nold\n"},
		{name: "x-1.dist-info/entry_points.txt", body: "[console_scripts]\nx = x:main\n"},
	}))
	root := filepath.Join(dir, "root")
	os.Mkdir(root, 0o755)
	if _, err := InstallWheel(src, root, WheelOptions{Python: "3.12"}); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(root, layout.BinDir, "x")); !strings.Contains(got, "from x import main") {
		t.Errorf("got bin/x\n%s\nwant the entry point launcher", got)
	}
	checkRecord(t, root, layout.SitePackages(3, 12, false), "x-1.dist-info")
}

func TestInstallWheelErrors(t *testing.T) {
	good := func() []zipEntry {
		return wheelEntries("x-1.dist-info", true, []zipEntry{{name: "x/__init__.py", body: "pass\n"}})
	}
	withRecordOf := func(files []zipEntry) []zipEntry { return wheelEntries("x-1.dist-info", true, files) }
	tests := []struct {
		name    string
		entries []zipEntry
		raw     func([]byte) []byte // damages the zip bytes
		sha     string
		want    []string
	}{
		{name: "absolute", entries: withRecordOf([]zipEntry{{name: "/etc/passwd", body: "x"}}), want: []string{`"/etc/passwd"`, "absolute"}},
		{name: "dotdot", entries: withRecordOf([]zipEntry{{name: "x/../../../../escape", body: "x"}}), want: []string{`"x/../../../../escape"`, `".."`}},
		{name: "dotdot in data", entries: withRecordOf([]zipEntry{{name: "x-1.data/data/../../../escape", body: "x"}}), want: []string{`".."`}},
		{name: "symlink", entries: withRecordOf([]zipEntry{{name: "x/link", body: "/etc/passwd", mode: os.ModeSymlink | 0o777}}), want: []string{`"x/link"`, "symlink"}},
		{name: "sha256 mismatch", entries: good(), sha: strings.Repeat("ab", 32), want: []string{"sha256 is", "the lock says abab"}},
		{name: "sha256 malformed", entries: good(), sha: "xyz", want: []string{`"xyz"`, "64 hex"}},
		{name: "wheel version 2", entries: func() []zipEntry {
			e := good()
			for i := range e {
				if strings.HasSuffix(e[i].name, "/WHEEL") {
					e[i].body = "Wheel-Version: 2.0\n"
				}
			}
			return e
		}(), want: []string{`Wheel-Version "2.0"`}},
		{name: "record hash mismatch", entries: func() []zipEntry {
			e := good()
			e[0].body = "tampered\n"
			return e
		}(), want: []string{`"x/__init__.py"`, "RECORD"}},
		{name: "md5 record", entries: []zipEntry{
			{name: "x/__init__.py", body: "pass\n"},
			{name: "x-1.dist-info/WHEEL", body: "Wheel-Version: 1.0\n"},
			{name: "x-1.dist-info/RECORD", body: "x/__init__.py,md5=abc,5\n"},
		}, want: []string{"md5"}},
		{name: "no dist-info", entries: []zipEntry{{name: "x/__init__.py"}}, want: []string{"exactly one", "has 0"}},
		{name: "two dist-infos", entries: append(good(), zipEntry{name: "y-1.dist-info/WHEEL", body: "Wheel-Version: 1.0\n"}), want: []string{"has 2"}},
		{name: "no RECORD", entries: []zipEntry{{name: "x-1.dist-info/WHEEL", body: "Wheel-Version: 1.0\n"}}, want: []string{"RECORD is missing"}},
		{name: "bad entry point", entries: withRecordOf([]zipEntry{{name: "x-1.dist-info/entry_points.txt", body: "[console_scripts]\nx = os; rm -rf /\n"}}), want: []string{"entry_points.txt", "names no callable"}},
		{name: "entry point path", entries: withRecordOf([]zipEntry{{name: "x-1.dist-info/entry_points.txt", body: "[console_scripts]\n../../x = a:b\n"}}), want: []string{`"../../x"`, "not a file name"}},
		{name: "unknown scheme", entries: withRecordOf([]zipEntry{{name: "x-1.data/etc/x", body: "x"}}), want: []string{`scheme "etc"`}},
		{name: "same destination", entries: withRecordOf([]zipEntry{{name: "x/a.py", body: "1"}, {name: "x-1.data/purelib/x/a.py", body: "2"}}), want: []string{"both install to"}},
		{name: "name mismatch", entries: wheelEntries("y-1.dist-info", true, nil), want: []string{`the file name says "x"`}},
		{name: "truncated", entries: good(), raw: func(b []byte) []byte { return b[:len(b)/2] }, want: []string{"truncated or not a wheel"}},
		{name: "not a zip", entries: good(), raw: func([]byte) []byte { return []byte("<html>404</html>") }, want: []string{"not a wheel"}},
		{name: "corrupt data", entries: withRecordOf([]zipEntry{{name: "x/big.txt", body: strings.Repeat("abcdefgh", 4096)}}), raw: func(b []byte) []byte {
			i := bytes.Index(b, []byte("x/big.txt")) + len("x/big.txt") + 20
			b[i] ^= 0xff
			b[i+1] ^= 0xff
			return b
		}, want: []string{`"x/big.txt"`}},
		// An entry RECORD lists without a hash is checked by the zip's
		// CRC-32 alone.
		{name: "checksum", entries: []zipEntry{
			{name: "x/data.bin", body: "0123456789", stored: true},
			{name: "x-1.dist-info/WHEEL", body: "Wheel-Version: 1.0\n"},
			{name: "x-1.dist-info/RECORD", body: "x/data.bin,,\n"},
		}, raw: func(b []byte) []byte {
			i := bytes.Index(b, []byte("0123456789"))
			b[i] = '9'
			return b
		}, want: []string{`"x/data.bin"`, "checksum", "the wheel is corrupt"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			src := writeZip(t, dir, "x-1-py3-none-any.whl", tc.entries)
			if tc.raw != nil {
				b, _ := os.ReadFile(src)
				os.WriteFile(src, tc.raw(b), 0o644)
			}
			root := filepath.Join(dir, "root")
			os.Mkdir(root, 0o755)
			_, err := InstallWheel(src, root, WheelOptions{Python: "3.11", SHA256: tc.sha})
			wantErr(t, err, tc.want...)
			if _, err := os.Lstat(filepath.Join(dir, "escape")); err == nil {
				t.Errorf("a file escaped the install directory")
			}
		})
	}
}

func TestInstallWheelDeterministic(t *testing.T) {
	dir := t.TempDir()
	files := demoWheelFiles()
	for i := 0; i < 50; i++ {
		files = append(files, zipEntry{name: "demo_pkg/m" + strconv.Itoa(i) + ".py", body: strings.Repeat("x = 1\n", i*100)})
	}
	src := writeZip(t, dir, "demo_pkg-1.0-py3-none-any.whl", wheelEntries(demoDistInfo, true, files))
	var snaps []map[string]treeEntry
	for i, umask := range []int{0o022, 0o077} {
		root := filepath.Join(dir, "out"+strconv.Itoa(i))
		os.Mkdir(root, 0o755)
		old := setUmask(umask)
		_, err := InstallWheel(src, root, WheelOptions{Python: "3.11", Workers: 1 + i*7})
		setUmask(old)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, stripInodes(snapshot(t, root)))
	}
	compareSnapshots(t, snaps[0], snaps[1])
}

func stripInodes(m map[string]treeEntry) map[string]treeEntry {
	for k, e := range m {
		e.ino = 0
		m[k] = e
	}
	return m
}

func compareSnapshots(t *testing.T, a, b map[string]treeEntry) {
	t.Helper()
	if !reflect.DeepEqual(sortedKeys(a), sortedKeys(b)) {
		t.Fatalf("got paths %q and %q, want the same", sortedKeys(a), sortedKeys(b))
	}
	for k, e := range a {
		if e != b[k] {
			t.Errorf("%s: got %+v and %+v, want the same", k, e, b[k])
		}
	}
}
