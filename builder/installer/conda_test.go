package installer

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

const placeholder = "/home/conda/feedstock_root/build_artifacts/demo_1700000000/_h_env_placehold_placehold_placehold"

var (
	textBody   = "#!" + placeholder + "/bin/python\nPREFIX = '" + placeholder + "'\nOTHER = '" + placeholder + "/share'\n"
	binaryBody = "\x7fELF\x00\x00RPATH=" + placeholder + "/lib:" + placeholder + "/lib64\x00tail\x00" + placeholder + "\x00end"
)

func demoConda() condaFixture {
	return condaFixture{
		stem: "demo-1.2.3-h123_0",
		info: []tarEntry{
			indexJSON("demo", "1.2.3", "h123_0", `, "requested_spec": "leaked"`),
			pathsJSON(
				`{"_path": "bin/demo", "path_type": "hardlink", "sha256": "`+sha256Hex([]byte("#!/bin/sh\necho demo\n"))+`", "size_in_bytes": 20}`,
				`{"_path": "bin/demo-py", "path_type": "hardlink", "file_mode": "text", "prefix_placeholder": "`+placeholder+`", "size_in_bytes": `+strconv.Itoa(len(textBody))+`}`,
				`{"_path": "lib/libdemo.so.1", "path_type": "hardlink", "file_mode": "binary", "prefix_placeholder": "`+placeholder+`"}`,
				`{"_path": "lib/libdemo.so", "path_type": "softlink"}`,
				`{"_path": "lib/libdemo-hard.so", "path_type": "hardlink"}`,
				`{"_path": "share/demo/empty", "path_type": "directory"}`,
				`{"_path": "share/demo/data.txt", "path_type": "hardlink", "no_link": true}`,
			),
			{name: "info/about.json", body: "{}"},
		},
		payload: []tarEntry{
			dirEntry("bin"),
			{name: "bin/demo", body: "#!/bin/sh\necho demo\n", mode: 0o775},
			{name: "bin/demo-py", body: textBody, mode: 0o755},
			{name: "lib/libdemo.so.1", body: binaryBody, mode: 0o644},
			{name: "lib/libdemo.so", typeflag: tar.TypeSymlink, link: "libdemo.so.1", mode: 0o777},
			{name: "lib/libdemo-hard.so", typeflag: tar.TypeLink, link: "lib/libdemo.so.1"},
			{name: "share/demo/data.txt", body: "data\n", mode: 0o600},
			{name: "share/demo/unlisted.txt", body: "not in paths.json\n"},
		},
	}
}

