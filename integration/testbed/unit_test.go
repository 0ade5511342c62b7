package testbed

// Tests of the bed's pure parts; they need no daemon and run with -short.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestDebianMirror(t *testing.T) {
	deb822 := `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
`
	tests := []struct {
		name   string
		uris   []string
		want   string
		wantOK bool
	}{
		{"deb822", deb822URIs(deb822), "http://deb.debian.org/debian", true},
		{"security first", deb822URIs("URIs: http://m.example/debian-security\nURIs: http://m.example/debian/\n"), "http://m.example/debian", true},
		{"sources.list", sourcesListURIs("# c\ndeb [arch=amd64 signed-by=/k.gpg] https://m.example/debian bookworm main\ndeb-src http://x/debian bookworm main\n"), "https://m.example/debian", true},
		{"no debian mirror", []string{"http://archive.ubuntu.com/ubuntu"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := debianMirror(tt.uris)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("debianMirror(%q): got %q, %v; want %q, %v", tt.uris, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestDebianArgs(t *testing.T) {
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	tests := []struct {
		arch        string
		wantForeign bool
	}{
		{runtime.GOARCH, false},
		{other, true},
	}
	for _, tt := range tests {
		got := debianArgs(tt.arch, "http://m/debian")
		if foreign := slices.Contains(got, "--foreign"); foreign != tt.wantForeign {
			t.Errorf("debianArgs(%q): got %q, want --foreign %v", tt.arch, got, tt.wantForeign)
		}
		if tail := got[len(got)-3:]; !reflect.DeepEqual(tail, []string{"bookworm", "ROOT", "http://m/debian"}) {
			t.Errorf("debianArgs(%q): got tail %q, want suite, ROOT, mirror", tt.arch, tail)
		}
		if !slices.Contains(got, "--arch="+tt.arch) || !slices.Contains(got, "--include=python3,python3-venv,python3-yaml") {
			t.Errorf("debianArgs(%q): got %q, want --arch and the Python packages", tt.arch, got)
		}
	}
}

func TestCleanImagePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/usr/bin/python3", "usr/bin/python3"},
		{"usr/bin/", "usr/bin"},
		{"./etc//passwd", "etc/passwd"},
		{"/", "."},
		{"", "."},
		{"/../etc", "etc"},
	}
	for _, tt := range tests {
		if got := cleanImagePath(tt.in); got != tt.want {
			t.Errorf("cleanImagePath(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestUnescapeMountPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{`/tmp/a\040b`, "/tmp/a b"},
		{`/plain`, "/plain"},
		{`/tab\011x`, "/tab\tx"},
	}
	for _, tt := range tests {
		if got := unescapeMountPath(tt.in); got != tt.want {
			t.Errorf("unescapeMountPath(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRegistryConfig(t *testing.T) {
	plain := registryConfig("/s", "127.0.0.1:5000", "")
	auth := registryConfig("/s", "127.0.0.1:5001", "/h/htpasswd")
	for _, want := range []string{"rootdirectory: /s", "addr: 127.0.0.1:5000"} {
		if !strings.Contains(plain, want) {
			t.Errorf("plain config: got\n%s\nwant it to contain %q", plain, want)
		}
	}
	if strings.Contains(plain, "auth:") {
		t.Errorf("plain config: got an auth section:\n%s", plain)
	}
	if !strings.Contains(auth, "htpasswd:") || !strings.Contains(auth, "path: /h/htpasswd") {
		t.Errorf("auth config: got\n%s\nwant an htpasswd section with the path", auth)
	}
}

func TestHtpasswdLine(t *testing.T) {
	line, err := htpasswdLine("user1", "secret")
	if err != nil {
		t.Fatal(err)
	}
	user, hash, ok := strings.Cut(strings.TrimSuffix(line, "\n"), ":")
	if !ok || user != "user1" || !strings.HasSuffix(line, "\n") {
		t.Fatalf("htpasswdLine: got %q, want \"user1:<bcrypt>\\n\"", line)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("secret")); err != nil {
		t.Errorf("bcrypt check of the right password: %v", err)
	}
	if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte("wrong")); err == nil {
		t.Errorf("bcrypt check of a wrong password: got nil, want a mismatch")
	}
}

func TestBuildkitdConfig(t *testing.T) {
	got := buildkitdConfig("127.0.0.1:1", "127.0.0.1:2")
	for _, want := range []string{`[registry."127.0.0.1:1"]`, `[registry."127.0.0.1:2"]`, "http = true", "[worker.containerd]\n  enabled = false"} {
		if !strings.Contains(got, want) {
			t.Errorf("buildkitdConfig: got\n%s\nwant it to contain %q", got, want)
		}
	}
}

// readLayer returns the entries of a layer, after checking its digests.
func readLayer(t *testing.T, l *blobLayer) []*tar.Header {
	t.Helper()
	rc, err := l.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	blob, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(blob)); got != l.digest.String() {
		t.Errorf("digest: got %s from the blob, layer says %s", got, l.digest)
	}
	if int64(len(blob)) != l.size {
		t.Errorf("size: got %d bytes, layer says %d", len(blob), l.size)
	}
	urc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer urc.Close()
	raw, err := io.ReadAll(urc)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("sha256:%x", sha256.Sum256(raw)); got != l.diffID.String() {
		t.Errorf("diff id: got %s from the tar, layer says %s", got, l.diffID)
	}
	var hs []*tar.Header
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return hs
		}
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
}

func TestMarkerLayerIsReproducible(t *testing.T) {
	a, err := markerLayer("base-file-ok")
	if err != nil {
		t.Fatal(err)
	}
	b, err := markerLayer("base-file-ok")
	if err != nil {
		t.Fatal(err)
	}
	c, err := markerLayer("other")
	if err != nil {
		t.Fatal(err)
	}
	if a.digest != b.digest {
		t.Errorf("same marker: got digests %s and %s, want equal", a.digest, b.digest)
	}
	if a.digest == c.digest {
		t.Errorf("different markers: got the same digest %s", a.digest)
	}
	var names []string
	for _, h := range readLayer(t, a) {
		names = append(names, h.Name)
		if h.Name == "usr/local/bin/base-entrypoint" && h.Mode != 0o755 {
			t.Errorf("entrypoint mode: got %o, want 755", h.Mode)
		}
	}
	if !slices.IsSorted(names) || !slices.Contains(names, "etc/base-marker.txt") {
		t.Errorf("entries: got %q, want sorted with etc/base-marker.txt", names)
	}
}

func TestWriteRootfsLayer(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "usr", "bin"), 0o755))
	must(os.WriteFile(filepath.Join(root, "usr", "bin", "perl"), []byte("#!perl"), 0o755))
	must(os.Link(filepath.Join(root, "usr", "bin", "perl"), filepath.Join(root, "usr", "bin", "perl5")))
	must(os.Symlink("perl", filepath.Join(root, "usr", "bin", "p")))
	must(os.Mkdir(filepath.Join(root, "dev"), 0o755))
	if err := exec.Command("mknod", filepath.Join(root, "dev", "null"), "c", "1", "3").Run(); err != nil {
		t.Logf("mknod (not root?): %v; device node not checked", err)
	}

	var buf bytes.Buffer
	meta, err := writeRootfsLayer(root, &buf)
	if err != nil {
		t.Fatal(err)
	}
	blob := buf.Bytes()
	l := &blobLayer{size: meta.Size, open: func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(blob)), nil }}
	l.digest.Algorithm, l.digest.Hex, _ = strings.Cut(meta.Digest, ":")
	l.diffID.Algorithm, l.diffID.Hex, _ = strings.Cut(meta.DiffID, ":")
	got := map[string]*tar.Header{}
	var order []string
	for _, h := range readLayer(t, l) {
		got[h.Name] = h
		order = append(order, h.Name)
	}
	want := []string{"dev/", "usr/", "usr/bin/", "usr/bin/p", "usr/bin/perl", "usr/bin/perl5"}
	if !reflect.DeepEqual(order, want) {
		t.Errorf("entries: got %q, want %q (sorted, no device nodes)", order, want)
	}
	if h := got["usr/bin/perl5"]; h == nil || h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/perl" {
		t.Errorf("perl5: got %+v, want a hard link to usr/bin/perl", h)
	}
	if h := got["usr/bin/p"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "perl" {
		t.Errorf("p: got %+v, want a symlink to perl", h)
	}
	if h := got["usr/bin/perl"]; h == nil || h.Uname != "" || h.Size != 6 {
		t.Errorf("perl: got %+v, want 6 bytes and no user name", h)
	}
}

func TestTailFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	var b strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := tailFile(path, 200)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 || got[0] != "line 301" || got[199] != "line 500" {
		t.Errorf("tailFile: got %d lines from %q to %q, want 200 from line 301 to line 500", len(got), got[0], got[len(got)-1])
	}
}

func TestExportLinesQuoting(t *testing.T) {
	b := &Bed{StateDir: "/tmp/it's here", AuthPassword: `p"$x`}
	script := b.ExportLines() + `printf '%s|%s' "$ENVBUILD_TESTBED_STATE" "$ENVBUILD_TEST_AUTH_PASSWORD"`
	out, err := exec.Command("bash", "-c", script).Output()
	if err != nil {
		t.Fatalf("bash: %v", err)
	}
	if got, want := string(out), `/tmp/it's here|p"$x`; got != want {
		t.Errorf("sourced exports: got %q, want %q", got, want)
	}
}

func TestCachedLayerBuildsOnceAndPrunes(t *testing.T) {
	cache := t.TempDir()
	builds := 0
	build := func(content string) func(context.Context, string, string) error {
		return func(_ context.Context, root, _ string) error {
			builds++
			return os.WriteFile(filepath.Join(root, "f"), []byte(content), 0o644)
		}
	}
	logf := func(string, ...any) {}
	ctx := context.Background()
	a, err := cachedLayer(ctx, cache, "x", []string{"v1"}, logf, build("one"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := cachedLayer(ctx, cache, "x", []string{"v1"}, logf, build("one"))
	if err != nil {
		t.Fatal(err)
	}
	if builds != 1 || again.digest != a.digest {
		t.Errorf("second call with the same args: got %d builds and digest %s, want 1 build and %s", builds, again.digest, a.digest)
	}
	b, err := cachedLayer(ctx, cache, "x", []string{"v2"}, logf, build("two"))
	if err != nil {
		t.Fatal(err)
	}
	if builds != 2 || b.digest == a.digest {
		t.Errorf("new args: got %d builds, digests %s and %s; want 2 builds and different digests", builds, a.digest, b.digest)
	}
	entries, _ := filepath.Glob(filepath.Join(cache, "x-*"))
	var dirs []string
	for _, e := range entries {
		if !strings.HasSuffix(e, ".lock") {
			dirs = append(dirs, filepath.Base(e))
		}
	}
	if len(dirs) != 1 {
		t.Errorf("cache after a new recipe: got entries %q, want only the new one", dirs)
	}
}
