package pypi

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// dist is one file a fake index serves.
type dist struct {
	filename       string
	requiresPython string
	yanked         string // "" not yanked; "yes" yanked without reason; else the reason
	uploaded       time.Time
	noHash         bool   // the page gives no sha256 for the file
	noMetadata     bool   // no PEP 658 file
	metadataBody   string // served as the .metadata file instead of the wheel's own
	metadataHash   string // published as the .metadata hash instead of the right one
	body           []byte
}

// wheel builds a tiny wheel whose METADATA carries the given fields:
// "Requires-Dist: x", "Requires-Python: >=3.12", "Provides-Extra: y".
func wheel(t *testing.T, filename string, fields ...string) *dist {
	t.Helper()
	parts := strings.Split(strings.TrimSuffix(filename, ".whl"), "-")
	name, version := parts[0], parts[1]
	md := metadataText(name, version, fields...)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	stamp := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct{ name, body string }{
		{name + "/__init__.py", "VERSION = " + fmt.Sprintf("%q", version) + "\n"},
		{name + "-" + version + ".dist-info/METADATA", md},
		{name + "-" + version + ".dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: envbuild-test\nRoot-Is-Purelib: true\nTag: " + strings.Join(parts[len(parts)-3:], "-") + "\n"},
		{name + "-" + version + ".dist-info/RECORD", ""},
	} {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: stamp})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f.body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	d := &dist{filename: filename, body: buf.Bytes(), uploaded: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	for _, f := range fields {
		if v, ok := strings.CutPrefix(f, "Requires-Python: "); ok {
			d.requiresPython = v
		}
	}
	return d
}

func metadataText(name, version string, fields ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	for _, f := range fields {
		b.WriteString(f + "\n")
	}
	b.WriteString("\nA test package.\n")
	return b.String()
}

// sdist builds a source distribution whose PKG-INFO has the given
// metadata version and fields.
func sdist(t *testing.T, filename, metadataVersion string, fields ...string) *dist {
	t.Helper()
	stem := strings.TrimSuffix(filename, ".tar.gz")
	name, version, _ := strings.Cut(stem, "-")
	pkgInfo := strings.Replace(metadataText(name, version, fields...), "Metadata-Version: 2.1", "Metadata-Version: "+metadataVersion, 1)
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	stamp := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range []struct{ name, body string }{
		{stem + "/PKG-INFO", pkgInfo},
		{stem + "/pyproject.toml", "[project]\nname = \"" + name + "\"\n"},
	} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), ModTime: stamp}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	tw.Close()
	gz.Close()
	return &dist{filename: filename, body: buf.Bytes(), uploaded: stamp, noMetadata: true}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeIndex is a PEP 691 index served on 127.0.0.1.
type fakeIndex struct {
	t        *testing.T
	srv      *httptest.Server
	projects map[string][]*dist
	user     string // basic auth, when set
	pass     string
	status   int           // answer every project page with this status, when set
	hang     time.Duration // wait this long before answering a project page
	html     bool          // serve PEP 503 HTML instead of PEP 691 JSON
	mu       sync.Mutex
	requests []string
}

