package integration

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/integration/testbed"
)

// tinyWheel writes a pure-Python wheel whose module holds VALUE = 42.
func tinyWheel(t *testing.T, name, version string) []byte {
	t.Helper()
	files := map[string]string{
		name + "/__init__.py":                        "VALUE = 42\n",
		name + "-" + version + ".dist-info/METADATA": "Metadata-Version: 2.1\nName: " + name + "\nVersion: " + version + "\n",
		name + "-" + version + ".dist-info/WHEEL":    "Wheel-Version: 1.0\nGenerator: envbuild-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range []string{name + "/__init__.py", name + "-" + version + ".dist-info/METADATA", name + "-" + version + ".dist-info/WHEEL"} {
		w, _ := zw.Create(p)
		io.WriteString(w, files[p])
		sum := sha256.Sum256([]byte(files[p]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", p, base64.RawURLEncoding.EncodeToString(sum[:]), len(files[p]))
	}
	recordPath := name + "-" + version + ".dist-info/RECORD"
	fmt.Fprintf(&record, "%s,,\n", recordPath)
	w, _ := zw.Create(recordPath)
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// A package from an index behind HTTP basic auth: the lock is made with
// the URL's credentials, BuildKit downloads the wheel with them (a session
// secret), and the password is in no output, lock, config or layer.
func TestPrivateIndex(t *testing.T) {
	bed := testbed.Require(t)
	const user, password = "envbuild", "Pr1vate-Index-Secret"
	whl := tinyWheel(t, "privpkg", "1.0")
	sum := sha256.Sum256(whl)
	fn := "privpkg-1.0-py3-none-any.whl"
	var fetched int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/simple/privpkg/":
			fmt.Fprintf(w, `<html><body><a href="/files/%s#sha256=%s">%s</a></body></html>`, fn, hex.EncodeToString(sum[:]), fn)
		case "/files/" + fn:
			fetched++
			w.Write(whl)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	indexURL := strings.Replace(srv.URL, "http://", "http://"+user+":"+password+"@", 1) + "/simple"

	dir := t.TempDir()
	r := envbuild(t, dir, nil, "build", "--json", "--progress", "plain", "--pypi", "privpkg==1.0", "--index-url", indexURL, "--base", bed.Base, "--registry", bed.Registry+"/envs/private")
	if r.code != 0 {
		t.Fatalf("build from the private index failed: %s", r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, password) {
		t.Errorf("the index password is in envbuild's output")
	}
	var res result
	if err := jsonUnmarshal(r.stdout, &res); err != nil {
		t.Fatal(err)
	}
	if fetched == 0 {
		t.Errorf("BuildKit never fetched the wheel from the private index")
	}
	out, errOut, code, err := bed.Run(context.Background(), res.Image, "linux/amd64", []string{"python", "-c", "import privpkg; print(privpkg.VALUE)"}, nil)
	if err != nil || code != 0 || strings.TrimSpace(string(out)) != "42" {
		t.Errorf("privpkg from the private index: %v exit %d %q %q", err, code, out, errOut)
	}
	lock, _ := os.ReadFile(filepath.Join(dir, "envbuild.lock"))
	if strings.Contains(string(lock), password) {
		t.Errorf("the index password is in the lock")
	}
	cfg, err := image(t, res.Image).RawConfigFile()
	if err != nil || strings.Contains(string(cfg), password) {
		t.Errorf("the index password is in the image config (%v)", err)
	}
	ls, _ := image(t, res.Image).Layers()
	for i, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(rc)
		rc.Close()
		if bytes.Contains(data, []byte(password)) {
			t.Errorf("the index password is in layer %d", i)
		}
	}
}
