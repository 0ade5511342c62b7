package index

import (
	"net/url"
	"testing"
)

func FuzzParseProjectPage(f *testing.F) {
	f.Add([]byte(`<html><body><a href="../../files/six-1.16.0-py2.py3-none-any.whl#sha256=00" data-requires-python="&gt;=2.7" data-dist-info-metadata="sha256=11">six-1.16.0-py2.py3-none-any.whl</a></body></html>`), "text/html")
	f.Add([]byte(`{"meta":{"api-version":"1.1"},"name":"six","files":[{"filename":"six-1.16.0-py2.py3-none-any.whl","url":"../../files/six.whl","hashes":{"sha256":"00"},"core-metadata":{"sha256":"11"},"yanked":"bad","requires-python":">=3"}]}`), "application/vnd.pypi.simple.v1+json")
	base, _ := url.Parse("https://pypi.example.com/simple/six/")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		_, _ = parseProjectPage(body, contentType, base)
	})
}

func FuzzParseCoreMetadata(f *testing.F) {
	f.Add([]byte("Metadata-Version: 2.1\nName: six\nVersion: 1.16.0\nRequires-Dist: a>=1; extra == 'x'\nRequires-Python: >=3\n  continued\n\nbody\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := parseCoreMetadata(data)
		if err != nil {
			return
		}
		_ = md.metadata()
		_, _ = md.dynamic()
	})
}
