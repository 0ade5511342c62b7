package tags

import "testing"

func FuzzParseWheelFilename(f *testing.F) {
	for _, s := range []string{"numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "six-1.16.0-py2.py3-none-any.whl", "pkg-1.0-1build-py3-none-any.whl"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseWheelFilename(s)
		_, _ = ParseTag(s)
	})
}

func FuzzParseSdistFilename(f *testing.F) {
	for _, s := range []string{"six-1.16.0.tar.gz", "Django-4.2.zip", "a-b-c-1.0.tar.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseSdistFilename(s)
		_, _ = ParseSdistFilenameFor(s, "a-b-c")
	})
}
