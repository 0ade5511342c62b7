package index

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

func TestDownload(t *testing.T) {
	fi := newFakeIndex(t)
	content := bytes.Repeat([]byte("wheel bytes "), 10000)
	fi.files["/direct/pkg-1.0-py3-none-any.whl"] = content
	c, log := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	var buf bytes.Buffer
	sum, size, err := c.Download(ctx, fi.url("/direct/pkg-1.0-py3-none-any.whl#sha256=ignored"), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if sum != sha256hex(content) || size != int64(len(content)) || !bytes.Equal(buf.Bytes(), content) {
		t.Errorf("got sha256 %s size %d (%d bytes written), want %s size %d", sum, size, buf.Len(), sha256hex(content), len(content))
	}
	if want := "downloaded " + fi.url("/direct/pkg-1.0-py3-none-any.whl") + " (120000 bytes) to compute its sha256"; !strings.Contains(log.String(), want) {
		t.Errorf("log %q lacks %q", log.String(), want)
	}
}

func TestDownloadResumesAfterBreak(t *testing.T) {
	fi := newFakeIndex(t)
	content := bytes.Repeat([]byte("0123456789"), 50000)
	var calls atomic.Int32
	var ranges []string
	fi.pages["/direct/big.whl"] = func(w http.ResponseWriter, r *http.Request) {
		ranges = append(ranges, r.Header.Get("Range"))
		if calls.Add(1) == 1 {
			// Promise everything, send half, then drop the connection.
			w.Header().Set("Content-Length", "500000")
			w.Write(content[:200000])
			w.(http.Flusher).Flush()
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		http.ServeContent(w, r, "", fixedTime, bytes.NewReader(content))
	}
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	var buf bytes.Buffer
	sum, size, err := c.Download(ctx, fi.url("/direct/big.whl"), &buf)
	if err != nil {
		t.Fatal(err)
	}
	if sum != sha256hex(content) || size != int64(len(content)) || !bytes.Equal(buf.Bytes(), content) {
		t.Errorf("got size %d, %d bytes written, want %d: the resumed download is not the file", size, buf.Len(), len(content))
	}
	if len(ranges) != 2 || ranges[0] != "" || !strings.HasPrefix(ranges[1], "bytes=") || ranges[1] == "bytes=0-" {
		t.Errorf("got Range headers %q, want none then a resume past the first bytes", ranges)
	}
}

func TestDownloadErrors(t *testing.T) {
	fi := newFakeIndex(t)
	fi.auth = func(r *http.Request) bool { u, p, _ := r.BasicAuth(); return u == "alice" && p == "s3cret" }
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	host := strings.TrimPrefix(fi.url(""), "http://")
	tests := []struct {
		name, url, want string
		kind            failure.Kind
	}{
		{"not http", "ftp://example.org/x.whl", `downloading "ftp://example.org/x.whl": not an http(s) URL`, failure.KindUser},
		{"wrong password", withUserinfo(fi.url("/x.whl"), "alice:badpass"),
			"downloading http://alice:****@" + host + "/x.whl: the index refused the credentials for " + host + " (from the URL): 401 Unauthorized", failure.KindInfra},
		{"not found", withUserinfo(fi.url("/x.whl"), "alice:s3cret"),
			"downloading http://alice:****@" + host + "/x.whl: " + fi.url("/x.whl") + " answered 404 Not Found", failure.KindInfra},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.Download(ctx, tt.url, &bytes.Buffer{})
			if err == nil || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
			if failure.KindOf(err) != tt.kind {
				t.Errorf("got kind %v, want %v", failure.KindOf(err), tt.kind)
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("disk full") }

func TestDownloadWriterErrorIsNotRetried(t *testing.T) {
	fi := newFakeIndex(t)
	fi.files["/f.whl"] = bytes.Repeat([]byte("x"), 1000)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	_, _, err := c.Download(ctx, fi.url("/f.whl"), failingWriter{})
	if err == nil || !strings.Contains(err.Error(), "writing the download: disk full") {
		t.Errorf("got %v, want the writer's error", err)
	}
	if n := len(fi.requests()); n != 1 {
		t.Errorf("got %d requests, want 1", n)
	}
}
