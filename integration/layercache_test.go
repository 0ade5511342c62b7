package integration

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envbuild/envbuild/integration/testbed"
)

// indexLayers returns each platform's layer digests of a manifest list.
func indexLayers(t *testing.T, ref string) map[string][]string {
	t.Helper()
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("%s is not a manifest list: %v", ref, err)
	}
	m, _ := idx.IndexManifest()
	out := map[string][]string{}
	for _, d := range m.Manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		out[d.Platform.OS+"/"+d.Platform.Architecture] = layerDigests(t, img)
	}
	return out
}

// A fresh builder reuses a teammate's layers from the registry: on a
// second buildkitd, a pin changed, two platforms (a manifest list), the
// image built reuses the first image's layer blobs, installs only the
// changed package, and runs. The same environment from another repository
// with every layer in the teammate's cache needs no BuildKit at all and
// gives the digest a build without the cache gives.
func TestLayerCacheAcrossBuilders(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	teammate, err := bed.StartExtraBuildkitd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ci, err := bed.StartExtraBuildkitd(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ns := uniqueName(t)
	repo := bed.Registry + "/" + ns + "/team"
	pkgs := func(idna string) []string {
		return []string{"--pypi", "six==1.16.0", "--pypi", "idna==" + idna, "--pypi", "markupsafe==2.1.5", "--base", bed.BaseMulti, "--platform", "linux/amd64", "--platform", "linux/arm64"}
	}
	first := mustBuild(t, t.TempDir(), nil, append(pkgs("3.6"), "--registry", repo, "--buildkit-addr", teammate)...)
	if first.LayersBuilt != 6 || first.LayersReused != 0 {
		t.Fatalf("the teammate's cold build: %+v", first)
	}

	// CI, on a fresh builder, one pin changed.
	second := mustBuild(t, t.TempDir(), nil, append(pkgs("3.7"), "--registry", repo, "--buildkit-addr", ci)...)
	if second.LayersBuilt != 2 || second.LayersReused != 4 {
		t.Errorf("one pin changed on a fresh builder: built %d layers, reused %d; want 2 and 4", second.LayersBuilt, second.LayersReused)
	}
	a, b := indexLayers(t, first.Image), indexLayers(t, second.Image)
	for _, p := range []string{"linux/amd64", "linux/arm64"} {
		if len(a[p]) != len(b[p]) {
			t.Fatalf("%s: %d layers vs %d", p, len(a[p]), len(b[p]))
		}
		var changed int
		for i := range a[p] {
			if a[p][i] != b[p][i] {
				changed++
			}
		}
		// idna's layer and the metadata layer.
		if changed != 2 {
			t.Errorf("%s: %d layers differ from the teammate's image; want idna's and the metadata layer", p, changed)
		}
	}
	out, errOut, code, err := bed.Run(ctx, second.Image, "linux/amd64", []string{"python", "-c", "import six, idna, markupsafe; print(idna.__version__, markupsafe.escape('<'))"}, nil)
	if err != nil || code != 0 || strings.TrimSpace(string(out)) != "3.7 &lt;" {
		t.Errorf("the image built from cached layers does not run: %v exit %d %q %q", err, code, out, errOut)
	}

	// The same environment in another repository, BuildKit unreachable,
	// the teammate's repository as the layer cache: no layer is built or
	// uploaded, and the digest is the teammate's.
	noDaemon := "unix:///nonexistent/buildkitd.sock"
	other := mustBuild(t, t.TempDir(), nil, append(pkgs("3.6"), "--registry", bed.Registry+"/"+ns+"/ci", "--layer-cache-repo", repo, "--buildkit-addr", noDaemon)...)
	if other.Cached || other.LayersBuilt != 0 || other.LayersReused != 6 || other.Digest != first.Digest {
		t.Errorf("every layer cached: %+v; want the teammate's digest %s", other, first.Digest)
	}
	if other.PushedBytes > 64<<10 {
		t.Errorf("every layer cached, yet %d bytes were uploaded (layers copied instead of mounted?)", other.PushedBytes)
	}
	// And with the layer cache off, on a fresh builder: the same digest.
	off := mustBuild(t, t.TempDir(), nil, append(pkgs("3.6"), "--registry", bed.Registry+"/"+ns+"/nocache", "--layer-cache", "off", "--buildkit-addr", ci)...)
	if off.LayersReused != 0 || off.LayersBuilt != 6 || off.Digest != first.Digest {
		t.Errorf("--layer-cache=off: %+v; want every layer built and digest %s", off, first.Digest)
	}
	// read: reused, nothing recorded.
	read := mustBuild(t, t.TempDir(), nil, "--pypi", "six==1.16.0", "--pypi", "certifi==2024.2.2", "--base", bed.Base, "--registry", bed.Registry+"/"+ns+"/readonly", "--layer-cache", "read", "--layer-cache-repo", repo, "--buildkit-addr", ci)
	if read.LayersReused != 1 || read.LayersBuilt != 1 {
		t.Errorf("--layer-cache=read: %+v", read)
	}
	tags := listTags(t, repo)
	for _, tg := range listTags(t, bed.Registry+"/"+ns+"/readonly") {
		if strings.HasPrefix(tg, "layer-") {
			t.Errorf("--layer-cache=read recorded %s", tg)
		}
	}
	// The compile root is recorded for linux/amd64 only: arm64's bytecode
	// is not compiled on an amd64 BuildKit.
	if n := countPrefix(tags, "layer-"); n != 9 {
		t.Errorf("%d layer records in %s, want 9 (6 + idna 3.7 on two platforms + the amd64 base's compile root): %v", n, repo, tags)
	}
}

func countPrefix(ss []string, p string) int {
	n := 0
	for _, s := range ss {
		if strings.HasPrefix(s, p) {
			n++
		}
	}
	return n
}

// A record whose blob was deleted from the registry is not trusted: the
// layer is installed again (and recorded again). A registry that refuses
// cross-repository mounts gets the cached layers copied, which counts in
// the bytes uploaded. A layer built from an sdist is not reused on
// another base.
func TestLayerCacheFaults(t *testing.T) {
	bed := testbed.Require(t)
	ns := uniqueName(t)
	cache := bed.Registry + "/" + ns + "/cache"
	first := mustBuild(t, t.TempDir(), nil, "--pypi", "six==1.16.0", "--pypi", "certifi==2024.2.2", "--base", bed.Base, "--registry", bed.Registry+"/"+ns+"/a", "--layer-cache-repo", cache)
	if first.LayersBuilt != 2 {
		t.Fatalf("first build %+v", first)
	}
	img := image(t, first.Image)
	baseLayers := len(layerDigests(t, image(t, bed.Base)))
	six := layerDigests(t, img)[baseLayers+1] // certifi, six, metadata
	del, _ := http.NewRequest(http.MethodDelete, "http://"+bed.Registry+"/v2/"+ns+"/cache/blobs/"+six, nil)
	resp, err := http.DefaultClient.Do(del)
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("deleting %s from the registry: %v %v", six, err, resp)
	}
	r := envbuild(t, t.TempDir(), nil, "build", "--json", "--progress", "plain", "--pypi", "six==1.16.0", "--pypi", "certifi==2024.2.2", "--base", bed.Base, "--registry", bed.Registry+"/"+ns+"/b", "--layer-cache-repo", cache)
	if r.code != 0 {
		t.Fatalf("build after a blob was deleted: exit %d\n%s", r.code, tail(r.stderr, 30))
	}
	var again result
	if err := jsonUnmarshal(r.stdout, &again); err != nil {
		t.Fatal(err)
	}
	if again.LayersBuilt != 1 || again.LayersReused != 1 || again.Digest != first.Digest {
		t.Errorf("after six's blob was deleted: %+v; want six rebuilt, certifi reused, digest %s", again, first.Digest)
	}
	if !strings.Contains(r.stderr, "does not have") {
		t.Errorf("the build did not say why it rebuilt six's layer:\n%s", tail(r.stderr, 20))
	}

	// A registry (here a proxy in front of one) that refuses to mount.
	target, _ := url.Parse("http://" + bed.Registry)
	var mounts atomic.Int32
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if q := req.URL.Query(); q.Get("mount") != "" {
			mounts.Add(1)
			q.Del("mount")
			q.Del("from")
			req.URL.RawQuery = q.Encode()
		}
		proxy.ServeHTTP(w, req)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	copied := mustBuild(t, t.TempDir(), nil, "--pypi", "six==1.16.0", "--pypi", "certifi==2024.2.2", "--base", bed.Base, "--registry", host+"/"+ns+"/c", "--layer-cache-repo", host+"/"+ns+"/cache", "--buildkit-addr", "unix:///nonexistent/buildkitd.sock")
	var sizes int64
	m, _ := img.Manifest()
	for _, l := range m.Layers {
		sizes += l.Size
	}
	if copied.LayersReused != 2 || copied.Digest != first.Digest || mounts.Load() == 0 || copied.PushedBytes < sizes {
		t.Errorf("mounts refused: %+v after %d mount requests; want the layers copied (>= %d bytes) and digest %s", copied, mounts.Load(), sizes, first.Digest)
	}

	// An sdist-built layer keys on the base: on the swapped base it is
	// built again, while six's wheel layer is reused.
	sd := mustBuild(t, t.TempDir(), nil, "--pypi", "docopt==0.6.2", "--pypi", "six==1.16.0", "--allow-sdist", "--base", bed.Base, "--registry", bed.Registry+"/"+ns+"/sdist")
	swap := mustBuild(t, t.TempDir(), nil, "--pypi", "docopt==0.6.2", "--pypi", "six==1.16.0", "--allow-sdist", "--base", bed.BaseSwap, "--registry", bed.Registry+"/"+ns+"/sdist")
	if sd.LayersBuilt != 2 || swap.LayersBuilt != 1 || swap.LayersReused != 1 {
		t.Errorf("sdist on two bases: first %+v, swapped %+v; want docopt built on each and six reused", sd, swap)
	}
}

