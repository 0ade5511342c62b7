package index

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestRealIndex fetches requests from the index this machine is configured
// with. It needs the network: ENVBUILD_TEST_REAL_INDEX=1 turns it on.
func TestRealIndex(t *testing.T) {
	if os.Getenv("ENVBUILD_TEST_REAL_INDEX") != "1" {
		t.Skip("set ENVBUILD_TEST_REAL_INDEX=1 to ask the real index")
	}
	env := map[string]string{}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	indexes, err := FromPipConfig(env, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	c, err := New(Options{Indexes: indexes, CacheDir: t.TempDir(), Log: &log, ExcludeNewer: time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	p, err := c.Project(ctx, "Requests")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("project page: %d files in %s", len(p.Files), time.Since(start))
	var wheel *File
	for i := range p.Files {
		if p.Files[i].Filename == "requests-2.32.3-py3-none-any.whl" {
			wheel = &p.Files[i]
		}
	}
	if wheel == nil {
		t.Fatalf("requests-2.32.3-py3-none-any.whl not among %d files", len(p.Files))
	}
	if wheel.Hashes["sha256"] == "" || wheel.RequiresPython != ">=3.8" {
		t.Errorf("wheel = %+v, want a sha256 and requires-python >=3.8", *wheel)
	}
	start = time.Now()
	md, err := c.Metadata(ctx, *wheel)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("metadata in %s: %+v", time.Since(start), md)
	if md.Name != "requests" || md.Version != "2.32.3" || len(md.RequiresDist) == 0 {
		t.Errorf("metadata = %+v", md)
	}
	// The same wheel through range requests, as for an index without
	// metadata files.
	c.setHostFlag(c.noMetaProbe, hostOf(wheel.URL))
	raw, err := c.wheelMetadataByRange(ctx, *wheel)
	if err != nil || raw == nil {
		t.Fatalf("range read: %v (nil data: %v)", err, raw == nil)
	}
	if !strings.Contains(string(raw), "Requires-Dist: charset-normalizer") {
		t.Errorf("range-read METADATA lacks charset-normalizer:\n%s", raw)
	}
	// The HTML form of the same page lists the same files with the same
	// hashes and requires-python.
	u, _ := url.Parse(strings.TrimSuffix(indexes[0].URL, "/") + "/requests/")
	e, err := c.f.GetCached(ctx, u, "text/html", "raw", func(body []byte, _ string, _ *url.URL) ([]byte, error) { return body, nil })
	if err != nil {
		t.Fatal(err)
	}
	htmlFiles, err := parseHTMLPage(e.Body, u)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := New(Options{Indexes: indexes, CacheDir: t.TempDir()})
	all, err := c2.Project(ctx, "requests")
	if err != nil {
		t.Fatal(err)
	}
	if len(htmlFiles) != len(all.Files) {
		t.Fatalf("HTML lists %d files, JSON %d", len(htmlFiles), len(all.Files))
	}
	byName := map[string]File{}
	for _, f := range all.Files {
		byName[f.Filename] = f
	}
	for i, h := range htmlFiles {
		j := byName[h.Filename]
		if h.Filename != j.Filename || h.URL != j.URL || h.Hashes["sha256"] != j.Hashes["sha256"] || h.RequiresPython != j.RequiresPython || h.Yanked != j.Yanked || h.CoreMetadata != j.CoreMetadata {
			t.Errorf("file %d differs:\nHTML %+v\nJSON %+v", i, h, j)
		}
	}
	t.Logf("log:\n%s", log.String())
}
