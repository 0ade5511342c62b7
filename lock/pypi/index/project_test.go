package index

import (
	"context"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
)

var ctx = context.Background()

func TestProjectJSON(t *testing.T) {
	fi := newFakeIndex(t)
	fi.json("demo", `{
	  "meta": {"api-version": "1.1"},
	  "name": "demo",
	  "files": [
	    {"filename": "demo-1.0-py3-none-any.whl", "url": "../../files/demo-1.0-py3-none-any.whl",
	     "hashes": {"sha256": "AABB"}, "requires-python": ">=3.8", "size": 1234,
	     "upload-time": "2024-01-02T03:04:05.123456Z", "yanked": false,
	     "core-metadata": {"sha256": "ccdd"}},
	    {"filename": "demo-0.9.tar.gz", "url": "https://other.example/demo-0.9.tar.gz#md5=0011",
	     "hashes": {"sha256": "eeff"}, "requires-python": null, "yanked": "broken build",
	     "dist-info-metadata": true},
	    {"filename": "demo-0.8.tar.gz", "url": "/files/demo-0.8.tar.gz", "hashes": {},
	     "yanked": true, "core-metadata": false, "dist-info-metadata": true}
	  ]}`)
	c, _ := newTestClient(t, Options{Indexes: []Index{{Name: "pypi", URL: fi.url("/simple")}}})
	p, err := c.Project(ctx, "Demo")
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "demo-1.0-py3-none-any.whl", URL: fi.url("/files/demo-1.0-py3-none-any.whl"), Index: "pypi",
			Hashes: map[string]string{"sha256": "aabb"}, RequiresPython: ">=3.8", Size: 1234,
			UploadTime:   time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC),
			CoreMetadata: true, CoreMetadataHashes: map[string]string{"sha256": "ccdd"}},
		{Filename: "demo-0.9.tar.gz", URL: "https://other.example/demo-0.9.tar.gz", Index: "pypi",
			Hashes: map[string]string{"sha256": "eeff", "md5": "0011"}, Yanked: true, YankedReason: "broken build",
			CoreMetadata: true},
		{Filename: "demo-0.8.tar.gz", URL: fi.url("/files/demo-0.8.tar.gz"), Index: "pypi", Yanked: true},
	}
	if p.Name != "demo" || p.Index != "pypi" {
		t.Errorf("got project %q from %q, want demo from pypi", p.Name, p.Index)
	}
	if !reflect.DeepEqual(p.Files, want) {
		t.Errorf("got files\n%+v\nwant\n%+v", p.Files, want)
	}
	reqs := fi.requests()
	if len(reqs) != 1 || reqs[0].path != "/simple/demo/" || !strings.HasPrefix(reqs[0].accept, mediaJSON) {
		t.Errorf("got requests %+v, want one GET /simple/demo/ preferring %s", reqs, mediaJSON)
	}
}

func TestProjectHTML(t *testing.T) {
	fi := newFakeIndex(t)
	fi.html("demo", `<!DOCTYPE html>
<html><head><meta name="pypi:repository-version" content="1.0"><title>Links for demo</title></head><body>
<a href="../../files/demo-1.0-py3-none-any.whl#sha256=AABB" data-requires-python="&gt;=3.8,&lt;4" data-core-metadata="sha256=CCDD">demo-1.0-py3-none-any.whl</a><br/>
<a href="https://other.example/p/demo-0.9.tar.gz" data-yanked="">demo-0.9.tar.gz</a>
<a href="demo-0.8.tar.gz#sha256=11" data-yanked="security &amp; stuff" data-dist-info-metadata="true">demo-0.8.tar.gz</a>
<a href="demo%2B0.7.tar.gz" data-core-metadata="false" data-dist-info-metadata="true">x</a>
</body></html>`)
	c, _ := newTestClient(t, Options{Indexes: []Index{{Name: "pypi", URL: fi.url("/simple/")}}})
	p, err := c.Project(ctx, "DEMO")
	if err != nil {
		t.Fatal(err)
	}
	want := []File{
		{Filename: "demo-1.0-py3-none-any.whl", URL: fi.url("/files/demo-1.0-py3-none-any.whl"), Index: "pypi",
			Hashes: map[string]string{"sha256": "aabb"}, RequiresPython: ">=3.8,<4",
			CoreMetadata: true, CoreMetadataHashes: map[string]string{"sha256": "ccdd"}},
		{Filename: "demo-0.9.tar.gz", URL: "https://other.example/p/demo-0.9.tar.gz", Index: "pypi", Yanked: true},
		{Filename: "demo-0.8.tar.gz", URL: fi.url("/simple/demo/demo-0.8.tar.gz"), Index: "pypi",
			Hashes: map[string]string{"sha256": "11"}, Yanked: true, YankedReason: "security & stuff", CoreMetadata: true},
		{Filename: "demo+0.7.tar.gz", URL: fi.url("/simple/demo/demo%2B0.7.tar.gz"), Index: "pypi"},
	}
	if !reflect.DeepEqual(p.Files, want) {
		t.Errorf("got files\n%+v\nwant\n%+v", p.Files, want)
	}
}