// uniqueName is a repository namespace of its own for each run, so a test
// bed kept running between runs starts every run with an empty cache.
func uniqueName(t *testing.T) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "lc" + hex.EncodeToString(b)
}

// What one machine read of a base is recorded beside the layers: another
// machine, with an empty cache, learns the base's target from the record
// and downloads none of the base's layers to build an environment whose
// layers are all cached.
func TestBaseRecordsSpareReadingTheBase(t *testing.T) {
	bed := testbed.Require(t)
	ns := uniqueName(t)
	target, _ := url.Parse("http://" + bed.Registry)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var baseReads atomic.Int32
	baseLayers := map[string]bool{}
	for _, d := range layerDigests(t, image(t, bed.Base)) {
		baseLayers[d] = true
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") && baseLayers[req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]] {
			baseReads.Add(1)
		}
		proxy.ServeHTTP(w, req)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	base := host + strings.TrimPrefix(bed.Base, bed.Registry)
	args := []string{"--pypi", "six==1.16.0", "--base", base, "--registry", host + "/" + ns + "/envs"}
	first := mustBuild(t, t.TempDir(), []string{"XDG_CACHE_HOME=" + t.TempDir()}, args...)
	if baseReads.Load() == 0 {
		t.Fatal("the first build read no base layer through the proxy: the test proves nothing")
	}
	if tags := listTags(t, bed.Registry+"/"+ns+"/envs"); countPrefix(tags, "base-") != 1 {
		t.Errorf("no base record was written: %v", tags)
	}
	baseReads.Store(0)
	// Another machine: an empty cache, no BuildKit, another repository
	// reading the first one's records.
	other := mustBuild(t, t.TempDir(), []string{"XDG_CACHE_HOME=" + t.TempDir()}, "--pypi", "six==1.16.0", "--base", base, "--registry", host+"/"+ns+"/other", "--layer-cache-repo", host+"/"+ns+"/envs", "--buildkit-addr", "unix:///nonexistent/buildkitd.sock")
	if n := baseReads.Load(); n != 0 || other.Digest != first.Digest {
		t.Errorf("a machine with an empty cache read %d base layers (digest %s, first %s)", n, other.Digest, first.Digest)
	}
}

