package repodata

import "testing"

func FuzzIndexBytes(f *testing.F) {
	f.Add([]byte(`{"info":{"subdir":"linux-64"},"packages":{"a-1.0-0.tar.bz2":{"name":"a","version":"1.0","build":"0","build_number":0,"depends":["b >=1"],"sha256":"00","size":1,"subdir":"linux-64"}},"packages.conda":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, err := indexBytes(data, Source{})
		if err != nil {
			return
		}
		_, _ = x.All()
	})
}