func newFakeIndex(t *testing.T, projects map[string][]*dist) *fakeIndex {
	f := &fakeIndex{t: t, projects: projects}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// url is the simple root, with credentials when given.
func (f *fakeIndex) url(user, pass string) string {
	if user == "" {
		return f.srv.URL + "/simple"
	}
	return strings.Replace(f.srv.URL, "http://", "http://"+user+":"+pass+"@", 1) + "/simple"
}

func (f *fakeIndex) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.URL.Path)
	f.mu.Unlock()
	if f.user != "" {
		u, p, ok := r.BasicAuth()
		if !ok || u != f.user || p != f.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/simple/"):
		if f.hang > 0 {
			select {
			case <-time.After(f.hang):
			case <-r.Context().Done():
				return
			}
		}
		if f.status != 0 {
			http.Error(w, "broken", f.status)
			return
		}
		f.page(w, strings.Trim(strings.TrimPrefix(r.URL.Path, "/simple/"), "/"))
	case strings.HasPrefix(r.URL.Path, "/files/"):
		name := strings.TrimPrefix(r.URL.Path, "/files/")
		for _, ds := range f.projects {
			for _, d := range ds {
				switch name {
				case d.filename:
					http.ServeContent(w, r, d.filename, d.uploaded, bytes.NewReader(d.body))
					return
				case d.filename + ".metadata":
					if d.noMetadata {
						break
					}
					w.Write([]byte(d.metadata()))
					return
				}
			}
		}
		http.NotFound(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (d *dist) metadata() string {
	if d.metadataBody != "" {
		return d.metadataBody
	}
	zr, err := zip.NewReader(bytes.NewReader(d.body), int64(len(d.body)))
	if err != nil {
		return ""
	}
	for _, zf := range zr.File {
		if strings.HasSuffix(zf.Name, ".dist-info/METADATA") {
			rc, _ := zf.Open()
			var b bytes.Buffer
			b.ReadFrom(rc)
			rc.Close()
			return b.String()
		}
	}
	return ""
}

func (f *fakeIndex) page(w http.ResponseWriter, name string) {
	ds, ok := f.projects[name]
	if !ok {
		http.NotFound(w, nil)
		return
	}
	type file struct {
		Filename       string            `json:"filename"`
		URL            string            `json:"url"`
		Hashes         map[string]string `json:"hashes"`
		RequiresPython *string           `json:"requires-python,omitempty"`
		CoreMetadata   any               `json:"core-metadata,omitempty"`
		Yanked         any               `json:"yanked"`
		Size           int64             `json:"size"`
		UploadTime     string            `json:"upload-time"`
	}
	if f.html {
		f.htmlPage(w, name, ds)
		return
	}
	var files []file
	for _, d := range ds {
		fl := file{Filename: d.filename, URL: "../../files/" + d.filename, Hashes: map[string]string{}, Yanked: false,
			Size: int64(len(d.body)), UploadTime: d.uploaded.UTC().Format("2006-01-02T15:04:05.000000Z")}
		if !d.noHash {
			fl.Hashes["sha256"] = sha(d.body)
		}
		if d.requiresPython != "" {
			rp := d.requiresPython
			fl.RequiresPython = &rp
		}
		if !d.noMetadata && strings.HasSuffix(d.filename, ".whl") {
			h := sha([]byte(d.metadata()))
			if d.metadataHash != "" {
				h = d.metadataHash
			}
			fl.CoreMetadata = map[string]string{"sha256": h}
		}
		switch d.yanked {
		case "":
		case "yes":
			fl.Yanked = true
		default:
			fl.Yanked = d.yanked
		}
		files = append(files, fl)
	}
	w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
	json.NewEncoder(w).Encode(map[string]any{"meta": map[string]string{"api-version": "1.1"}, "name": name, "files": files})
}

func (f *fakeIndex) htmlPage(w http.ResponseWriter, name string, ds []*dist) {
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Links for %s</title></head><body>\n", name)
	for _, d := range ds {
		href := "../../files/" + d.filename
		if !d.noHash {
			href += "#sha256=" + sha(d.body)
		}
		attrs := ""
		if d.requiresPython != "" {
			attrs += fmt.Sprintf(" data-requires-python=\"%s\"", html.EscapeString(d.requiresPython))
		}
		if d.yanked != "" {
			attrs += fmt.Sprintf(" data-yanked=\"%s\"", html.EscapeString(strings.TrimPrefix(d.yanked, "yes")))
		}
		if !d.noMetadata && strings.HasSuffix(d.filename, ".whl") {
			attrs += " data-core-metadata=\"sha256=" + sha([]byte(d.metadata())) + "\""
		}
		fmt.Fprintf(&b, "<a href=\"%s\"%s>%s</a><br/>\n", href, attrs, d.filename)
	}
	b.WriteString("</body></html>\n")
	w.Header().Set("Content-Type", "text/html")
	w.Write([]byte(b.String()))
}
