package index

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is one request the fake index saw.
type served struct {
	method, path, accept, rng, ifNoneMatch, auth string
}

// fakeIndex is an httptest server written by the tests: it serves
// project pages and files from maps, records every request, and lets a
// test replace the handling of any path.
type fakeIndex struct {
	t     *testing.T
	srv   *httptest.Server
	mu    sync.Mutex
	seen  []served
	pages map[string]func(w http.ResponseWriter, r *http.Request) // "/simple/NAME/"
	files map[string][]byte                                       // path → content
	// ignoreRange serves files with 200 whatever the Range header says.
	ignoreRange bool
	// auth, when set, must accept a request or it gets 401.
	auth func(r *http.Request) bool
}

var fixedTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func newFakeIndex(t *testing.T) *fakeIndex {
	fi := &fakeIndex{t: t, pages: map[string]func(http.ResponseWriter, *http.Request){}, files: map[string][]byte{}}
	fi.srv = httptest.NewServer(http.HandlerFunc(fi.serve))
	t.Cleanup(fi.srv.Close)
	return fi
}

func (fi *fakeIndex) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	auth := ""
	if user != "" {
		auth = user + ":" + pass
	}
	fi.mu.Lock()
	fi.seen = append(fi.seen, served{r.Method, r.URL.Path, r.Header.Get("Accept"), r.Header.Get("Range"), r.Header.Get("If-None-Match"), auth})
	page := fi.pages[r.URL.Path]
	body, isFile := fi.files[r.URL.Path]
	fi.mu.Unlock()
	if fi.auth != nil && !fi.auth(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case page != nil:
		page(w, r)
	case isFile && fi.ignoreRange:
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body)
	case isFile:
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	default:
		http.NotFound(w, r)
	}
}

// requests returns the requests seen so far and forgets them.
func (fi *fakeIndex) requests() []served {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	s := fi.seen
	fi.seen = nil
	return s
}

// url is the server root plus p.
func (fi *fakeIndex) url(p string) string { return fi.srv.URL + p }

// json serves a fixed PEP 691 page at /simple/NAME/ (with headers).
func (fi *fakeIndex) json(name, body string, headers ...string) {
	fi.page(name, mediaJSON, body, headers...)
}

// html serves a fixed PEP 503 page at /simple/NAME/.
func (fi *fakeIndex) html(name, body string, headers ...string) {
	fi.page(name, "text/html; charset=utf-8", body, headers...)
}

func (fi *fakeIndex) page(name, contentType, body string, headers ...string) {
	fi.pages["/simple/"+name+"/"] = func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", contentType)
		w.Write([]byte(body))
	}
}

// wheel is a tiny wheel the tests build.
type wheel struct {
	filename string
	data     []byte
	sha256   string
	metadata string
}

// makeWheel builds NAME-VERSION-py3-none-any.whl whose METADATA is
// metadata, with padding members so the central directory is not tiny.
func makeWheel(t *testing.T, name, version, metadata string, padding int) wheel {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	dist := strings.ReplaceAll(name, "-", "_") + "-" + version
	add := func(path, content string) {
		w, err := zw.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	add(strings.ReplaceAll(name, "-", "_")+"/__init__.py", "")
	for i := 0; i < padding; i++ {
		add(fmt.Sprintf("%s/data/file%05d.txt", strings.ReplaceAll(name, "-", "_"), i), strings.Repeat("x", i%50))
	}
	add(dist+".dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
	add(dist+".dist-info/METADATA", metadata)
	add(dist+".dist-info/RECORD", "")
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return wheel{filename: dist + "-py3-none-any.whl", data: buf.Bytes(), sha256: sha256hex(buf.Bytes()), metadata: metadata}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func simpleMetadata(name, version string, requires ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	for _, r := range requires {
		fmt.Fprintf(&b, "Requires-Dist: %s\n", r)
	}
	b.WriteString("\nA description.\n")
	return b.String()
}

// newTestClient returns a client with short timeouts and backoff.
func newTestClient(t *testing.T, opts Options) (*Client, *strings.Builder) {
	t.Helper()
	var log strings.Builder
	if opts.CacheDir == "" {
		opts.CacheDir = t.TempDir()
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Netrc == "" {
		opts.Netrc = "/nonexistent/netrc"
	}
	opts.backoff = time.Millisecond
	if opts.Log == nil {
		opts.Log = &syncWriter{b: &log}
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, &log
}

type syncWriter struct {
	mu sync.Mutex
	b  *strings.Builder
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// grepDir returns the first file under dir containing s, or "".
func grepDir(t *testing.T, dir, s string) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte(s)) {
			found = p
		}
		return nil
	})
	return found
}
