package index

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/envbuild/envbuild/lock/failure"
)

const pkgPage = `{"meta":{"api-version":"1.0"},"files":[{"filename":"pkg-1.0.tar.gz","url":"pkg-1.0.tar.gz","hashes":{"sha256":"ab"}}]}`

func TestETagRevalidation(t *testing.T) {
	fi := newFakeIndex(t)
	fi.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=0, must-revalidate")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", mediaJSON)
		w.Write([]byte(pkgPage))
	}
	dir := t.TempDir()
	opts := Options{CacheDir: dir, Indexes: []Index{{URL: fi.url("/simple")}}}
	c1, _ := newTestClient(t, opts)
	p1, err := c1.Project(ctx, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := newTestClient(t, opts)
	p2, err := c2.Project(ctx, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	reqs := fi.requests()
	if len(reqs) != 2 || reqs[0].ifNoneMatch != "" || reqs[1].ifNoneMatch != `"v1"` {
		t.Fatalf("got requests %+v, want a plain GET then one with If-None-Match \"v1\"", reqs)
	}
	if len(p2.Files) != 1 || p2.Files[0].URL != p1.Files[0].URL {
		t.Errorf("after 304 got files %+v, want %+v", p2.Files, p1.Files)
	}
}

func TestCacheFreshness(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		refresh      bool
		wantRequests int // by the second client
	}{
		{"max-age within", "max-age=600", false, 0},
		{"max-age zero", "max-age=0", false, 1},
		{"no-cache", "no-cache", false, 1},
		{"no-store", "no-store", false, 1},
		{"no header: PyPI's 10 minutes", "", false, 0},
		{"refresh", "max-age=600", true, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi := newFakeIndex(t)
			if tt.cacheControl != "" {
				fi.json("pkg", pkgPage, "Cache-Control", tt.cacheControl)
			} else {
				fi.json("pkg", pkgPage)
			}
			dir := t.TempDir()
			c1, _ := newTestClient(t, Options{CacheDir: dir, Indexes: []Index{{URL: fi.url("/simple")}}})
			if _, err := c1.Project(ctx, "pkg"); err != nil {
				t.Fatal(err)
			}
			fi.requests()
			c2, _ := newTestClient(t, Options{CacheDir: dir, Refresh: tt.refresh, Indexes: []Index{{URL: fi.url("/simple")}}})
			p, err := c2.Project(ctx, "pkg")
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Files) != 1 {
				t.Errorf("got %d files, want 1", len(p.Files))
			}
			if got := len(fi.requests()); got != tt.wantRequests {
				t.Errorf("second client made %d requests, want %d", got, tt.wantRequests)
			}
		})
	}
}

