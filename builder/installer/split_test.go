package installer

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

const bigDistInfo = "big_pkg-1.0.dist-info"

// bigWheelFiles is a wheel with files of every kind split.go tells apart:
// large data files that move, and large files that stay in part 0 (a .py
// file, a script, a file in .dist-info), beside small ones.
func bigWheelFiles() []zipEntry {
	mib := func(n float64, c byte) string { return strings.Repeat(string(c), int(n*(1<<20))) }
	return []zipEntry{
		{name: "big_pkg/__init__.py", body: "VERSION = '1.0'\n"},
		{name: "big_pkg/lib/libbig.so", body: mib(2.5, 'a'), mode: 0o755},
		{name: "big_pkg/lib/libmid.so", body: mib(1.5, 'b'), mode: 0o755},
		{name: "big_pkg/lib/libone.so", body: mib(1, 'c')},
		{name: "big_pkg/lib/libtwo.so", body: mib(1, 'd')},
		{name: "big_pkg/data/small.bin", body: mib(0.5, 'e')},
		{name: "big_pkg/generated.py", body: "x = 1\n" + mib(1.2, '#')},
		{name: "big_pkg-1.0.data/scripts/big-tool", body: "#!python\n" + mib(1.1, '#')},
		{name: "big_pkg-1.0.data/data/share/big/model.bin", body: mib(1.3, 'f')},
		{name: bigDistInfo + "/METADATA", body: "Metadata-Version: 2.1\nName: big-pkg\nVersion: 1.0\n"},
		{name: bigDistInfo + "/LICENSES/blob.txt", body: mib(1.4, 'l')},
		{name: bigDistInfo + "/entry_points.txt", body: "[console_scripts]\nbig = big_pkg.cli:main\n"},
	}
}

// files returns the regular files of a snapshot, with their mode and body.
func files(snap map[string]treeEntry) map[string]treeEntry {
	out := map[string]treeEntry{}
	for p, e := range snap {
		if !e.mode.IsDir() {
			e.ino, e.mtime = 0, 0
			out[p] = e
		}
	}
	return out
}

// The parts of a split wheel, installed each in a root of its own, hold
// together exactly the files of the wheel installed whole, RECORD
// included, and only part 0 has the .dist-info directory.
func TestInstallWheelParts(t *testing.T) {
	dir := t.TempDir()
	src := writeZip(t, dir, "big_pkg-1.0-py3-none-any.whl", wheelEntries(bigDistInfo, true, bigWheelFiles()))
	whole := mkroot(t, dir, "whole")
	if _, err := InstallWheel(src, whole, WheelOptions{Python: "3.11"}); err != nil {
		t.Fatal(err)
	}
	want := files(snapshot(t, whole))
	// snapshot's paths are relative to the root.
	site := strings.TrimPrefix(layout.SitePackages(3, 11, false), "/")
	movers := []string{
		site + "/big_pkg/lib/libbig.so", site + "/big_pkg/lib/libmid.so", site + "/big_pkg/lib/libone.so",
		site + "/big_pkg/lib/libtwo.so", strings.TrimPrefix(layout.Prefix, "/") + "/share/big/model.bin",
	}

	for _, parts := range []int{2, 3, 8} {
		t.Run(strconv.Itoa(parts), func(t *testing.T) {
			got := map[string]treeEntry{}
			where := map[string]int{}
			for part := 0; part < parts; part++ {
				root := mkroot(t, dir, "p"+strconv.Itoa(parts)+"-"+strconv.Itoa(part))
				res, err := InstallWheel(src, root, WheelOptions{Python: "3.11", Part: part, Parts: parts})
				if err != nil {
					t.Fatalf("part %d of %d: %v", part, parts, err)
				}
				checkAtimes(t, root)
				if res.Name != "big_pkg" || res.Version != "1.0" {
					t.Errorf("part %d: got %+v", part, res)
				}
				snap := snapshot(t, root)
				if e, ok := snap[site]; !ok || !e.mode.IsDir() {
					t.Errorf("part %d of %d: no site-packages directory", part, parts)
				}
				_, hasDistInfo := snap[site+"/"+bigDistInfo]
				if hasDistInfo != (part == 0) {
					t.Errorf("part %d of %d: got .dist-info %v, want it in part 0 only", part, parts, hasDistInfo)
				}
				for p, e := range files(snap) {
					if prev, dup := where[p]; dup {
						t.Errorf("%s is in parts %d and %d", p, prev, part)
					}
					where[p] = part
					got[p] = e
				}
			}
			compareSnapshots(t, want, got)
			// Part 0 holds 4.2 MiB that may not move, so with three parts
			// or more every file that may move does; with two, the two
			// 1 MiB files stay to even the load. Files that may not move
			// stay in part 0.
			used := map[int]bool{}
			for _, p := range movers {
				stays := parts == 2 && strings.Contains(p, "/lib/lib") && (strings.HasSuffix(p, "one.so") || strings.HasSuffix(p, "two.so"))
				if (where[p] == 0) != stays {
					t.Errorf("%s is in part %d", p, where[p])
				}
				if where[p] != 0 {
					used[where[p]] = true
				}
			}
			if n := min(parts-1, len(movers)); len(used) != n {
				t.Errorf("the large files went to %d parts, want %d", len(used), n)
			}
			for p, part := range where {
				if part != 0 && !slices.Contains(movers, p) {
					t.Errorf("%s went to part %d, want part 0", p, part)
				}
			}
		})
	}
}

