package app

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// wheelFixture is one pure-Python wheel the test index serves.
type wheelFixture struct {
	name, version  string
	requires       []string // Requires-Dist
	requiresPython string
}

func (w wheelFixture) filename() string {
	return strings.ReplaceAll(w.name, "-", "_") + "-" + w.version + "-py3-none-any.whl"
}

func (w wheelFixture) metadata() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", w.name, w.version)
	if w.requiresPython != "" {
		fmt.Fprintf(&b, "Requires-Python: %s\n", w.requiresPython)
	}
	for _, r := range w.requires {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	return b.String() + "\nA test package.\n"
}

// body is the wheel: byte-stable, so its sha256 in the lock is too.
func (w wheelFixture) body() []byte {
	mod := strings.ReplaceAll(w.name, "-", "_")
	dist := mod + "-" + w.version + ".dist-info/"
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	stamp := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range [][2]string{
		{mod + "/__init__.py", fmt.Sprintf("VERSION = %q\n", w.version)},
		{dist + "METADATA", w.metadata()},
		{dist + "WHEEL", "Wheel-Version: 1.0\nGenerator: envbuild-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{dist + "RECORD", ""},
	} {
		fw, _ := zw.CreateHeader(&zip.FileHeader{Name: f[0], Method: zip.Store, Modified: stamp})
		fw.Write([]byte(f[1]))
	}
	zw.Close()
	return buf.Bytes()
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// pypiIndex serves wheels as a PEP 691 JSON index with PEP 658 metadata,
// at URL/simple.
func pypiIndex(t *testing.T, wheels []wheelFixture) string {
	t.Helper()
	byName := map[string][]wheelFixture{}
	files := map[string][]byte{}
	for _, w := range wheels {
		byName[w.name] = append(byName[w.name], w)
		files[w.filename()] = w.body()
		files[w.filename()+".metadata"] = []byte(w.metadata())
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/simple/"); ok {
			ws, ok := byName[strings.Trim(name, "/")]
			if !ok {
				http.NotFound(rw, r)
				return
			}
			var out []map[string]any
			for _, w := range ws {
				f := map[string]any{
					"filename":      w.filename(),
					"url":           "../../files/" + w.filename(),
					"hashes":        map[string]string{"sha256": sha256hex(files[w.filename()])},
					"core-metadata": map[string]string{"sha256": sha256hex(files[w.filename()+".metadata"])},
					"yanked":        false,
					"size":          len(files[w.filename()]),
					"upload-time":   "2024-01-01T00:00:00.000000Z",
				}
				if w.requiresPython != "" {
					f["requires-python"] = w.requiresPython
				}
				out = append(out, f)
			}
			rw.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
			json.NewEncoder(rw).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": name, "files": out})
			return
		}
		if name, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
			if b, ok := files[name]; ok {
				http.ServeContent(rw, r, name, time.Time{}, bytes.NewReader(b))
				return
			}
		}
		http.NotFound(rw, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/simple"
}