func mkroot(t *testing.T, dir, name string) string {
	t.Helper()
	root := filepath.Join(dir, name)
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func TestInstallConda(t *testing.T) {
	for _, format := range []string{".conda", ".tar.bz2", ".tar.bz2 with info last"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			fx := demoConda()
			var src string
			switch format {
			case ".conda":
				src = fx.writeDotConda(t, dir)
			case ".tar.bz2":
				src = fx.writeTarBz2(t, dir, false)
			default:
				src = fx.writeTarBz2(t, dir, true)
			}
			root := mkroot(t, dir, "root")
			res, err := InstallConda(src, root, CondaOptions{})
			if err != nil {
				t.Fatal(err)
			}
			checkAtimes(t, root)
			wantRecord := layout.CondaMeta + "/demo-1.2.3-h123_0.json"
			if res.Name != "demo" || res.Version != "1.2.3" || res.Build != "h123_0" || res.Record != wantRecord {
				t.Errorf("got %+v, want demo 1.2.3 h123_0 recorded in %s", res, wantRecord)
			}
			P := func(p string) string { return filepath.Join(root, layout.Prefix, p) }
			wantBinary := "\x7fELF\x00\x00RPATH=" + layout.Prefix + "/lib:" + layout.Prefix + "/lib64" + strings.Repeat("\x00", 2*(len(placeholder)-len(layout.Prefix))) + "\x00tail\x00" + layout.Prefix + strings.Repeat("\x00", len(placeholder)-len(layout.Prefix)) + "\x00end"
			files := []struct {
				path, body string
				mode       os.FileMode
			}{
				{"bin/demo", "#!/bin/sh\necho demo\n", 0o755},
				{"bin/demo-py", strings.ReplaceAll(textBody, placeholder, layout.Prefix), 0o755},
				{"lib/libdemo.so.1", wantBinary, 0o644},
				{"lib/libdemo-hard.so", wantBinary, 0o644},
				{"share/demo/data.txt", "data\n", 0o644},
			}
			for _, f := range files {
				if got := readFile(t, P(f.path)); got != f.body {
					t.Errorf("%s: got %q, want %q", f.path, got, f.body)
				}
				if st, _ := os.Lstat(P(f.path)); st.Mode() != f.mode {
					t.Errorf("%s: got mode %v, want %v", f.path, st.Mode(), f.mode)
				}
			}
			if len(wantBinary) != len(binaryBody) {
				t.Fatalf("test bug: binary lengths differ")
			}
			if got, _ := os.Readlink(P("lib/libdemo.so")); got != "libdemo.so.1" {
				t.Errorf("lib/libdemo.so: got symlink to %q, want libdemo.so.1", got)
			}
			a, _ := os.Stat(P("lib/libdemo.so.1"))
			b, _ := os.Stat(P("lib/libdemo-hard.so"))
			if !os.SameFile(a, b) {
				t.Errorf("lib/libdemo-hard.so is not a hard link of lib/libdemo.so.1")
			}
			if st, err := os.Stat(P("share/demo/empty")); err != nil || !st.IsDir() {
				t.Errorf("share/demo/empty: got %v, want a directory", err)
			}
			if _, err := os.Lstat(P("share/demo/unlisted.txt")); err == nil {
				t.Errorf("a payload file missing from info/paths.json was installed")
			}
			if _, err := os.Lstat(P("info")); err == nil {
				t.Errorf("info/ was installed into the prefix")
			}

			var rec map[string]any
			if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, wantRecord))), &rec); err != nil {
				t.Fatal(err)
			}
			srcBytes, _ := os.ReadFile(src)
			for k, want := range map[string]any{
				"name": "demo", "version": "1.2.3", "build": "h123_0", "build_number": 0.0, "license": "MIT",
				"subdir": "linux-64", "timestamp": 1700000000123.0, "depends": []any{"libc >=1"},
				"fn": filepath.Base(src), "sha256": sha256Hex(srcBytes), "size": float64(len(srcBytes)),
				"files": []any{"bin/demo", "bin/demo-py", "lib/libdemo-hard.so", "lib/libdemo.so", "lib/libdemo.so.1", "share/demo/data.txt"},
			} {
				if !reflect.DeepEqual(rec[k], want) {
					t.Errorf("record %s: got %#v, want %#v", k, rec[k], want)
				}
			}
			for _, k := range []string{"requested_spec", "url", "channel", "link"} {
				if _, ok := rec[k]; ok {
					t.Errorf("record has per-environment field %q in the package layer", k)
				}
			}
			if md5, _ := rec["md5"].(string); len(md5) != 32 {
				t.Errorf("record md5: got %q, want 32 hex digits", md5)
			}
			pd := rec["paths_data"].(map[string]any)
			if pd["paths_version"] != 1.0 {
				t.Errorf("paths_version: got %v, want 1", pd["paths_version"])
			}
			byPath := map[string]map[string]any{}
			for _, p := range pd["paths"].([]any) {
				m := p.(map[string]any)
				byPath[m["_path"].(string)] = m
			}
			wantPaths := map[string]map[string]any{
				"bin/demo":    {"path_type": "hardlink", "sha256": sha256Hex([]byte("#!/bin/sh\necho demo\n")), "size_in_bytes": 20.0},
				"bin/demo-py": {"path_type": "hardlink", "sha256": sha256Hex([]byte(textBody)), "sha256_in_prefix": sha256Hex([]byte(files[1].body)), "size_in_bytes": float64(len(textBody)), "file_mode": "text", "prefix_placeholder": placeholder},
				"lib/libdemo.so.1": {"path_type": "hardlink", "sha256": sha256Hex([]byte(binaryBody)), "sha256_in_prefix": sha256Hex([]byte(wantBinary)),
					"size_in_bytes": float64(len(binaryBody)), "file_mode": "binary", "prefix_placeholder": placeholder},
				"lib/libdemo-hard.so": {"path_type": "hardlink", "sha256": sha256Hex([]byte(binaryBody)), "sha256_in_prefix": sha256Hex([]byte(wantBinary)),
					"size_in_bytes": float64(len(binaryBody)), "file_mode": "binary", "prefix_placeholder": placeholder},
				"lib/libdemo.so":      {"path_type": "softlink", "size_in_bytes": 12.0},
				"share/demo/empty":    {"path_type": "directory"},
				"share/demo/data.txt": {"path_type": "hardlink", "sha256": sha256Hex([]byte("data\n")), "size_in_bytes": 5.0, "no_link": true},
			}
			for p, want := range wantPaths {
				want["_path"] = p
				if !reflect.DeepEqual(byPath[p], want) {
					t.Errorf("paths_data %s: got %v, want %v", p, byPath[p], want)
				}
			}
			if len(byPath) != len(wantPaths) {
				t.Errorf("paths_data: got %q, want %d paths", sortedKeys(byPath), len(wantPaths))
			}
		})
	}
}