// The deal is largest first, to the part holding the fewest bytes.
func TestAssignParts(t *testing.T) {
	dir := t.TempDir()
	src := writeZip(t, dir, "big_pkg-1.0-py3-none-any.whl", wheelEntries(bigDistInfo, true, bigWheelFiles()))
	root := mkroot(t, dir, "root")
	// Three parts: part 0 starts with 4.2 MiB that stay; 2.5 -> 1,
	// 1.5 -> 2, 1.3 -> 2, 1 (libone) -> 1, 1 (libtwo) -> 2.
	want := map[string]int{"libbig.so": 1, "libmid.so": 2, "model.bin": 2, "libone.so": 1, "libtwo.so": 2}
	for part := 0; part < 3; part++ {
		r := filepath.Join(root, strconv.Itoa(part))
		os.Mkdir(r, 0o755)
		if _, err := InstallWheel(src, r, WheelOptions{Python: "3.11", Part: part, Parts: 3}); err != nil {
			t.Fatal(err)
		}
		var names []string
		for p := range files(snapshot(t, r)) {
			if n := filepath.Base(p); want[n] != 0 || part == 0 && strings.HasSuffix(n, ".so") {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		var exp []string
		for n, p := range want {
			if p == part {
				exp = append(exp, n)
			}
		}
		sort.Strings(exp)
		if strings.Join(names, " ") != strings.Join(exp, " ") {
			t.Errorf("part %d: got %q, want %q", part, names, exp)
		}
	}
}

func TestInstallWheelPartErrors(t *testing.T) {
	dir := t.TempDir()
	entries := wheelEntries(bigDistInfo, true, bigWheelFiles())
	src := writeZip(t, dir, "big_pkg-1.0-py3-none-any.whl", entries)
	for _, p := range [][2]int{{-1, 2}, {2, 2}, {1, 0}, {0, 17}, {3, 1}} {
		_, err := InstallWheel(src, mkroot(t, dir, "bad"+strconv.Itoa(p[0])+"-"+strconv.Itoa(p[1])), WheelOptions{Python: "3.11", Part: p[0], Parts: p[1]})
		wantErr(t, err, "part "+strconv.Itoa(p[0])+" of "+strconv.Itoa(p[1]), "want 0 <= part < parts <= 16")
	}

	// A moved file whose bytes do not match the wheel's RECORD fails the
	// part that writes it; part 0, which only lists it, does not write it.
	for i := range entries {
		if strings.HasSuffix(entries[i].name, "libbig.so") {
			entries[i].body = "tampered" + entries[i].body[8:]
		}
	}
	src = writeZip(t, dir, "big_pkg-1.0-py3-none-any.whl", entries)
	failed := 0
	for part := 0; part < 2; part++ {
		_, err := InstallWheel(src, mkroot(t, dir, "tampered"+strconv.Itoa(part)), WheelOptions{Python: "3.11", Part: part, Parts: 2})
		if err != nil {
			wantErr(t, err, `"big_pkg/lib/libbig.so"`, "RECORD")
			failed++
			if part == 0 {
				t.Errorf("part 0 wrote the moved file")
			}
		}
	}
	if failed != 1 {
		t.Errorf("got %d failed parts, want 1", failed)
	}
}
