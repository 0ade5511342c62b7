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

// bigWheel writes a wheel of more than 256 MiB (stored, not deflated, so
// the file is that big) with five 56 MiB data files, each its own bytes,
// and returns its path, its sha256 and its size, taken as it is written.
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
	add := func(path string, chunks ...[]byte) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Store})
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
	add(name+"/__init__.py", []byte("VALUE = 42\n"))
	zeros := make([]byte, 1<<20)
	for i := 0; i < 5; i++ {
		chunks := [][]byte{[]byte(fmt.Sprintf("blob %d\n", i))}
		for j := 0; j < 56; j++ {
			chunks = append(chunks, zeros)
		}
		add(fmt.Sprintf("%s/data/blob%d.bin", name, i), chunks...)
	}
	add(distInfo+"/METADATA", []byte(bigMetadata))
	add(distInfo+"/WHEEL", []byte("Wheel-Version: 1.0\nGenerator: envbuild-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	add(distInfo+"/RECORD", []byte(record.String()))
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

// A wheel file of more than 256 MiB, from an index that gives its size
// (PEP 691 JSON, as PyPI does), is installed in two layers, and the
// environment holds every file the wheel's RECORD lists, with its hash,
// its module compiled.
func TestBuildSplitWheel(t *testing.T) {
	bed := testbed.Require(t)
	dir := t.TempDir()
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
	defer srv.Close()

	// A repository of its own per run: a bed kept between runs already
	// holds the image and its layers.
	repo := fmt.Sprintf("%s/envs/split-%d", bed.Registry, time.Now().UnixNano())
	res := mustBuild(t, dir, nil, "--pypi", "bigpkg==1.0", "--index-url", srv.URL+"/simple", "--base", bed.Base, "--registry", repo)
	if res.LayersBuilt != 2 {
		t.Errorf("built %d package layers, want the wheel's 2 parts", res.LayersBuilt)
	}
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
	out, errOut, code, err := bed.Run(context.Background(), res.Image, "linux/amd64", []string{"python", "-c", check}, nil)
	if err != nil || code != 0 {
		t.Fatalf("checking the split wheel in the image: %v, exit %d, %s", err, code, errOut)
	}
	for _, want := range []string{"42 True ", "blob0.bin blob1.bin blob2.bin blob3.bin blob4.bin", "METADATA"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("got %q, want it to contain %q", out, want)
		}
	}
}