// The same package in both formats installs the same tree, but for the
// record's fn, sha256, md5 and size.
func TestInstallCondaFormatsAgree(t *testing.T) {
	dir := t.TempDir()
	fx := demoConda()
	var snaps []map[string]treeEntry
	for i, src := range []string{fx.writeDotConda(t, dir), fx.writeTarBz2(t, dir, false)} {
		root := mkroot(t, dir, "root"+strconv.Itoa(i))
		if _, err := InstallConda(src, root, CondaOptions{Filename: "demo.conda"}); err != nil {
			t.Fatal(err)
		}
		s := stripInodes(snapshot(t, root))
		delete(s, "opt/envbuild/env/conda-meta/demo-1.2.3-h123_0.json")
		snaps = append(snaps, s)
	}
	compareSnapshots(t, snaps[0], snaps[1])
}

func noarchFixture() condaFixture {
	return condaFixture{
		stem: "tool-0.1-pyh_0",
		info: []tarEntry{
			indexJSON("tool", "0.1", "pyh_0", `, "noarch": "python", "subdir": "noarch"`),
			{name: "info/link.json", body: `{"noarch": {"type": "python", "entry_points": ["tool = tool.cli:main", "tool-admin = tool.admin:Admin.run"]}, "package_metadata_version": 1}`},
			pathsJSON(
				`{"_path": "site-packages/tool/__init__.py", "path_type": "hardlink"}`,
				`{"_path": "site-packages/tool-0.1.dist-info/METADATA", "path_type": "hardlink"}`,
				`{"_path": "python-scripts/tool-legacy", "path_type": "hardlink"}`,
				`{"_path": "etc/tool.conf", "path_type": "hardlink"}`,
			),
		},
		payload: []tarEntry{
			{name: "site-packages/tool/__init__.py", body: "X = 1\n"},
			{name: "site-packages/tool-0.1.dist-info/METADATA", body: "Name: tool\n"},
			{name: "python-scripts/tool-legacy", body: "#!/usr/bin/env python\n", mode: 0o755},
			{name: "etc/tool.conf", body: "conf\n"},
		},
	}
}

