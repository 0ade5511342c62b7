package integration

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envbuild/envbuild/integration/testbed"
)

// bigWheel writes a wheel of more than 256 MiB with four 70 MiB data
// files, stored (so that the file is that big), each its own bytes, and a
// deflated 8 MiB one, and returns its path, its sha256 and its size, taken
// as it is written. Split in two, the deflated file goes to part 1 (the
// parts hold 140 MiB each before it, and part 0 also the small files).
func bigWheel(t *testing.T, dir string) (path, sum string, size int64) {
	t.Helper()
	const name, version = "bigpkg", "1.0"
	distInfo := name + "-" + version + ".dist-info"
	p := filepath.Join(dir, name+"-"+version+"-py3-none-any.whl")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fileHash := sha256.New()
	zw := zip.NewWriter(io.MultiWriter(f, fileHash))
	var record strings.Builder
	add := func(path string, method uint16, chunks ...[]byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		h, n := sha256.New(), 0
		for _, c := range chunks {
			if _, err := w.Write(c); err != nil {
				t.Fatal(err)
			}
			h.Write(c)
			n += len(c)
		}
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", path, base64.RawURLEncoding.EncodeToString(h.Sum(nil)), n)
	}
	add(name+"/__init__.py", zip.Store, []byte("VALUE = 42\n"))
	zeros := make([]byte, 1<<20)
	for i := 0; i < 4; i++ {
		chunks := [][]byte{[]byte(fmt.Sprintf("blob %d\n", i))}
		for j := 0; j < 70; j++ {
			chunks = append(chunks, zeros)
		}
		add(fmt.Sprintf("%s/data/blob%d.bin", name, i), zip.Store, chunks...)
	}
	var text []byte
	for i := 0; len(text) < 8<<20; i++ {
		text = fmt.Appendf(text, "line %d of a deflated file\n", i)
	}
	add(name+"/data/blob4.bin", zip.Deflate, text)
	add(distInfo+"/METADATA", zip.Store, []byte(bigMetadata))
	add(distInfo+"/WHEEL", zip.Store, []byte("Wheel-Version: 1.0\nGenerator: envbuild-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	add(distInfo+"/RECORD", zip.Store, []byte(record.String()))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return p, hex.EncodeToString(fileHash.Sum(nil)), st.Size()
}

const bigMetadata = "Metadata-Version: 2.1\nName: bigpkg\nVersion: 1.0\n"

// splitIndex serves bigWheel from a PEP 691 index that gives its size, as
// PyPI does; closed when the test ends.
func splitIndex(t *testing.T) *httptest.Server {
	t.Helper()
	whl, sum, size := bigWheel(t, t.TempDir())
	msum := sha256.Sum256([]byte(bigMetadata))
	fn := filepath.Base(whl)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/simple/bigpkg/":
			w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			json.NewEncoder(w).Encode(map[string]any{
				"meta": map[string]string{"api-version": "1.1"},
				"name": "bigpkg",
				"files": []map[string]any{{
					"filename": fn, "url": "/files/" + fn, "hashes": map[string]string{"sha256": sum},
					"size": size, "core-metadata": map[string]string{"sha256": hex.EncodeToString(msum[:])},
				}},
			})
		case "/files/" + fn:
			http.ServeFile(w, r, whl)
		case "/files/" + fn + ".metadata":
			io.WriteString(w, bigMetadata)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A wheel file of more than 256 MiB, from an index that gives its size
// (PEP 691 JSON, as PyPI does), is installed in two layers, and the
// environment holds every file the wheel's RECORD lists, with its hash,
// its module compiled.
func TestBuildSplitWheel(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	srv := splitIndex(t)

	// BuildKit installs both parts, whatever the compression; with
	// --layers-from-wheels envbuild writes part 2 from the wheel, the
	// deflated file's data copied. A repository of its own per run: a bed
	// kept between runs already holds the image and its layers.
	for _, c := range []struct {
		name string
		args []string
		log  string
	}{
		{"gzip", nil, ""},
		{"zstd", []string{"--compression", "zstd"}, ""},
		{"from wheels", []string{"--layers-from-wheels"}, "(part 2 of 2) (linux/amd64) from its wheel: 3 files, 1 copied as compressed in the wheel"},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := fmt.Sprintf("%s/envs/split-%s-%d", bed.Registry, strings.ReplaceAll(c.name, " ", "-"), time.Now().UnixNano())
			args := append([]string{"build", "--json", "--progress", "plain", "--pypi", "bigpkg==1.0", "--index-url", srv.URL + "/simple", "--base", bed.Base, "--registry", repo}, c.args...)
			r := envbuild(t, dir, nil, args...)
			if r.code != 0 {
				t.Fatalf("build failed with exit %d:\n%s", r.code, tail(r.stderr, 80))
			}
			var res result
			if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
				t.Fatalf("build printed no JSON result: %v\n%s", err, r.stdout)
			}
			if res.LayersBuilt != 2 {
				t.Errorf("built %d package layers, want the wheel's 2 parts", res.LayersBuilt)
			}
			if wrote := strings.Contains(r.stderr, "from its wheel"); wrote != (c.log != "") || !strings.Contains(r.stderr, c.log) {
				t.Errorf("the log says %q of the layers written from the wheel, want %q", grepLines(r.stderr, "from its wheel"), c.log)
			}
			checkSplitImage(t, bed, res.Image)
		})
	}
}