// The teammate's build records its base's compile root (the interpreter,
// what it loads and its standard library); a fresh builder then compiles
// the one changed package's bytecode on it, pulls no layer of the base,
// and writes the bytes the base gives: its image is the one a build
// without the layer cache makes on another fresh builder.
func TestCompileRootSparesPullingTheBase(t *testing.T) {
	bed := testbed.Require(t)
	ctx := context.Background()
	var addrs []string
	for range 3 {
		a, err := bed.StartExtraBuildkitd(ctx)
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, a)
	}
	ns := uniqueName(t)
	repo := bed.Registry + "/" + ns + "/team"
	build := func(idna, addr string, more ...string) (result, string) {
		t.Helper()
		args := []string{"build", "--json", "--progress", "plain", "--pypi", "six==1.16.0", "--pypi", "idna==" + idna, "--base", bed.Base, "--buildkit-addr", addr}
		r := envbuild(t, t.TempDir(), nil, append(args, more...)...)
		if r.code != 0 {
			t.Fatalf("build failed with exit %d:\n%s", r.code, tail(r.stderr, 80))
		}
		var res result
		if err := jsonUnmarshal(r.stdout, &res); err != nil {
			t.Fatalf("no JSON result: %v\n%s", err, r.stdout)
		}
		return res, r.stderr
	}
	_, log := build("3.6", addrs[0], "--registry", repo)
	if !strings.Contains(log, "recorded the compile root of linux/amd64") {
		t.Fatalf("the teammate's build recorded no compile root:\n%s", tail(log, 40))
	}
	if n := countPrefix(listTags(t, repo), "layer-"); n != 3 {
		t.Errorf("%d layer records; want six's, idna's and the compile root's", n)
	}

	second, log := build("3.7", addrs[1], "--registry", repo)
	if second.LayersBuilt != 1 || second.LayersReused != 1 {
		t.Errorf("one pin changed on a fresh builder: %+v", second)
	}
	if !strings.Contains(log, "the base's interpreter and standard library") || regexp.MustCompile(`(?m)^#\d+ base image `).MatchString(log) {
		t.Errorf("the changed layer was not compiled on the compile root alone:\n%s", tail(log, 40))
	}
	off, _ := build("3.7", addrs[2], "--registry", bed.Registry+"/"+ns+"/nocache", "--layer-cache", "off")
	if off.Digest != second.Digest {
		t.Errorf("compiled on the compile root: %s; on the base, without the layer cache: %s (the bytecode differs?)", second.Digest, off.Digest)
	}
	out, errOut, code, err := bed.Run(ctx, second.Image, "linux/amd64", []string{"python", "-c", "import idna, importlib.util as u, os; print(idna.__version__, os.path.exists(u.cache_from_source(idna.__file__)))"}, nil)
	if err != nil || code != 0 || strings.TrimSpace(string(out)) != "3.7 True" {
		t.Errorf("the image does not run or lacks idna's bytecode: %v exit %d %q %q", err, code, out, errOut)
	}
}
