package wheellayer

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/layout"
)

type wheelEntry struct {
	name   string
	data   []byte
	method uint16
	exec   bool
}

// writeWheel writes a wheel of entries (plus its WHEEL and RECORD) and
// returns its path.
func writeWheel(t *testing.T, dir string, entries []wheelEntry) string {
	t.Helper()
	p := filepath.Join(dir, "bigpkg-1.0-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	entries = append(entries, wheelEntry{name: "bigpkg-1.0.dist-info/WHEEL", data: []byte("Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"), method: zip.Deflate})
	var record strings.Builder
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: e.method}
		h.SetMode(0o644)
		if e.exec {
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
		sum := sha256.Sum256(e.data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", e.name, base64.RawURLEncoding.EncodeToString(sum[:]), len(e.data))
	}
	record.WriteString("bigpkg-1.0.dist-info/RECORD,,\n")
	w, _ := zw.Create("bigpkg-1.0.dist-info/RECORD")
	w.Write([]byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	r.Read(b)
	return b
}

// textish is compressible data of n bytes.
func textish(r *rand.Rand, n int) []byte {
	words := []string{"tensor", "cuda", "kernel", "float", "grad", "\n", " ", "0x7f", "launch"}
	var b bytes.Buffer
	for b.Len() < n {
		b.WriteString(words[r.Intn(len(words))])
	}
	return b.Bytes()[:n]
}

func testEntries() []wheelEntry {
	r := rand.New(rand.NewSource(1))
	const mib = 1 << 20
	return []wheelEntry{
		{name: "bigpkg/__init__.py", data: []byte("x = 1\n"), method: zip.Deflate},
		{name: "bigpkg/lib/libbig.so", data: textish(r, 5*mib+123), method: zip.Deflate, exec: true},
		{name: "bigpkg/lib/libother.so", data: randomBytes(r, 3*mib+7), method: zip.Deflate},
		{name: "bigpkg/lib/stored.bin", data: textish(r, 2*mib+511), method: zip.Store},
		{name: "bigpkg/data/deep/nested/weights.bin", data: textish(r, 4*mib), method: zip.Deflate},
		{name: "bigpkg/small.bin", data: textish(r, 100_000), method: zip.Deflate},
		{name: "bigpkg-1.0.data/data/share/bigpkg/model.bin", data: textish(r, 1*mib+1), method: zip.Deflate},
	}
}

// node is what a test compares of a file or directory.
type node struct {
	dir   bool
	mode  fs.FileMode
	mtime int64
	sum   string
}

// readLayer reads a gzip tar layer into nodes, checking its tar is well
// formed and owned by root.
func readLayer(t *testing.T, blob []byte) (map[string]node, []byte) {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(blob))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("reading the layer as one gzip stream: %v", err)
	}
	out := map[string]node{}
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: owner %d:%d", h.Name, h.Uid, h.Gid)
		}
		name := strings.TrimSuffix(h.Name, "/")
		n := node{dir: h.Typeflag == tar.TypeDir, mode: fs.FileMode(h.Mode).Perm(), mtime: h.ModTime.Unix()}
		if !n.dir {
			sum := sha256.New()
			io.Copy(sum, tr)
			n.sum = hex.EncodeToString(sum.Sum(nil))
		}
		if _, dup := out[name]; dup {
			t.Errorf("%s is in the layer twice", name)
		}
		out[name] = n
	}
	return out, raw
}