func TestInstallCondaNoarchPython(t *testing.T) {
	dir := t.TempDir()
	src := noarchFixture().writeDotConda(t, dir)
	root := mkroot(t, dir, "root")
	if _, err := InstallConda(src, root, CondaOptions{Python: "3.12"}); err != nil {
		t.Fatal(err)
	}
	P := func(p string) string { return filepath.Join(root, layout.Prefix, p) }
	for p, want := range map[string]string{
		"lib/python3.12/site-packages/tool/__init__.py":            "X = 1\n",
		"lib/python3.12/site-packages/tool-0.1.dist-info/METADATA": "Name: tool\n",
		"bin/tool-legacy": "#!/usr/bin/env python\n",
		"etc/tool.conf":   "conf\n",
	} {
		if got := readFile(t, P(p)); got != want {
			t.Errorf("%s: got %q, want %q", p, got, want)
		}
	}
	for _, ep := range []struct{ name, imp, call string }{
		{"tool", "from tool.cli import main\n", "sys.exit(main())"},
		{"tool-admin", "from tool.admin import Admin\n", "sys.exit(Admin.run())"},
	} {
		got := readFile(t, P("bin/"+ep.name))
		if !strings.HasPrefix(got, "#!"+layout.Python+"\n") || !strings.Contains(got, ep.imp) || !strings.Contains(got, ep.call) {
			t.Errorf("bin/%s: got\n%s\nwant a launcher importing %q", ep.name, got, ep.imp)
		}
		if st, _ := os.Stat(P("bin/" + ep.name)); st.Mode().Perm() != 0o755 {
			t.Errorf("bin/%s: got mode %v, want 0755", ep.name, st.Mode())
		}
	}
	var rec struct {
		Files     []string `json:"files"`
		Noarch    string   `json:"noarch"`
		PathsData struct {
			Paths []condaPath `json:"paths"`
		} `json:"paths_data"`
	}
	if err := json.Unmarshal([]byte(readFile(t, filepath.Join(root, layout.CondaMeta, "tool-0.1-pyh_0.json"))), &rec); err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"bin/tool", "bin/tool-admin", "bin/tool-legacy", "etc/tool.conf", "lib/python3.12/site-packages/tool-0.1.dist-info/METADATA", "lib/python3.12/site-packages/tool/__init__.py"}
	if !reflect.DeepEqual(rec.Files, wantFiles) || rec.Noarch != "python" {
		t.Errorf("record: got files %q noarch %q, want %q and python", rec.Files, rec.Noarch, wantFiles)
	}
	for _, p := range rec.PathsData.Paths {
		if p.Path == "bin/tool" && p.PathType != "unix_python_entry_point" {
			t.Errorf("bin/tool: got path_type %q, want unix_python_entry_point", p.PathType)
		}
	}

	// Without --python the package cannot be placed.
	_, err := InstallConda(src, mkroot(t, dir, "root2"), CondaOptions{})
	wantErr(t, err, "noarch: python", "--python")
}