func TestProjectHTMLWithoutFiles(t *testing.T) {
	for _, page := range []string{
		`<html><head><title>Links for empty</title></head><body><h1>Links for empty</h1></body></html>`,
		`<html><head><meta name="pypi:repository-version" content="1.1"></head><body></body></html>`,
	} {
		fi := newFakeIndex(t)
		fi.html("empty", page)
		c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
		p, err := c.Project(ctx, "empty")
		if err != nil || len(p.Files) != 0 {
			t.Errorf("page %q: got %v, %v; want a project without files", page, p, err)
		}
	}
}

func TestProjectHTMLBaseHref(t *testing.T) {
	fi := newFakeIndex(t)
	fi.html("demo", `<html><head><base href="/mirror/"></head><body><a href="demo-1.0.tar.gz">x</a></body></html>`)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	p, err := c.Project(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Files[0].URL, fi.url("/mirror/demo-1.0.tar.gz"); got != want {
		t.Errorf("got URL %q, want %q", got, want)
	}
}

func TestProjectNameIsNormalised(t *testing.T) {
	fi := newFakeIndex(t)
	fi.json("zope-interface", `{"meta":{"api-version":"1.0"},"name":"zope.interface","files":[]}`)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	for _, spelling := range []string{"Zope.Interface", "zope_interface", "ZOPE--interface"} {
		p, err := c.Project(ctx, spelling)
		if err != nil {
			t.Fatalf("Project(%q): %v", spelling, err)
		}
		if p.Name != "zope-interface" {
			t.Errorf("Project(%q).Name = %q, want zope-interface", spelling, p.Name)
		}
	}
	if n := len(fi.requests()); n != 1 {
		t.Errorf("got %d requests for three spellings of one name, want 1", n)
	}
}

func TestInvalidProjectName(t *testing.T) {
	fi := newFakeIndex(t)
	c, _ := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	for _, name := range []string{"", "../admin", "a/b", "-lead", "sp ace"} {
		_, err := c.Project(ctx, name)
		if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "not a valid project name") {
			t.Errorf("Project(%q) = %v, want a user error about the name", name, err)
		}
	}
	if n := len(fi.requests()); n != 0 {
		t.Errorf("invalid names made %d requests", n)
	}
}

func TestFirstIndexWins(t *testing.T) {
	private, public := newFakeIndex(t), newFakeIndex(t)
	private.json("internal-tool", `{"meta":{"api-version":"1.0"},"files":[{"filename":"internal_tool-1.0.tar.gz","url":"/f/internal_tool-1.0.tar.gz","hashes":{}}]}`)
	public.json("internal-tool", `{"meta":{"api-version":"1.0"},"files":[{"filename":"internal_tool-99.0.tar.gz","url":"/f/internal_tool-99.0.tar.gz","hashes":{}}]}`)
	public.json("requests", `{"meta":{"api-version":"1.0"},"files":[{"filename":"requests-2.0.tar.gz","url":"/f/requests-2.0.tar.gz","hashes":{}}]}`)
	c, _ := newTestClient(t, Options{Indexes: []Index{
		{Name: "pypi", URL: private.url("/simple")},
		{Name: "extra-1", URL: public.url("/simple")},
	}})
	p, err := c.Project(ctx, "internal-tool")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || p.Files[0].Filename != "internal_tool-1.0.tar.gz" || p.Index != "pypi" {
		t.Errorf("got %+v, want only the private index's internal_tool-1.0.tar.gz", p)
	}
	if n := len(public.requests()); n != 0 {
		t.Errorf("the public index was asked %d times for a project the private one has", n)
	}
	p, err = c.Project(ctx, "requests")
	if err != nil {
		t.Fatal(err)
	}
	if p.Index != "extra-1" || p.Files[0].Index != "extra-1" {
		t.Errorf("got requests from %q (file from %q), want extra-1", p.Index, p.Files[0].Index)
	}
}

