package tags

import "testing"

func FuzzParseSdistFilename(f *testing.F) {
	for _, s := range []string{"six-1.16.0.tar.gz", "Django-4.2.zip", "a-b-c-1.0.tar.gz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseSdistFilename(s)
		_, _ = ParseSdistFilenameFor(s, "a-b-c")
	})
}