// Packages without info/paths.json: info/files and info/has_prefix, or no
// listing at all.
func TestInstallCondaLegacy(t *testing.T) {
	dir := t.TempDir()
	legacy := "/opt/anaconda1anaconda2anaconda3"
	fx := condaFixture{
		stem: "old-1.0-0",
		info: []tarEntry{
			indexJSON("old", "1.0", "0", ""),
			{name: "info/files", body: "bin/old\nlib/libold.so\n\"share/with space.txt\"\n"},
			{name: "info/has_prefix", body: "bin/old\n" + placeholder + " binary lib/libold.so\n"},
		},
		payload: []tarEntry{
			{name: "bin/old", body: "#!" + legacy + "/bin/python\n", mode: 0o755},
			{name: "lib/libold.so", body: "A" + placeholder + "/lib\x00B"},
			{name: "share/with space.txt", body: "s\n"},
		},
	}
	fx.info[1].body = "bin/old\nlib/libold.so\nshare/with space.txt\n"
	root := mkroot(t, dir, "root")
	if _, err := InstallConda(fx.writeTarBz2(t, dir, false), root, CondaOptions{}); err != nil {
		t.Fatal(err)
	}
	P := func(p string) string { return filepath.Join(root, layout.Prefix, p) }
	if got, want := readFile(t, P("bin/old")), "#!"+layout.Prefix+"/bin/python\n"; got != want {
		t.Errorf("bin/old: got %q, want %q", got, want)
	}
	wantLib := "A" + layout.Prefix + "/lib" + strings.Repeat("\x00", len(placeholder)-len(layout.Prefix)) + "\x00B"
	if got := readFile(t, P("lib/libold.so")); got != wantLib {
		t.Errorf("lib/libold.so: got %q, want %q", got, wantLib)
	}
	if got := readFile(t, P("share/with space.txt")); got != "s\n" {
		t.Errorf("share/with space.txt: got %q", got)
	}

	// No listing at all: every payload entry.
	bare := condaFixture{stem: "bare-1-0", info: []tarEntry{indexJSON("bare", "1", "0", "")}, payload: []tarEntry{
		{name: "./lib/a.txt", body: "a"}, {name: "lib/b", typeflag: tar.TypeSymlink, link: "a.txt"},
	}}
	root = mkroot(t, dir, "bare")
	res, err := InstallConda(bare.writeDotConda(t, dir), root, CondaOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Files != 2 || readFile(t, filepath.Join(root, layout.Prefix, "lib/b")) != "a" {
		t.Errorf("got %d files, want lib/a.txt and lib/b -> a.txt", res.Files)
	}
}

func TestInstallCondaErrors(t *testing.T) {
	base := func(payload ...tarEntry) condaFixture {
		return condaFixture{stem: "bad-1-0", info: []tarEntry{indexJSON("bad", "1", "0", "")}, payload: payload}
	}
	withPaths := func(paths string, payload ...tarEntry) condaFixture {
		fx := base(payload...)
		fx.info = append(fx.info, pathsJSON(paths))
		return fx
	}
	tests := []struct {
		name   string
		fx     condaFixture
		format string // ".conda" (default) or ".tar.bz2"
		damage func([]byte) []byte
		opt    CondaOptions
		want   []string
	}{
		{name: "absolute", fx: base(tarEntry{name: "/tmp/escape", body: "x"}), want: []string{`"/tmp/escape"`, "absolute"}},
		{name: "dotdot", fx: base(tarEntry{name: "lib/../../escape", body: "x"}), want: []string{`"lib/../../escape"`, `".."`}},
		{name: "dotdot in tar.bz2", format: ".tar.bz2", fx: base(tarEntry{name: "../escape", body: "x"}), want: []string{`"../escape"`}},
		{name: "absolute symlink", fx: base(tarEntry{name: "lib/x", typeflag: tar.TypeSymlink, link: "/etc/passwd"}), want: []string{`"lib/x"`, `"/etc/passwd"`, "outside the prefix"}},
		{name: "relative symlink escaping", fx: base(tarEntry{name: "lib/x", typeflag: tar.TypeSymlink, link: "../../../../etc"}), want: []string{`"lib/x"`, "leaves the prefix"}},
		{name: "symlink chain escaping", fx: base(
			tarEntry{name: "par", typeflag: tar.TypeSymlink, link: "cur/.."},
			tarEntry{name: "cur", typeflag: tar.TypeSymlink, link: "."},
		), want: []string{`"par"`, "leaves the prefix"}},
		{name: "write through symlink", fx: base(
			tarEntry{name: "lib", typeflag: tar.TypeSymlink, link: "sub"},
			tarEntry{name: "lib/x", body: "x"},
		), want: []string{`"lib/x"`, `through symlink "lib"`}},
		{name: "symlink after its children", fx: base(
			tarEntry{name: "lib/x", body: "x"},
			tarEntry{name: "lib", typeflag: tar.TypeSymlink, link: "sub"},
		), want: []string{`through symlink "lib"`}},
		{name: "path twice", fx: base(
			tarEntry{name: "moo", typeflag: tar.TypeSymlink, link: "x"},
			tarEntry{name: "moo", body: "x"},
		), want: []string{`"moo"`, "twice"}},
		{name: "hard link escaping", fx: base(tarEntry{name: "lib/x", typeflag: tar.TypeLink, link: "../../etc/passwd"}), want: []string{`"lib/x"`, "outside the package"}},
		{name: "hard link to absolute", fx: base(tarEntry{name: "lib/x", typeflag: tar.TypeLink, link: "/etc/passwd"}), want: []string{`"lib/x"`, "outside the package"}},
		{name: "hard link to nothing", fx: base(tarEntry{name: "lib/x", typeflag: tar.TypeLink, link: "lib/y"}), want: []string{`"lib/x"`, "not a regular file"}},
		{name: "fifo", fx: base(tarEntry{name: "lib/fifo", typeflag: tar.TypeFifo}), want: []string{`"lib/fifo"`, "tar type"}},
		{name: "listing escapes", fx: withPaths(`{"_path": "../x", "path_type": "hardlink"}`), want: []string{`"../x"`}},
		{name: "listed but missing", fx: withPaths(`{"_path": "lib/x", "path_type": "hardlink"}`), want: []string{`"lib/x"`, "no such entry"}},
		{name: "paths.json sha256 mismatch", fx: withPaths(`{"_path": "lib/x", "path_type": "hardlink", "sha256": "`+strings.Repeat("0", 64)+`"}`, tarEntry{name: "lib/x", body: "x"}), want: []string{`"lib/x"`, "corrupt"}},
		{name: "binary placeholder too short", fx: withPaths(`{"_path": "lib/x", "path_type": "hardlink", "file_mode": "binary", "prefix_placeholder": "/short"}`, tarEntry{name: "lib/x", body: "a/short\x00"}), want: []string{`"lib/x"`, "longer than the binary placeholder"}},
		{name: "archive sha256 mismatch", fx: base(), opt: CondaOptions{SHA256: strings.Repeat("1", 64)}, want: []string{"sha256 is", "lock says 1111"}},
		{name: "no index.json", fx: condaFixture{stem: "bad-1-0"}, want: []string{"info/index.json"}},
		{name: "truncated .conda", fx: base(tarEntry{name: "a", body: "a"}), damage: func(b []byte) []byte { return b[:len(b)-30] }, want: []string{"truncated"}},
		{name: "truncated .tar.bz2", format: ".tar.bz2", fx: base(tarEntry{name: "a", body: strings.Repeat("abc", 10000)}), damage: func(b []byte) []byte { return b[:len(b)/2] }, want: []string{"truncated or corrupt"}},
		{name: "corrupt zstd", fx: base(tarEntry{name: "a", body: strings.Repeat("abc", 10000)}), damage: func(b []byte) []byte {
			i := bytes.Index(b, []byte("pkg-bad-1-0.tar.zst")) + len("pkg-bad-1-0.tar.zst") + 12
			for j := i; j < i+8; j++ {
				b[j] ^= 0x55
			}
			return b
		}, want: []string{"pkg-bad-1-0.tar.zst"}},
		{name: "not a package name", format: ".zip", fx: base(), want: []string{".conda", ".tar.bz2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var src string
			switch tc.format {
			case ".tar.bz2":
				src = tc.fx.writeTarBz2(t, dir, false)
			case ".zip":
				src = tc.fx.writeDotConda(t, dir)
				os.Rename(src, src+".zip")
				src += ".zip"
			default:
				src = tc.fx.writeDotConda(t, dir)
			}
			if tc.damage != nil {
				b, _ := os.ReadFile(src)
				os.WriteFile(src, tc.damage(b), 0o644)
			}
			root := mkroot(t, dir, "root")
			_, err := InstallConda(src, root, tc.opt)
			wantErr(t, err, tc.want...)
			if _, err := os.Lstat(filepath.Join(dir, "escape")); err == nil {
				t.Errorf("a file escaped the install directory")
			}
		})
	}
}

func TestInstallCondaDeterministic(t *testing.T) {
	dir := t.TempDir()
	fx := demoConda()
	for i := 0; i < 40; i++ {
		fx.payload = append(fx.payload, tarEntry{name: "share/many/f" + strconv.Itoa(i), body: strings.Repeat("y", i*1000)})
	}
	src := fx.writeDotConda(t, dir)
	var snaps []map[string]treeEntry
	for i, umask := range []int{0o022, 0o077} {
		root := mkroot(t, dir, "out"+strconv.Itoa(i))
		old := setUmask(umask)
		_, err := InstallConda(src, root, CondaOptions{Workers: 1 + 7*i})
		setUmask(old)
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, stripInodes(snapshot(t, root)))
	}
	compareSnapshots(t, snaps[0], snaps[1])
}

func TestReplaceBinary(t *testing.T) {
	tests := []struct{ in, ph, prefix, want string }{
		{"xx/PLACEHOLDER/lib\x00yy", "/PLACEHOLDER", "/p", "xx/p/lib" + strings.Repeat("\x00", 10) + "\x00yy"},
		{"/PH:/PH\x00", "/PH", "/a", "/a:/a\x00\x00\x00"},
		{"no placeholder\x00", "/PH", "/a", "no placeholder\x00"},
		{"end /PH", "/PH", "/a", "end /a\x00"},
		{"/PH\x00/PH\x00", "/PH", "/ab", "/ab\x00/ab\x00"},
	}
	for _, tc := range tests {
		got, err := replaceBinary([]byte(tc.in), tc.ph, tc.prefix)
		if err != nil || string(got) != tc.want {
			t.Errorf("replaceBinary(%q, %q, %q): got %q, %v, want %q", tc.in, tc.ph, tc.prefix, got, err, tc.want)
		}
		if len(got) != len(tc.in) {
			t.Errorf("replaceBinary(%q): length changed from %d to %d", tc.in, len(tc.in), len(got))
		}
	}
}
