package installer

import (
	"path/filepath"
	"testing"
)

func TestTreeHostStaysInRoot(t *testing.T) {
	tr := &tree{root: "/out"}
	for _, tc := range []struct{ in, want string }{
		{"/opt/envbuild/env/x", "/out/opt/envbuild/env/x"},
		{"/../../etc/passwd", "/out/etc/passwd"},
		{"/opt/envbuild/env/include/site/python/../../../../../../../x", "/out/x"},
		{"relative/../../x", "/out/x"},
	} {
		if got := tr.host(tc.in); got != filepath.FromSlash(tc.want) {
			t.Errorf("host(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCleanEntry(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"a/b", "a/b", ""},
		{"./a//b/./c", "a/b/c", ""},
		{"a/b/", "a/b", ""},
		{"/a", "", "absolute"},
		{"a/../b", "", `".."`},
		{"..", "", `".."`},
		{"./", "", "names no file"},
		{"a\x00b", "", "NUL"},
	} {
		got, err := cleanEntry(tc.in)
		if tc.err != "" {
			wantErr(t, err, tc.err)
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("cleanEntry(%q): got %q, %v, want %q", tc.in, got, err, tc.want)
		}
	}
}