// readTree reads an installed tree the same way.
func readTree(t *testing.T, root string) map[string]node {
	t.Helper()
	out := map[string]node{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		n := node{dir: d.IsDir(), mode: info.Mode().Perm(), mtime: info.ModTime().Unix()}
		if !n.dir {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			n.sum = hex.EncodeToString(sum[:])
		}
		out[filepath.ToSlash(rel)] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLayerIsTheInstallersPart: for every part of a wheel split in 2, 3
// and 4, the layer written here holds exactly what the installer writes
// for that part (paths, kinds, modes, times, bytes), its digests are
// those of its bytes, and the DEFLATE data of the deflated files is
// copied rather than compressed again.
func TestLayerIsTheInstallersPart(t *testing.T) {
	dir := t.TempDir()
	wheel := writeWheel(t, dir, testEntries())
	for _, parts := range []int{2, 3, 4} {
		passed := 0
		for part := 1; part < parts; part++ {
			t.Run(fmt.Sprintf("%d of %d", part, parts), func(t *testing.T) {
				opt := installer.WheelOptions{Python: "3.11", Part: part, Parts: parts}
				root := filepath.Join(dir, fmt.Sprintf("root-%d-%d", part, parts))
				if err := os.MkdirAll(root, 0o755); err != nil {
					t.Fatal(err)
				}
				if _, err := installer.InstallWheel(wheel, root, opt); err != nil {
					t.Fatal(err)
				}
				var blob bytes.Buffer
				l, err := Write(context.Background(), &blob, wheel, opt)
				if err != nil {
					t.Fatal(err)
				}
				got, raw := readLayer(t, blob.Bytes())
				want := readTree(t, root)
				if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
					t.Errorf("layer:\n%v\ninstaller:\n%v", sorted(got), sorted(want))
				}
				if n := got[strings.TrimPrefix(layout.Prefix, "/")]; !n.dir || n.mode != 0o755 || n.mtime != layout.Epoch {
					t.Errorf("the prefix in the layer: %+v", n)
				}
				blobSum, rawSum := sha256.Sum256(blob.Bytes()), sha256.Sum256(raw)
				if l.Digest != "sha256:"+hex.EncodeToString(blobSum[:]) || l.Size != int64(blob.Len()) {
					t.Errorf("digest %s size %d; the blob is %x, %d bytes", l.Digest, l.Size, blobSum, blob.Len())
				}
				if l.DiffID != "sha256:"+hex.EncodeToString(rawSum[:]) {
					t.Errorf("diff id %s; the tar is %x", l.DiffID, rawSum)
				}
				// Every file but the stored one is deflated in the wheel: their
				// data are copied, the stored one's compressed here.
				files, deflated := 0, 0
				for name, n := range want {
					if !n.dir {
						files++
						if !strings.HasSuffix(name, "/stored.bin") {
							deflated++
						}
					}
				}
				if l.Files != files || l.Passed != deflated {
					t.Errorf("Files = %d, Passed = %d; the installer wrote %d files, %d of them deflated in the wheel", l.Files, l.Passed, files, deflated)
				}
				passed += l.Passed
			})
		}
		// The parts other than 0 together hold some of the files.
		if passed == 0 {
			t.Errorf("%d parts: no file copied", parts)
		}
	}
}

func sorted(m map[string]node) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %+v", k, v))
	}
	sort.Strings(out)
	return out
}

// TestOtherReaders: the layer of concatenated members reads as one stream
// with gzip(1) too, as runtimes that unpack with pigz or zlib do.
func TestOtherReaders(t *testing.T) {
	gz, err := exec.LookPath("gzip")
	if err != nil {
		t.Skip("no gzip here")
	}
	dir := t.TempDir()
	wheel := writeWheel(t, dir, testEntries())
	var blob bytes.Buffer
	l, err := Write(context.Background(), &blob, wheel, installer.WheelOptions{Python: "3.11", Part: 1, Parts: 2})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gz, "-dc")
	cmd.Stdin = bytes.NewReader(blob.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gzip -dc: %v", err)
	}
	if sum := sha256.Sum256(out); l.DiffID != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("gzip -dc gives a tar of sha256 %x, the diff id is %s", sum, l.DiffID)
	}
}