func TestNoSuchProject(t *testing.T) {
	a, b := newFakeIndex(t), newFakeIndex(t)
	c, _ := newTestClient(t, Options{Indexes: []Index{
		{Name: "pypi", URL: a.url("/simple")},
		{Name: "extra-1", URL: strings.Replace(b.url("/simple"), "http://", "http://bob:hunter2@", 1)},
	}})
	_, err := c.Project(ctx, "nothere")
	if err == nil {
		t.Fatal("got no error for a project no index has")
	}
	want := `no such project "nothere" on ` + a.url("/simple/") + ", " + b.url("/simple/")
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got error %q, want it to contain %q", err, want)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the password", err)
	}
	if !errors.Is(err, ErrNoSuchProject) || failure.KindOf(err) != failure.KindUser {
		t.Errorf("got kind %v (Is ErrNoSuchProject: %v), want a user error matching ErrNoSuchProject", failure.KindOf(err), errors.Is(err, ErrNoSuchProject))
	}
}

func TestHigherIndexFailureDoesNotFallThrough(t *testing.T) {
	a, b := newFakeIndex(t), newFakeIndex(t)
	a.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 503) }
	b.json("pkg", `{"meta":{"api-version":"1.0"},"files":[]}`)
	c, _ := newTestClient(t, Options{Retries: -1, Indexes: []Index{{URL: a.url("/simple")}, {URL: b.url("/simple")}}})
	_, err := c.Project(ctx, "pkg")
	if err == nil || failure.KindOf(err) != failure.KindInfra {
		t.Fatalf("got %v, want an infrastructure error from the first index", err)
	}
	if n := len(b.requests()); n != 0 {
		t.Errorf("the second index was asked %d times after the first failed, want 0", n)
	}
}

func TestRetryThenSuccess(t *testing.T) {
	fi := newFakeIndex(t)
	var n atomic.Int32
	fi.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.Error(w, "try later", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", mediaJSON)
		w.Write([]byte(`{"meta":{"api-version":"1.0"},"files":[{"filename":"pkg-1.0.tar.gz","url":"pkg-1.0.tar.gz","hashes":{}}]}`))
	}
	c, log := newTestClient(t, Options{Indexes: []Index{{URL: fi.url("/simple")}}})
	p, err := c.Project(ctx, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || n.Load() != 2 {
		t.Errorf("got %d files after %d requests, want 1 file after 2", len(p.Files), n.Load())
	}
	if !strings.Contains(log.String(), "retrying") {
		t.Errorf("log %q does not mention the retry", log.String())
	}
}

// A metadata request is bounded as a whole: however many tries are
// allowed, a host that does not answer is given up on at the deadline, and
// the message names it.
func TestIndexDeadline(t *testing.T) {
	fi := newFakeIndex(t)
	fi.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	c, _ := newTestClient(t, Options{Retries: 20, Timeout: 150 * time.Millisecond, Deadline: 400 * time.Millisecond, Indexes: []Index{{URL: fi.url("/simple")}}})
	start := time.Now()
	_, err := c.Project(ctx, "pkg")
	host := strings.TrimPrefix(fi.url(""), "http://")
	if err == nil || !strings.Contains(err.Error(), "host "+host+" did not answer within 400ms") || !strings.Contains(err.Error(), "ENVBUILD_INDEX_TIMEOUT") || !failure.IsInfra(err) {
		t.Errorf("error %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("gave up after %s, want about 400ms", d)
	}
}

func TestIndexFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string // in the error, after the index URL
		tries   int32
	}{
		{"always 500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", 500) },
			` answered 500 for "pkg" after 3 tries`, 3},
		{"429", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", 429) },
			` answered 429 for "pkg" after 3 tries`, 3},
		{"hangs", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() },
			` sent nothing for 150ms (3 tries; ENVBUILD_DOWNLOAD_TIMEOUT sets this limit)`, 3},
		{"hangs mid-body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaJSON)
			w.Write([]byte(`{"files": [`))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, ` sent nothing for 150ms (3 tries; ENVBUILD_DOWNLOAD_TIMEOUT sets this limit)`, 3},
		{"HTML garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body><h1>Welcome to our proxy</h1></body></html>"))
		}, `: the index answered an HTML page without any file link; is it a PEP 503 simple index?`, 1},
		{"JSON garbage", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaJSON)
			w.Write([]byte(`{"files": [{"filename": 3}]`))
		}, `: the index answered JSON that is not a PEP 691 project page`, 1},
		{"JSON without files", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaJSON)
			w.Write([]byte(`{"projects": []}`))
		}, `: the index answered JSON without a "files" list`, 1},
		{"API version 2", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaJSON)
			w.Write([]byte(`{"meta":{"api-version":"2.0"},"files":[]}`))
		}, `: the index speaks repository API version "2.0"; this client understands version 1.x`, 1},
		{"neither", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte("PK\x03\x04"))
		}, `: the answer is neither a PEP 691 JSON nor a PEP 503 HTML page`, 1},
		{"400", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "bad", 400) },
			` answered 400 for "pkg" after 1 try`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi := newFakeIndex(t)
			var n atomic.Int32
			fi.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) { n.Add(1); tt.handler(w, r) }
			c, _ := newTestClient(t, Options{Retries: 2, Timeout: 150 * time.Millisecond, Indexes: []Index{{URL: fi.url("/simple")}}})
			_, err := c.Project(ctx, "pkg")
			if err == nil {
				t.Fatal("got no error")
			}
			if !strings.Contains(err.Error(), fi.url("/simple/")) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %q, want it to name %s and contain %q", err, fi.url("/simple/"), tt.want)
			}
			if k := failure.KindOf(err); k != failure.KindInfra {
				t.Errorf("got kind %v, want infrastructure (4)", k)
			}
			if got := n.Load(); got != tt.tries {
				t.Errorf("got %d requests, want %d", got, tt.tries)
			}
		})
	}
}