func TestOffline(t *testing.T) {
	a, b := newFakeIndex(t), newFakeIndex(t)
	a.json("mine", pkgPage, "Cache-Control", "max-age=0")
	b.json("theirs", pkgPage, "Cache-Control", "max-age=0")
	dir := t.TempDir()
	indexes := []Index{{URL: a.url("/simple")}, {URL: b.url("/simple")}}
	online, _ := newTestClient(t, Options{CacheDir: dir, Indexes: indexes})
	for _, n := range []string{"mine", "theirs"} {
		if _, err := online.Project(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	a.requests()
	b.requests()
	offline, _ := newTestClient(t, Options{CacheDir: dir, Offline: true, Indexes: indexes})
	for _, n := range []string{"mine", "theirs"} {
		p, err := offline.Project(ctx, n)
		if err != nil {
			t.Fatalf("offline %q: %v", n, err)
		}
		if len(p.Files) != 1 {
			t.Errorf("offline %q: got %d files, want 1", n, len(p.Files))
		}
	}
	_, err := offline.Project(ctx, "never-asked")
	if err == nil || !strings.Contains(err.Error(), "--offline forbids asking the index") || !strings.Contains(err.Error(), `"never-asked"`) {
		t.Errorf("got %v, want an error saying the project is not cached and --offline forbids asking", err)
	}
	if failure.KindOf(err) != failure.KindInfra || errors.Is(err, ErrNoSuchProject) {
		t.Errorf("an offline miss is kind %v (no such project: %v), want an infrastructure error, not 'no such project'", failure.KindOf(err), errors.Is(err, ErrNoSuchProject))
	}
	if n := len(a.requests()) + len(b.requests()); n != 0 {
		t.Errorf("offline client made %d requests", n)
	}
}

func TestCacheKeyHasNoCredentials(t *testing.T) {
	fi := newFakeIndex(t)
	fi.json("pkg", pkgPage)
	dir := t.TempDir()
	withCreds := strings.Replace(fi.url("/simple"), "http://", "http://alice:s3cret@", 1)
	c1, _ := newTestClient(t, Options{CacheDir: dir, Indexes: []Index{{URL: withCreds}}})
	if _, err := c1.Project(ctx, "pkg"); err != nil {
		t.Fatal(err)
	}
	fi.requests()
	// The same index without credentials finds the same cache entry.
	c2, _ := newTestClient(t, Options{CacheDir: dir, Offline: true, Indexes: []Index{{URL: fi.url("/simple")}}})
	if _, err := c2.Project(ctx, "pkg"); err != nil {
		t.Errorf("cache entry not found without credentials in the URL: %v", err)
	}
	if hit := grepDir(t, dir, "s3cret"); hit != "" {
		t.Errorf("the password is written in the cache: %s", hit)
	}
}

func TestLastModifiedRevalidation(t *testing.T) {
	fi := newFakeIndex(t)
	const stamp = "Mon, 01 Jan 2024 00:00:00 GMT"
	var ims []string
	fi.pages["/simple/pkg/"] = func(w http.ResponseWriter, r *http.Request) {
		ims = append(ims, r.Header.Get("If-Modified-Since"))
		w.Header().Set("Last-Modified", stamp)
		w.Header().Set("Cache-Control", "max-age=600")
		// A CDN held this copy for 600 seconds already: it is stale.
		w.Header().Set("Age", "600")
		if r.Header.Get("If-Modified-Since") == stamp {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", mediaJSON)
		w.Write([]byte(pkgPage))
	}
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		c, _ := newTestClient(t, Options{CacheDir: dir, Indexes: []Index{{URL: fi.url("/simple")}}})
		p, err := c.Project(ctx, "pkg")
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Files) != 1 {
			t.Errorf("round %d: got %d files, want 1", i, len(p.Files))
		}
	}
	if want := []string{"", stamp}; strings.Join(ims, "|") != strings.Join(want, "|") {
		t.Errorf("got If-Modified-Since %q, want %q", ims, want)
	}
}

func TestDamagedCacheEntryIsFetchedAgain(t *testing.T) {
	fi := newFakeIndex(t)
	fi.json("pkg", pkgPage, "Cache-Control", "max-age=600")
	dir := t.TempDir()
	opts := Options{CacheDir: dir, Indexes: []Index{{URL: fi.url("/simple")}}}
	c1, _ := newTestClient(t, opts)
	if _, err := c1.Project(ctx, "pkg"); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(fi.url("/simple/pkg/"))
	dc := httpc.NewCache(dir)
	key := httpc.CacheKey(u, acceptIndex, pageFormat)
	e := dc.Get(key)
	if e == nil {
		t.Fatal("the page is not in the cache")
	}
	e.Body = []byte{0xff, 0xff, 0xff}
	dc.Put(key, e)
	fi.requests()
	c2, log := newTestClient(t, opts)
	p, err := c2.Project(ctx, "pkg")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Files) != 1 || len(fi.requests()) != 1 {
		t.Errorf("got %d files, want 1 from one new request", len(p.Files))
	}
	if !strings.Contains(log.String(), "is damaged") {
		t.Errorf("log %q does not mention the damaged entry", log.String())
	}
}
