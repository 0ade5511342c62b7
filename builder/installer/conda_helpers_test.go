package installer

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// condaFixture is a test package: its info/ and payload entries.
type condaFixture struct {
	stem    string // NAME-VERSION-BUILD
	info    []tarEntry
	payload []tarEntry
}

func zstdBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	return enc.EncodeAll(b, nil)
}

// writeDotConda writes the fixture as a .conda file in dir.
func (f condaFixture) writeDotConda(t testing.TB, dir string) string {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, part := range []struct {
		name string
		data []byte
	}{
		{"metadata.json", []byte(`{"conda_pkg_format_version": 2}`)},
		{"pkg-" + f.stem + ".tar.zst", zstdBytes(t, tarBytes(t, f.payload))},
		{"info-" + f.stem + ".tar.zst", zstdBytes(t, tarBytes(t, f.info))},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: part.name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(part.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, f.stem+".conda")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeTarBz2 writes the fixture as a .tar.bz2 file in dir, info first
// unless infoLast.
func (f condaFixture) writeTarBz2(t *testing.T, dir string, infoLast bool) string {
	t.Helper()
	entries := append(append([]tarEntry{}, f.info...), f.payload...)
	if infoLast {
		entries = append(append([]tarEntry{}, f.payload...), f.info...)
	}
	p := filepath.Join(dir, f.stem+".tar.bz2")
	writeBz2(t, p, tarBytes(t, entries))
	return p
}

// writeBz2 writes data bzip2-compressed to p.
func writeBz2(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.WriteFile(p, bzip2Compress(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func indexJSON(name, version, build, extra string) tarEntry {
	body := `{"name": "` + name + `", "version": "` + version + `", "build": "` + build + `", "build_number": 0, "depends": ["libc >=1"], "license": "MIT", "subdir": "linux-64", "timestamp": 1700000000123` + extra + `}`
	return tarEntry{name: "info/index.json", body: body}
}

func pathsJSON(entries ...string) tarEntry {
	return tarEntry{name: "info/paths.json", body: `{"paths_version": 1, "paths": [` + strings.Join(entries, ",") + `]}`}
}

func dirEntry(name string) tarEntry { return tarEntry{name: name, typeflag: tar.TypeDir, mode: 0o755} }
