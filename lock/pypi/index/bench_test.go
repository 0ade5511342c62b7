package index

import (
	"fmt"
	"strings"
	"testing"
)

// bigPage is a PEP 691 page of n files, shaped like PyPI's.
func bigPage(n int) string {
	var b strings.Builder
	b.WriteString(`{"meta":{"api-version":"1.1"},"name":"big","files":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, `{"filename":"big-1.%d-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl","url":"https://files.example/packages/ab/cd/%064d/big-1.%d-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl","hashes":{"sha256":"%064d"},"requires-python":">=3.9","size":%d,"upload-time":"2024-01-02T03:04:05.123456Z","yanked":false,"core-metadata":{"sha256":"%064d"}}`, i, i, i, i, 1000+i, i)
	}
	b.WriteString(`]}`)
	return b.String()
}

// BenchmarkProjectWarm reads a 5000-file project page from the disk cache
// with a new Client each time, as a second `envbuild lock` does.
func BenchmarkProjectWarm(b *testing.B) {
	t := &testing.T{}
	fi := newFakeIndex(t)
	fi.json("big", bigPage(5000), "Cache-Control", "max-age=600")
	dir := b.TempDir()
	opts := Options{CacheDir: dir, Indexes: []Index{{URL: fi.url("/simple")}}}
	c, _ := newTestClient(t, opts)
	if _, err := c.Project(ctx, "big"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c, _ := newTestClient(t, opts)
		p, err := c.Project(ctx, "big")
		if err != nil || len(p.Files) != 5000 {
			b.Fatalf("got %d files, %v", len(p.Files), err)
		}
	}
}

// BenchmarkParseJSONPage is the cold-path parse of the same page.
func BenchmarkParseJSONPage(b *testing.B) {
	body := []byte(bigPage(5000))
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, err := parseJSONPage(body, nil); err != nil {
			b.Fatal(err)
		}
	}
}