// TestTamperedWheel: a file whose bytes differ from RECORD fails its part,
// whether its data are deflated or stored.
func TestTamperedWheel(t *testing.T) {
	for _, victim := range []string{"bigpkg/lib/libbig.so", "bigpkg/lib/stored.bin"} {
		t.Run(victim, func(t *testing.T) {
			dir := t.TempDir()
			entries := testEntries()
			wheel := writeWheel(t, dir, entries)
			// Rewrite the wheel with the victim's bytes changed but RECORD
			// as it was.
			b, err := os.ReadFile(wheel)
			if err != nil {
				t.Fatal(err)
			}
			zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			zw := zip.NewWriter(&out)
			for _, zf := range zr.File {
				rc, _ := zf.Open()
				data, _ := io.ReadAll(rc)
				rc.Close()
				if zf.Name == victim {
					data[len(data)/2] ^= 1
				}
				h := zf.FileHeader
				w, err := zw.CreateHeader(&h)
				if err != nil {
					t.Fatal(err)
				}
				w.Write(data)
			}
			zw.Close()
			os.WriteFile(wheel, out.Bytes(), 0o644)
			var failed bool
			// In 8 parts each big file has a part of its own.
			for part := 1; part < 8; part++ {
				_, err := Write(context.Background(), io.Discard, wheel, installer.WheelOptions{Python: "3.11", Part: part, Parts: 8})
				if err != nil {
					if !strings.Contains(err.Error(), "RECORD") {
						t.Errorf("error %q does not say RECORD", err)
					}
					failed = true
				}
			}
			if !failed {
				t.Error("no part failed")
			}
		})
	}
}

// TestPartZero: part 0 is the installer's alone.
func TestPartZero(t *testing.T) {
	dir := t.TempDir()
	wheel := writeWheel(t, dir, testEntries())
	if _, err := Write(context.Background(), io.Discard, wheel, installer.WheelOptions{Python: "3.11", Part: 0, Parts: 2}); err == nil {
		t.Error("part 0 written")
	}
}

// TestCanceled: a canceled context stops a layer between chunks.
func TestCanceled(t *testing.T) {
	wheel := writeWheel(t, t.TempDir(), testEntries())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, io.Discard, wheel, installer.WheelOptions{Python: "3.11", Part: 1, Parts: 2}); err != context.Canceled && !strings.Contains(fmt.Sprint(err), "context canceled") {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// A part's record carries what the installer's tree of that part would
// give ReadLayerMeta: here a .dist-info directory and a conda-meta record
// the wheel puts in its .data directory, big enough to leave part 0.
func TestLayerMeta(t *testing.T) {
	dir := t.TempDir()
	r := rand.New(rand.NewSource(2))
	const mib = 1 << 20
	entries := append(testEntries(),
		wheelEntry{name: "bigpkg-1.0.data/purelib/other-2.0.dist-info/blob.bin", data: textish(r, mib+5), method: zip.Deflate},
		wheelEntry{name: "bigpkg-1.0.data/data/conda-meta/other-2.0-0.json", data: append([]byte(`{"name": "other", "pad": "`), append(textish(r, mib), []byte(`"}`)...)...), method: zip.Deflate},
	)
	wheel := writeWheel(t, dir, entries)
	found := 0
	for part := 1; part < 3; part++ {
		opt := installer.WheelOptions{Python: "3.11", Part: part, Parts: 3}
		root := filepath.Join(dir, fmt.Sprint("root-", part))
		if err := os.MkdirAll(root, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := installer.InstallWheel(wheel, root, opt); err != nil {
			t.Fatal(err)
		}
		want, err := installer.ReadLayerMeta(root)
		if err != nil {
			t.Fatal(err)
		}
		l, err := Write(context.Background(), io.Discard, wheel, opt)
		if err != nil {
			t.Fatal(err)
		}
		w, _ := json.Marshal(want)
		g, _ := json.Marshal(l.Meta)
		if !bytes.Equal(g, w) {
			t.Errorf("part %d: meta %.300s, the installer's tree gives %.300s", part, g, w)
		}
		found += len(want.DistInfo) + len(want.CondaMeta)
	}
	if found != 2 {
		t.Errorf("the parts hold %d of the .dist-info directory and the conda-meta record, want both", found)
	}
}
