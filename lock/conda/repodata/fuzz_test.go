package repodata

import (
	"fmt"
	"testing"
)

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

// FuzzScanPieces wants the same index from one piece and from several.
func FuzzScanPieces(f *testing.F) {
	f.Add([]byte(`{"packages":{"a-1-0.tar.bz2":{"name":"a","version":"1"},"b-1-0.tar.bz2":{"name":"b","d":["},\"c\":{"],"version":"1"}},"packages.conda":{"a-1-0.conda":{"name":"a","version":"1"}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		read := func(n int) string {
			var out string
			withPieces(n, 1, func() {
				x, err := indexBytes(data, Source{})
				if err != nil {
					out = "error " + err.Error()
					return
				}
				recs, err := x.All()
				out = fmt.Sprintf("%v %d %+v %v", x.Names(), x.Len(), recs, err)
			})
			return out
		}
		if one, several := read(1), read(5); one != several {
			t.Errorf("one piece:\n%s\nfive:\n%s", one, several)
		}
	})
}
