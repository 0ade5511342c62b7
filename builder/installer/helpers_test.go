package installer

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/layout"
)

// zipEntry is one file of a test archive.
type zipEntry struct {
	name string
	body string
	mode fs.FileMode // 0 means 0644; fs.ModeSymlink for a symlink
	// stored writes the entry uncompressed (zip method 0), not deflated
	stored bool
}

// writeZip writes entries into a zip file at dir/name and returns its path.
func writeZip(t *testing.T, dir, name string, entries []zipEntry) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		if e.stored {
			h.Method = zip.Store
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h.SetMode(mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// wheelEntries completes files with a WHEEL file and a RECORD that hashes
// every entry.
func wheelEntries(distInfo string, purelib bool, files []zipEntry) []zipEntry {
	wheel := "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: " + map[bool]string{true: "true", false: "false"}[purelib] + "\nTag: py3-none-any\n"
	out := append([]zipEntry{}, files...)
	out = append(out, zipEntry{name: distInfo + "/WHEEL", body: wheel})
	var rec strings.Builder
	for _, e := range out {
		sum := sha256.Sum256([]byte(e.body))
		rec.WriteString(e.name + "," + recordHash(sum[:]) + "," + itoa(len(e.body)) + "\n")
	}
	rec.WriteString(distInfo + "/RECORD,,\n")
	return append(out, zipEntry{name: distInfo + "/RECORD", body: rec.String()})
}

func itoa(n int) string { return strconv.Itoa(n) }

// tarEntry is one member of a test tar.
type tarEntry struct {
	name     string
	body     string
	mode     int64
	typeflag byte // 0 means a regular file
	link     string
}

func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Typeflag: e.typeflag, Linkname: e.link, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// treeEntry is what snapshot records of one path.
type treeEntry struct {
	mode  fs.FileMode
	mtime int64
	uid   uint32
	body  string // file content or symlink target
	ino   uint64
}

// snapshot reads every path under root with its mode, times, owner and
// content.
func snapshot(t *testing.T, root string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := statEntry(info)
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.body, err = os.Readlink(p)
		case info.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			e.body = string(b)
		}
		out[filepath.ToSlash(rel)] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// wantErr fails unless err is an error whose text contains every one of subs.
func wantErr(t *testing.T, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", subs)
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("got error %q, want it to contain %q", err, s)
		}
	}
}

// checkAtimes checks that every file and symlink under root has the access
// time layout.Epoch. Reading a directory or file changes its access time, so
// call it before anything reads the files; directories are not checked.
func checkAtimes(t *testing.T, root string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			paths = append(paths, p)
		}
		return err
	})
	for _, p := range paths {
		if got := atime(t, p); got != layout.Epoch {
			t.Errorf("%s: got atime %d, want %d", p, got, layout.Epoch)
		}
	}
}
