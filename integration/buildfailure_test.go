package integration

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envbuild/envbuild/integration/testbed"
)

// wheelIndex serves wheels (file name → bytes) as a PEP 503 index; while
// *fail is true, the files themselves answer 503.
func wheelIndex(t *testing.T, wheels map[string][]byte, fail *atomic.Bool) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.URL.Path, "/simple/"); ok {
			name = strings.Trim(name, "/")
			var links strings.Builder
			for fn, b := range wheels {
				if strings.HasPrefix(fn, strings.ReplaceAll(name, "-", "_")+"-") {
					sum := sha256.Sum256(b)
					fmt.Fprintf(&links, `<a href="/files/%s#sha256=%s">%s</a>`, fn, hex.EncodeToString(sum[:]), fn)
				}
			}
			if links.Len() == 0 {
				http.NotFound(w, r)
				return
			}
			fmt.Fprintf(w, "<html><body>%s</body></html>", links.String())
			return
		}
		if fn, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok && wheels[fn] != nil {
			if fail != nil && fail.Load() {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			w.Write(wheels[fn])
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/simple"
}

// hostileWheel is tinyWheel with one more entry that leaves the prefix.
func hostileWheel(t *testing.T, name, version string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(tinyWheel(t, name, version)), int64(len(tinyWheel(t, name, version))))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		w, _ := zw.Create(f.Name)
		rc, _ := f.Open()
		io.Copy(w, rc)
		rc.Close()
	}
	w, _ := zw.Create("../../../../etc/envbuild-evil.py")
	io.WriteString(w, "EVIL = 1\n")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A package the installer refuses fails the build with the installer's own
// reason in the error, with --progress quiet too (it used to say only that
// a process exited with 1); a download failing inside BuildKit is reported
// as a download, not as a push. Neither leaves a tag.
func TestBuildFailureReasons(t *testing.T) {
	bed := testbed.Require(t)
	ns := uniqueName(t)

	t.Run("refused wheel, quiet", func(t *testing.T) {
		fn := "evilpkg-1.0-py3-none-any.whl"
		index := wheelIndex(t, map[string][]byte{fn: hostileWheel(t, "evilpkg", "1.0")}, nil)
		repo := bed.Registry + "/" + ns + "/evil"
		r := envbuild(t, t.TempDir(), nil, "build", "--progress", "quiet", "--pypi", "evilpkg==1.0", "--index-url", index, "--base", bed.Base, "--registry", repo)
		last := lastLine(r.stderr)
		if r.code != 1 || !strings.Contains(last, "envbuild installer:") || !strings.Contains(last, "envbuild-evil.py") || !strings.Contains(last, "evilpkg") {
			t.Errorf("exit %d, last line %q; want 1 and the installer's reason", r.code, last)
		}
		if tags := listTags(t, repo); len(tags) != 0 {
			t.Errorf("a failed build left %v", tags)
		}
	})

	t.Run("download fails inside BuildKit", func(t *testing.T) {
		var fail atomic.Bool
		fn := "dlpkg-1.0-py3-none-any.whl"
		index := wheelIndex(t, map[string][]byte{fn: tinyWheel(t, "dlpkg", "1.0")}, &fail)
		dir := t.TempDir()
		if r := envbuild(t, dir, nil, "lock", "--pypi", "dlpkg==1.0", "--index-url", index, "--base", bed.Base); r.code != 0 {
			t.Fatalf("lock: exit %d\n%s", r.code, r.stderr)
		}
		fail.Store(true)
		repo := bed.Registry + "/" + ns + "/dl"
		r := envbuild(t, dir, nil, "build", "--progress", "quiet", "--pypi", "dlpkg==1.0", "--index-url", index, "--base", bed.Base, "--registry", repo)
		last := lastLine(r.stderr)
		if r.code != 4 || !strings.Contains(last, "downloading "+fn) || strings.Contains(last, "pushing") {
			t.Errorf("exit %d, last line %q; want 4 and the download named, not a push", r.code, last)
		}
		if tags := listTags(t, repo); len(tags) != 0 {
			t.Errorf("a failed build left %v", tags)
		}
		fail.Store(false)
		if again := envbuild(t, dir, nil, "build", "--progress", "quiet", "--pypi", "dlpkg==1.0", "--index-url", index, "--base", bed.Base, "--registry", repo); again.code != 0 {
			t.Errorf("the rerun failed: exit %d\n%s", again.code, tail(again.stderr, 10))
		}
	})
}