func TestExcludeNewer(t *testing.T) {
	fi := newFakeIndex(t)
	fi.json("pkg", `{"meta":{"api-version":"1.1"},"files":[
	  {"filename":"pkg-1.0.tar.gz","url":"a","hashes":{},"upload-time":"2023-01-01T00:00:00Z"},
	  {"filename":"pkg-2.0.tar.gz","url":"b","hashes":{},"upload-time":"2024-06-01T00:00:00.000001Z"},
	  {"filename":"pkg-1.5.tar.gz","url":"c","hashes":{}}]}`)
	cut := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	c, log := newTestClient(t, Options{ExcludeNewer: cut, Indexes: []Index{{URL: fi.url("/simple")}}})
	p, err := c.Project(ctx, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range p.Files {
		got = append(got, f.Filename)
	}
	if want := []string{"pkg-1.0.tar.gz"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if !strings.Contains(log.String(), `gives no upload time for 1 file(s) of "pkg"; --exclude-newer hides them`) {
		t.Errorf("log %q does not explain the hidden undated file", log.String())
	}
}

func TestPrefetch(t *testing.T) {
	fi := newFakeIndex(t)
	var inFlight, most atomic.Int32
	for _, name := range []string{"a", "b", "c", "d", "e", "f"} {
		fi.pages["/simple/"+name+"/"] = func(w http.ResponseWriter, r *http.Request) {
			now := inFlight.Add(1)
			for {
				m := most.Load()
				if now <= m || most.CompareAndSwap(m, now) {
					break
				}
			}
			time.Sleep(30 * time.Millisecond)
			inFlight.Add(-1)
			w.Header().Set("Content-Type", mediaJSON)
			w.Write([]byte(`{"meta":{"api-version":"1.0"},"files":[]}`))
		}
	}
	c, _ := newTestClient(t, Options{Concurrency: 3, Indexes: []Index{{URL: fi.url("/simple")}}})
	c.Prefetch(ctx, []string{"a", "b", "c", "d", "e", "f", "nope"})
	if m := most.Load(); m < 2 || m > 3 {
		t.Errorf("got %d requests in flight at most, want 2 or 3 (concurrency 3)", m)
	}
	fi.requests()
	if _, err := c.Project(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Project(ctx, "nope"); !errors.Is(err, ErrNoSuchProject) {
		t.Errorf("got %v for a prefetched missing project, want ErrNoSuchProject", err)
	}
	if n := len(fi.requests()); n != 0 {
		t.Errorf("got %d requests after Prefetch, want 0", n)
	}
}
