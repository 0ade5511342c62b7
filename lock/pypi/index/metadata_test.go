package index

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

// publish lists w on fi's project page for name; metadataHash is the
// advertised core-metadata: "" none, "true", or a sha256.
func publish(fi *fakeIndex, name string, metadataHash string, ws ...wheel) {
	var files []string
	for _, w := range ws {
		fi.files["/files/"+w.filename] = w.data
		md := ""
		switch metadataHash {
		case "":
		case "true":
			md = `,"core-metadata":true`
		default:
			md = `,"core-metadata":{"sha256":"` + metadataHash + `"}`
		}
		files = append(files, fmt.Sprintf(`{"filename":%q,"url":"/files/%s","hashes":{"sha256":%q},"size":%d%s}`, w.filename, w.filename, w.sha256, len(w.data), md))
	}
	fi.json(name, `{"meta":{"api-version":"1.1"},"files":[`+strings.Join(files, ",")+`]}`)
}

func fileNamed(t *testing.T, c *Client, project, filename string) File {
	t.Helper()
	p, err := c.Project(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range p.Files {
		if f.Filename == filename {
			return f
		}
	}
	t.Fatalf("%s not in %s's files", filename, project)
	return File{}
}

var fullMetadata = `Metadata-Version: 2.1
Name: Demo_Pkg
Version: 1.0
Summary: a demo
Requires-Python: >=3.8
Requires-Dist: idna>=2.5
Requires-Dist: PySocks!=1.5.7,>=1.5.6; extra == 'socks'
Requires-Dist: long-name
  >=1.0
Provides-Extra: socks
Description: first line
        |second line

Body text: Requires-Dist: not-a-dep
`

func TestMetadataFromPEP658File(t *testing.T) {
	fi := newFakeIndex(t)
	w := makeWheel(t, "demo-pkg", "1.0", fullMetadata, 0)
	fi.files["/files/"+w.filename+".metadata"] = []byte(fullMetadata)
	publish(fi, "demo-pkg", sha256hex([]byte(fullMetadata)), w)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	f := fileNamed(t, c, "demo-pkg", w.filename)
	fi.requests()
	md, err := c.Metadata(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	want := &Metadata{
		Name: "Demo_Pkg", Version: "1.0",
		RequiresDist:   []string{"idna>=2.5", "PySocks!=1.5.7,>=1.5.6; extra == 'socks'", "long-name >=1.0"},
		RequiresPython: ">=3.8",
		ProvidesExtra:  []string{"socks"},
	}
	if !reflect.DeepEqual(md, want) {
		t.Errorf("got %+v, want %+v", md, want)
	}
	reqs := fi.requests()
	if len(reqs) != 1 || reqs[0].path != "/files/"+w.filename+".metadata" {
		t.Errorf("got requests %+v, want only the .metadata file", reqs)
	}
}

func TestMetadataWrongHash(t *testing.T) {
	fi := newFakeIndex(t)
	w := makeWheel(t, "demo-pkg", "1.0", fullMetadata, 0)
	fi.files["/files/"+w.filename+".metadata"] = []byte(fullMetadata)
	publish(fi, "demo-pkg", strings.Repeat("0", 64), w)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	_, err := c.Metadata(ctx, fileNamed(t, c, "demo-pkg", w.filename))
	want := "the metadata file of " + w.filename + " from " + fi.url("/files/"+w.filename+".metadata") + " does not match the hash the index published: its sha256 is " + sha256hex([]byte(fullMetadata)) + ", the index published " + strings.Repeat("0", 64)
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// A hash mismatch is exit 1 at lock and at build time: the artifact
	// does not match what it was declared to be, which retrying does not
	// change (docs/reference.md, exit codes).
	if failure.KindOf(err) != failure.KindUser {
		t.Errorf("got kind %v, want 1 (the artifact does not match)", failure.KindOf(err))
	}
}

func TestMetadataByRangeRequests(t *testing.T) {
	for _, padding := range []int{0, 3000} {
		t.Run(fmt.Sprintf("padding %d", padding), func(t *testing.T) {
			fi := newFakeIndex(t)
			w := makeWheel(t, "demo-pkg", "1.0", fullMetadata, padding)
			w2 := makeWheel(t, "demo-pkg", "2.0", simpleMetadata("demo-pkg", "2.0", "idna"), padding)
			publish(fi, "demo-pkg", "", w, w2)
			c, log := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
			f, f2 := fileNamed(t, c, "demo-pkg", w.filename), fileNamed(t, c, "demo-pkg", w2.filename)
			fi.requests()
			md, err := c.Metadata(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			if md.Version != "1.0" || len(md.RequiresDist) != 3 {
				t.Errorf("got %+v, want version 1.0 with 3 requirements", md)
			}
			reqs := fi.requests()
			if reqs[0].path != "/files/"+w.filename+".metadata" {
				t.Errorf("first request %+v, want a probe for the .metadata file", reqs[0])
			}
			ranged := 0
			for _, r := range reqs[1:] {
				if r.rng == "" {
					t.Errorf("request %+v without Range: the wheel was downloaded whole", r)
				}
				ranged++
			}
			if ranged < 1 || ranged > 3 {
				t.Errorf("got %d range requests, want 1 to 3 (wheel of %d bytes): %+v", ranged, len(w.data), reqs)
			}
			if _, err := c.Metadata(ctx, f2); err != nil {
				t.Fatal(err)
			}
			for _, r := range fi.requests() {
				if strings.HasSuffix(r.path, ".metadata") {
					t.Errorf("probed %s again on a host that has no metadata files", r.path)
				}
			}
			if strings.Contains(log.String(), "downloading") {
				t.Errorf("log says something was downloaded:\n%s", log.String())
			}
		})
	}
}

func TestMetadataServerIgnoresRange(t *testing.T) {
	fi := newFakeIndex(t)
	fi.ignoreRange = true
	w := makeWheel(t, "demo-pkg", "1.0", fullMetadata, 100)
	publish(fi, "demo-pkg", "", w)
	c, log := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	md, err := c.Metadata(ctx, fileNamed(t, c, "demo-pkg", w.filename))
	if err != nil {
		t.Fatal(err)
	}
	if md.Name != "Demo_Pkg" {
		t.Errorf("got name %q, want Demo_Pkg", md.Name)
	}
	if want := "ignores range requests"; !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}
	wheelGets := 0
	for _, r := range fi.requests() {
		if r.path == "/files/"+w.filename {
			wheelGets++
		}
	}
	if wheelGets != 1 {
		t.Errorf("the wheel was fetched %d times, want once (the answer to the range request is the whole file)", wheelGets)
	}
	// The next wheel on that host is downloaded without trying ranges.
	w2 := makeWheel(t, "demo-pkg", "2.0", simpleMetadata("demo-pkg", "2.0"), 0)
	publish(fi, "demo-pkg2", "", w2)
	if _, err := c.Metadata(ctx, fileNamed(t, c, "demo-pkg2", w2.filename)); err != nil {
		t.Fatal(err)
	}
	for _, r := range fi.requests() {
		if r.rng != "" {
			t.Errorf("asked for a range (%s) again from a server that ignores them", r.rng)
		}
	}
}

func TestMetadataDownloadHashMismatch(t *testing.T) {
	fi := newFakeIndex(t)
	fi.ignoreRange = true
	w := makeWheel(t, "demo-pkg", "1.0", fullMetadata, 0)
	good := w.sha256
	w.sha256 = strings.Repeat("f", 64)
	publish(fi, "demo-pkg", "", w)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	_, err := c.Metadata(ctx, fileNamed(t, c, "demo-pkg", w.filename))
	want := "the sha256 of " + w.filename + " from " + fi.url("/files/"+w.filename) + " is " + good + ", the index published " + w.sha256 + "; the file changed or was corrupted"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if failure.KindOf(err) != failure.KindUser {
		t.Errorf("got kind %v, want 1 (the artifact does not match)", failure.KindOf(err))
	}
}

func TestMetadataContradictsFilename(t *testing.T) {
	fi := newFakeIndex(t)
	w := makeWheel(t, "demo-pkg", "1.0", simpleMetadata("demo-pkg", "1.1"), 0)
	publish(fi, "demo-pkg", "", w)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	_, err := c.Metadata(ctx, fileNamed(t, c, "demo-pkg", w.filename))
	want := "the metadata of demo_pkg-1.0-py3-none-any.whl says it is demo-pkg 1.1, which contradicts the file name; the index serves inconsistent files"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

func TestMetadataDiskCacheAndOffline(t *testing.T) {
	fi := newFakeIndex(t)
	w := makeWheel(t, "demo-pkg", "1.0", fullMetadata, 0)
	publish(fi, "demo-pkg", "", w)
	dir := t.TempDir()
	c1, _ := newTestClient(t, Options{CacheDir: dir, Indexes: []Index{{URL: fi.url("/simple")}}})
	f := fileNamed(t, c1, "demo-pkg", w.filename)
	want, err := c1.Metadata(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	fi.requests()
	c2, _ := newTestClient(t, Options{CacheDir: dir, Offline: true, Indexes: []Index{{URL: fi.url("/simple")}}})
	got, err := c2.Metadata(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the cache got %+v, want %+v", got, want)
	}
	if n := len(fi.requests()); n != 0 {
		t.Errorf("got %d requests for cached metadata, want 0", n)
	}
	other := f
	other.URL += "x"
	if _, err := c2.Metadata(ctx, other); err == nil || !strings.Contains(err.Error(), "--offline forbids asking the index") {
		t.Errorf("got %v for uncached metadata offline, want an error naming --offline", err)
	}
}

func makeSdist(t *testing.T, name, version, pkgInfo string, asZip bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	top := name + "-" + version
	if asZip {
		zw := zip.NewWriter(&buf)
		for p, c := range map[string]string{top + "/setup.py": "", top + "/PKG-INFO": pkgInfo, top + "/src/x/PKG-INFO": "junk"} {
			w, _ := zw.Create(p)
			w.Write([]byte(c))
		}
		zw.Close()
		return buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range [][2]string{{top + "/src/x/PKG-INFO", "junk"}, {top + "/PKG-INFO", pkgInfo}} {
		tw.WriteHeader(&tar.Header{Name: e[0], Mode: 0o644, Size: int64(len(e[1])), Typeflag: tar.TypeReg})
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

func TestMetadataFromSdist(t *testing.T) {
	tests := []struct {
		name, pkgInfo string
		zip           bool
		wantErr       string
	}{
		{"2.2 static tar.gz", "Metadata-Version: 2.2\nName: sd\nVersion: 1.0\nRequires-Dist: idna\nDynamic: Description\n", false, ""},
		{"2.4 static zip", "Metadata-Version: 2.4\nName: sd\nVersion: 1.0\nRequires-Dist: idna\n", true, ""},
		{"2.1", "Metadata-Version: 2.1\nName: sd\nVersion: 1.0\nRequires-Dist: idna\n", false,
			`reading the dependencies of sd-1.0.tar.gz: its Metadata-Version is "2.1", older than 2.2, so only a build would tell: dependencies are only known after a build; pick a version with a wheel`},
		{"dynamic requires-dist", "Metadata-Version: 2.3\nName: sd\nVersion: 1.0\nDynamic: Requires-Dist\n", false,
			`reading the dependencies of sd-1.0.tar.gz: it declares Requires-Dist as Dynamic, so only a build would tell: dependencies are only known after a build; pick a version with a wheel`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi := newFakeIndex(t)
			ext := ".tar.gz"
			if tt.zip {
				ext = ".zip"
			}
			data := makeSdist(t, "sd", "1.0", tt.pkgInfo, tt.zip)
			fi.files["/files/sd-1.0"+ext] = data
			fi.json("sd", `{"meta":{"api-version":"1.0"},"files":[{"filename":"sd-1.0`+ext+`","url":"/files/sd-1.0`+ext+`","hashes":{"sha256":"`+sha256hex(data)+`"}}]}`)
			c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
			md, err := c.Metadata(ctx, fileNamed(t, c, "sd", "sd-1.0"+ext))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(md.RequiresDist, []string{"idna"}) {
					t.Errorf("got requires %v, want [idna]", md.RequiresDist)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got %v\nwant %s", err, tt.wantErr)
			}
			if !errors.Is(err, ErrDynamicMetadata) || failure.KindOf(err) != failure.KindUser {
				t.Errorf("got kind %v, Is ErrDynamicMetadata %v; want a user error matching it", failure.KindOf(err), errors.Is(err, ErrDynamicMetadata))
			}
		})
	}
}