// With layers_from_wheels in the config file (as a team or a CI runner
// turns it on for every build) and no repository, the layer written from
// the wheel goes into the OCI layout with the others: the layout's image
// is whole and every layer's bytes have its digest and diff id.
func TestSplitWheelIntoLayout(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
	srv := splitIndex(t)
	out := filepath.Join(dir, "layout")
	writeConfig(t, dir, "layers_from_wheels = true\n")
	r := envbuild(t, dir, []string{"ENVBUILD_REPOSITORY="}, "build", "--json", "--progress", "plain", "--pypi", "bigpkg==1.0", "--index-url", srv.URL+"/simple", "--base", bed.Base, "--output", out)
	if r.code != 0 {
		t.Fatalf("build failed with exit %d:\n%s", r.code, tail(r.stderr, 80))
	}
	if !strings.Contains(r.stderr, "from its wheel") {
		t.Errorf("no layer was written from the wheel:\n%s", tail(r.stderr, 20))
	}
	p, m := layoutIndex(t, out)
	if len(m.Manifests) != 1 {
		t.Fatalf("layout index %+v: want one image", m.Manifests)
	}
	img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil || len(cfg.RootFS.DiffIDs) != len(layers) {
		t.Fatalf("config %v, %v: want a diff id per layer (%d)", cfg, err, len(layers))
	}
	// Each blob read in full: its sha256 is its digest, and its contents
	// gunzipped (every gzip member) hash to its diff id.
	for i, l := range layers {
		want, _ := l.Digest()
		if got := hashOf(t, l.Compressed); got != want.String() {
			t.Errorf("layer %d: blob %s, manifest says %s", i, got, want)
		}
		if got := hashOf(t, l.Uncompressed); got != cfg.RootFS.DiffIDs[i].String() {
			t.Errorf("layer %d: contents %s, config says %s", i, got, cfg.RootFS.DiffIDs[i])
		}
	}
}

// hashOf reads what open gives and returns its "sha256:…".
func hashOf(t *testing.T, open func() (io.ReadCloser, error)) string {
	t.Helper()
	rc, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		t.Fatal(err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// checkSplitImage checks, inside image, that every file of the wheel's
// RECORD has its hash and size, and that the module's bytecode is there.
func checkSplitImage(t *testing.T, bed *testbed.Bed, image string) {
	t.Helper()
	const check = `
import base64, hashlib, importlib.metadata, importlib.util, os, bigpkg
checked = []
for f in importlib.metadata.distribution("bigpkg").files:
    if f.hash is None:
        continue
    p = f.locate()
    with open(p, "rb") as fh:
        digest = base64.urlsafe_b64encode(hashlib.sha256(fh.read()).digest()).rstrip(b"=").decode()
    assert digest == f.hash.value and os.path.getsize(p) == f.size, str(f)
    checked.append(os.path.basename(str(f)))
print(bigpkg.VALUE, os.path.exists(importlib.util.cache_from_source(bigpkg.__file__)), " ".join(sorted(checked)))
`
	out, errOut, code, err := bed.Run(context.Background(), image, "linux/amd64", []string{"python", "-c", check}, nil)
	if err != nil || code != 0 {
		t.Fatalf("checking the split wheel in the image: %v, exit %d, %s", err, code, errOut)
	}
	for _, want := range []string{"42 True ", "blob0.bin blob1.bin blob2.bin blob3.bin blob4.bin", "METADATA"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("got %q, want it to contain %q", out, want)
		}
	}
}
