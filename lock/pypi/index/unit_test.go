package index

import (
	"archive/zip"
	"bytes"
	"fmt"
	"reflect"
	"testing"
	"time"
)

func TestParseCoreMetadata(t *testing.T) {
	text := "Metadata-Version: 2.1\r\nName: pkg\r\nVersion: 1.0\r\n" +
		"Requires-Dist: a>=1\r\nrequires-dist: b; extra == \"x\"\r\n" +
		"Requires-Dist: c\r\n  [d]\r\n" +
		"Provides-Extra: x\r\nProvides-Extra: Y_Z\r\n" +
		"Description: one\r\n        |two\r\n\r\nRequires-Dist: in-the-body\r\n"
	md, err := parseCoreMetadata([]byte("\xef\xbb\xbf" + text))
	if err != nil {
		t.Fatal(err)
	}
	got := md.metadata()
	want := &Metadata{Name: "pkg", Version: "1.0", RequiresDist: []string{"a>=1", `b; extra == "x"`, "c [d]"}, ProvidesExtra: []string{"x", "Y_Z"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "Name: x\n", " lead\nName: x\nVersion: 1\n", "Name: x\nVersion 1\n"} {
		if _, err := parseCoreMetadata([]byte(bad)); err == nil {
			t.Errorf("parseCoreMetadata(%q) gave no error", bad)
		}
	}
}

func TestSameVersion(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"1.0", "1.0", true},
		{"1.0", "1.0.0", true},
		{"1.0", "1", true},
		{"v1.0", "1.0", true},
		{"1.0rc1", "1.0-RC1", true},
		{"1.0rc1", "1.0c1", true},
		{"1.0rc1", "1.0.pre1", true},
		{"1.0a1", "1.0alpha1", true},
		{"1.0b2", "1.0-beta.2", true},
		{"1.0a", "1.0a0", true},
		{"1.0.post1", "1.0-1", true},
		{"1.0.post1", "1.0-r1", true},
		{"1.0.post1", "1.0rev1", true},
		{"1.0.dev0", "1.0dev", true},
		{"1.0+ubuntu.1", "1.0+ubuntu-1", true},
		{"01.002", "1.2", true},
		{"1!2.0", "1!2.0.0", true},
		{"1.0", "1.1", false},
		{"1.0", "1.0.1", false},
		{"1.0a1", "1.0b1", false},
		{"1.0", "1.0.post0", false},
		{"1.0+a", "1.0", false},
		{"10.0", "1.0", false},
		{"1!1.0", "1.0", false},
	}
	for _, tt := range tests {
		if got := sameVersion(tt.a, tt.b); got != tt.same {
			t.Errorf("sameVersion(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}

func TestDistInfo(t *testing.T) {
	tests := []struct {
		filename, name, version string
		ok                      bool
	}{
		{"foo_bar-1.0-py3-none-any.whl", "foo-bar", "1.0", true},
		{"foo-1.0-1-cp311-cp311-linux_x86_64.whl", "foo", "1.0", true},
		{"Foo.Bar-2.0.tar.gz", "foo-bar", "2.0", true},
		{"foo-bar-2.0.zip", "foo-bar", "2.0", true},
		{"foo-1.0.exe", "", "", false},
		{"bad.whl", "", "", false},
	}
	for _, tt := range tests {
		name, version, ok := distInfo(tt.filename)
		if name != tt.name || version != tt.version || ok != tt.ok {
			t.Errorf("distInfo(%q) = %q, %q, %v; want %q, %q, %v", tt.filename, name, version, ok, tt.name, tt.version, tt.ok)
		}
	}
}

// TestCentralDirectoryZip64 writes a zip with more entries than the
// classic end record can count, which makes archive/zip write zip64
// records, and checks the directory is found from the tail.
func TestCentralDirectoryZip64(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 65536 zip entries")
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < 0x10000; i++ {
		h := &zip.FileHeader{Name: fmt.Sprintf("p/%05d", i), Method: zip.Store}
		if _, err := zw.CreateHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	w, _ := zw.Create("p-1.0.dist-info/METADATA")
	w.Write([]byte("Metadata-Version: 2.1\nName: p\nVersion: 1.0\n"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	tailStart := int64(len(data) - tailSize)
	off, size, ok := centralDirectory(data[tailStart:], tailStart, int64(len(data)))
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		t.Fatal("no central directory found in the tail of a zip64 file")
	}
	// The directory starts at the first entry's header record and ends at
	// the zip64 end record.
	if first, _ := zr.File[0].DataOffset(); off <= 0 || off+size > int64(len(data)) || first > off {
		t.Errorf("got directory at %d size %d in %d bytes (first entry data at %d)", off, size, len(data), first)
	}
	if !bytes.Equal(data[off:off+4], []byte("PK\x01\x02")) {
		t.Errorf("bytes at %d are %q, want a central directory header", off, data[off:off+4])
	}
	md, err := wheelMetadata(zr, "p-1.0-py3-none-any.whl")
	if err != nil || !bytes.Contains(md, []byte("Name: p")) {
		t.Errorf("got %q, %v", md, err)
	}
}

func TestFilesSnapshotRoundTrip(t *testing.T) {
	files := []File{
		{Filename: "a-1.0-py3-none-any.whl", URL: "https://h/a-1.0-py3-none-any.whl", Hashes: map[string]string{"sha256": "ab", "md5": "cd"},
			RequiresPython: ">=3.8", Yanked: true, YankedReason: "bad", UploadTime: time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC),
			Size: 1 << 40, CoreMetadata: true, CoreMetadataHashes: map[string]string{"sha256": "ef"}},
		{Filename: "a-0.1.tar.gz", URL: "https://h/a-0.1.tar.gz"},
	}
	data := encodeFiles(files)
	got, err := decodeFiles(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, files) {
		t.Errorf("got %+v\nwant %+v", got, files)
	}
	for cut := 0; cut < len(data); cut++ {
		if _, err := decodeFiles(data[:cut]); err == nil {
			t.Errorf("decoding the first %d of %d bytes gave no error", cut, len(data))
		}
	}
	if got, err := decodeFiles(encodeFiles(nil)); err != nil || len(got) != 0 {
		t.Errorf("empty list: got %v, %v", got, err)
	}
}
