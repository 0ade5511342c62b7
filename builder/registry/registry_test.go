package registry

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/envbuild/envbuild/lock/failure"
)

// testRegistry serves an in-process registry on 127.0.0.1, optionally
// behind a wrapper, and returns its host:port.
func testRegistry(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	if wrap != nil {
		h = wrap(h)
	}
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return strings.TrimPrefix(s.URL, "http://")
}

// isolateCredentials points the default keychain at an empty home so the
// machine's own Docker config plays no part.
func isolateCredentials(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("HOME", dir)
	t.Setenv("DOCKER_CONFIG", filepath.Join(dir, ".docker"))
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, ".config"))
	return filepath.Join(dir, ".docker")
}

func platformImage(t *testing.T, platform string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// indexOf builds a manifest list of one image per platform; withPlatform
// false leaves the descriptors without a platform field.
func indexOf(t *testing.T, withPlatform bool, platforms ...string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	imgs := map[string]v1.Image{}
	for _, pl := range platforms {
		img := platformImage(t, pl)
		imgs[pl] = img
		add := mutate.IndexAddendum{Add: img}
		if withPlatform {
			p, _ := v1.ParsePlatform(pl)
			add.Descriptor = v1.Descriptor{Platform: p}
		}
		idx = mutate.AppendManifests(idx, add)
	}
	return idx, imgs
}

func push(t *testing.T, c *Client, ref string, x remote.Taggable) {
	t.Helper()
	r, err := c.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	switch v := x.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(r, v)
	case v1.Image:
		err = remote.Write(r, v)
	}
	if err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
}

func blobDigest(t *testing.T, x interface{ Digest() (v1.Hash, error) }) string {
	t.Helper()
	d, err := x.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

func TestCheckAnswers(t *testing.T) {
	isolateCredentials(t)
	host := testRegistry(t, nil)
	c := New(Options{Retries: -1})

	amd := platformImage(t, "linux/amd64")
	push(t, c, host+"/envs:amd64-only", amd)
	arm := platformImage(t, "linux/arm64")
	push(t, c, host+"/envs:arm64-only", arm)
	both, _ := indexOf(t, true, "linux/amd64", "linux/arm64/v8")
	push(t, c, host+"/envs:both", both)
	bare, _ := indexOf(t, false, "linux/amd64", "linux/arm64")
	push(t, c, host+"/envs:both-no-platform-field", bare)
	// An index as BuildKit writes it with attestations: an unknown/unknown
	// entry must not count as a platform.
	att := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{
			Platform:    &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{"vnd.docker.reference.type": "attestation-manifest"},
		}})
	push(t, c, host+"/envs:with-attestation", att)

	tests := []struct {
		name        string
		ref         string
		platforms   []string
		wantCached  bool
		wantDigest  string
		wantHave    []string
		wantMissing []string
	}{
		{"single image, its platform", host + "/envs:amd64-only", []string{"linux/amd64"}, true, blobDigest(t, amd), []string{"linux/amd64"}, nil},
		{"no platform asked means linux/amd64", host + "/envs:amd64-only", nil, true, blobDigest(t, amd), []string{"linux/amd64"}, nil},
		{"other platform only", host + "/envs:arm64-only", []string{"linux/amd64"}, false, blobDigest(t, arm), []string{"linux/arm64"}, []string{"linux/amd64"}},
		{"arm64/v8 is arm64", host + "/envs:arm64-only", []string{"linux/arm64/v8"}, true, blobDigest(t, arm), []string{"linux/arm64"}, nil},
		{"index with both", host + "/envs:both", []string{"linux/amd64", "linux/arm64"}, true, blobDigest(t, both), []string{"linux/amd64", "linux/arm64"}, nil},
		{"index, one asked", host + "/envs:both", []string{"linux/arm64"}, true, blobDigest(t, both), []string{"linux/amd64", "linux/arm64"}, nil},
		{"index without platform fields", host + "/envs:both-no-platform-field", []string{"linux/amd64", "linux/arm64"}, true, blobDigest(t, bare), []string{"linux/amd64", "linux/arm64"}, nil},
		{"attestation is not a platform", host + "/envs:with-attestation", []string{"linux/amd64", "linux/arm64"}, false, blobDigest(t, att), []string{"linux/amd64"}, []string{"linux/arm64"}},
		{"tag absent (MANIFEST_UNKNOWN)", host + "/envs:env-0000000000000000", []string{"linux/amd64"}, false, "", nil, []string{"linux/amd64"}},
		{"repository absent (NAME_UNKNOWN)", host + "/nothing/here:env-0000000000000000", []string{"linux/amd64"}, false, "", nil, []string{"linux/amd64"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Check(context.Background(), tt.ref, tt.platforms)
			if err != nil {
				t.Fatalf("Check(%q): %v", tt.ref, err)
			}
			want := CheckResult{Cached: tt.wantCached, Digest: tt.wantDigest, Platforms: tt.wantHave, MissingPlatforms: tt.wantMissing}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Check(%q, %q) = %+v, want %+v", tt.ref, tt.platforms, got, want)
			}
		})
	}
}

// answer replies status to every request, with a registry error body.
func answer(status int, header map[string]string, count *atomic.Int32) func(http.Handler) http.Handler {
	return func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if count != nil {
				count.Add(1)
			}
			for k, v := range header {
				w.Header().Set(k, v)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			code := map[int]string{401: "UNAUTHORIZED", 403: "DENIED"}[status]
			if code == "" {
				code = "UNKNOWN"
			}
			io.WriteString(w, `{"errors":[{"code":"`+code+`","message":"test says no"}]}`)
		})
	}
}

// onManifests lets the registry answer everything but manifest requests,
// which get status.
func onManifests(status int) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		fail := answer(status, nil, nil)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.Contains(r.URL.Path, "/manifests/") {
				fail.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// hang never answers until the client goes away.
func hang(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
}

// stallManifests answers manifest requests with headers and a few bytes,
// then stops sending.
func stallManifests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, "/manifests/") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, `{"schemaVersion": 2,`)
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
}

// refusedHost is an address on which nothing listens.
func refusedHost(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestCheckAndResolveFailuresAreInfra(t *testing.T) {
	isolateCredentials(t)
	basic := map[string]string{"WWW-Authenticate": `Basic realm="test"`}
	tests := []struct {
		name     string
		host     string
		contains []string
	}{
		{"401", testRegistry(t, answer(401, basic, nil)), []string{"refused access (401 Unauthorized)", "config.json", "docker login"}},
		{"403", testRegistry(t, answer(403, nil, nil)), []string{"denied access (403 Forbidden)", "config.json"}},
		{"500", testRegistry(t, answer(500, nil, nil)), []string{"failed (500 Internal Server Error)"}},
		{"502", testRegistry(t, answer(502, nil, nil)), []string{"failed (502 Bad Gateway)"}},
		{"500 on the manifest only", testRegistry(t, onManifests(500)), []string{"failed (500 Internal Server Error)"}},
		{"403 on the manifest only", testRegistry(t, onManifests(403)), []string{"denied access (403 Forbidden)"}},
		{"400 on the manifest", testRegistry(t, onManifests(400)), []string{"answered 400 Bad Request"}},
		{"timeout", testRegistry(t, hang), []string{"did not answer within 300ms"}},
		{"stalled body", testRegistry(t, stallManifests), []string{"did not answer within 300ms"}},
		{"connection refused", refusedHost(t), []string{"connection refused", "is the registry running at"}},
	}
	c := New(Options{Retries: -1, Timeout: 300 * time.Millisecond})
	for _, tt := range tests {
		ref := tt.host + "/team/envs:env-3f9c0a1b2c3d4e5f"
		t.Run("check "+tt.name, func(t *testing.T) {
			got, err := c.Check(context.Background(), ref, []string{"linux/amd64"})
			if err == nil {
				t.Fatalf("Check(%q) = %+v, want an error", ref, got)
			}
			if got.Cached {
				t.Errorf("Check(%q) said cached on error", ref)
			}
			checkInfra(t, err, append(tt.contains, ref, tt.host))
		})
		t.Run("resolve "+tt.name, func(t *testing.T) {
			_, err := c.Resolve(context.Background(), ref, nil)
			if err == nil {
				t.Fatalf("Resolve(%q) succeeded, want an error", ref)
			}
			checkInfra(t, err, append(tt.contains, ref, tt.host))
		})
	}
}

func checkInfra(t *testing.T, err error, contains []string) {
	t.Helper()
	if k := failure.KindOf(err); k != failure.KindInfra {
		t.Errorf("error %q has kind %d, want %d (infrastructure)", err, k, failure.KindInfra)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q spans several lines", err)
	}
}

func TestServerErrorIsRetriedThenReported(t *testing.T) {
	isolateCredentials(t)
	var n atomic.Int32
	host := testRegistry(t, answer(503, nil, &n))
	c := New(Options{Retries: 1})
	_, err := c.Check(context.Background(), host+"/envs:env-1", nil)
	if err == nil || failure.KindOf(err) != failure.KindInfra {
		t.Fatalf("Check on a 503 registry: err = %v, want an infrastructure error", err)
	}
	if got := n.Load(); got < 2 {
		t.Errorf("registry saw %d requests, want at least 2 (one retry)", got)
	}
}

// basicAuth wraps a registry so that it wants user:pass.
func basicAuth(user, pass string) func(http.Handler) http.Handler {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != want {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

func writeDockerConfig(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialsFromDockerConfig(t *testing.T) {
	dir := isolateCredentials(t)
	const secret = "s3cr3t-Pa55word"
	host := testRegistry(t, basicAuth("envbuild", secret))
	ref := host + "/team/envs:tag"

	// Push with explicit credentials, then read with the Docker config's.
	img := platformImage(t, "linux/amd64")
	r, _ := New(Options{}).Parse(ref)
	if err := remote.Write(r, img, remote.WithAuth(&authn.Basic{Username: "envbuild", Password: secret})); err != nil {
		t.Fatal(err)
	}

	c := New(Options{Retries: -1})
	tests := []struct {
		name       string
		config     string // "" means no config file
		wantCached bool
		contains   []string
	}{
		{"no config file", "", false, []string{"does not exist", "docker login " + host}},
		{"no entry for the host", `{"auths":{"other.example.com":{"auth":"eDp5"}}}`, false, []string{"has no entry for " + host, "other.example.com"}},
		{"wrong password", `{"auths":{"` + host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("envbuild:wrong-"+secret)) + `"}}}`, false, []string{"\"auths\" entry", "still valid"}},
		{"right password", `{"auths":{"http://` + host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("envbuild:"+secret)) + `"}}}`, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(dir)
			if tt.config != "" {
				writeDockerConfig(t, dir, tt.config)
			}
			got, err := c.Check(context.Background(), ref, nil)
			if tt.wantCached {
				if err != nil || !got.Cached {
					t.Fatalf("Check(%q) = %+v, %v; want cached", ref, got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check(%q) = %+v, want a 401 error", ref, got)
			}
			checkInfra(t, err, append(tt.contains, ref))
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), base64.StdEncoding.EncodeToString([]byte("envbuild:wrong-"+secret))) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

type staticKeychain struct{ a authn.Authenticator }

func (k staticKeychain) Resolve(authn.Resource) (authn.Authenticator, error) { return k.a, nil }

func TestCustomKeychainHint(t *testing.T) {
	host := testRegistry(t, basicAuth("u", "p"))
	c := New(Options{Retries: -1, Keychain: staticKeychain{authn.Anonymous}})
	_, err := c.Check(context.Background(), host+"/x:y", nil)
	if err == nil {
		t.Fatal("Check with no credentials succeeded")
	}
	checkInfra(t, err, []string{"keychain envbuild was given"})
}

func TestResolve(t *testing.T) {
	isolateCredentials(t)
	host := testRegistry(t, nil)
	c := New(Options{Retries: -1})
	single := platformImage(t, "linux/amd64")
	push(t, c, host+"/base:single", single)
	idx, imgs := indexOf(t, true, "linux/amd64", "linux/arm64/v8", "linux/s390x")
	push(t, c, host+"/base:multi", idx)

	t.Run("single manifest", func(t *testing.T) {
		got, err := c.Resolve(context.Background(), host+"/base:single", []string{"linux/amd64"})
		if err != nil {
			t.Fatal(err)
		}
		if got.IndexDigest != "" {
			t.Errorf("IndexDigest = %q, want empty for a single manifest", got.IndexDigest)
		}
		if got.Repository != host+"/base" || got.Ref != host+"/base:single" {
			t.Errorf("Repository, Ref = %q, %q; want %q, %q", got.Repository, got.Ref, host+"/base", host+"/base:single")
		}
		pi, ok := got.Platforms["linux/amd64"]
		if !ok {
			t.Fatalf("Platforms = %v, want linux/amd64", got.Platforms)
		}
		if want := blobDigest(t, single); pi.ManifestDigest != want {
			t.Errorf("ManifestDigest = %q, want %q", pi.ManifestDigest, want)
		}
		if pi.Config == nil || pi.Config.Architecture != "amd64" {
			t.Errorf("Config = %+v, want the amd64 config", pi.Config)
		}
		if d := blobDigest(t, pi.Image); d != pi.ManifestDigest {
			t.Errorf("Image digest %q, want %q", d, pi.ManifestDigest)
		}
		if got, want := got.DigestRef("linux/amd64"), host+"/base@"+blobDigest(t, single); got != want {
			t.Errorf("DigestRef = %q, want %q", got, want)
		}
	})
	t.Run("index, two platforms, arm64 variant v8 equivalent", func(t *testing.T) {
		got, err := c.Resolve(context.Background(), host+"/base:multi", []string{"linux/amd64", "linux/arm64"})
		if err != nil {
			t.Fatal(err)
		}
		if want := blobDigest(t, idx); got.IndexDigest != want {
			t.Errorf("IndexDigest = %q, want %q", got.IndexDigest, want)
		}
		for req, pl := range map[string]string{"linux/amd64": "linux/amd64", "linux/arm64": "linux/arm64/v8"} {
			pi := got.Platforms[req]
			if want := blobDigest(t, imgs[pl]); pi.ManifestDigest != want || pi.Platform != req {
				t.Errorf("Platforms[%q] = %q %q, want %q %q", req, pi.Platform, pi.ManifestDigest, req, want)
			}
		}
	})

	userErrors := []struct {
		name      string
		ref       string
		platforms []string
		contains  []string
	}{
		{"tag not found", host + "/base:nope", nil, []string{`base image "` + host + `/base:nope" not found in registry ` + host, "manifest unknown", "--base"}},
		{"repository not found", host + "/missing/repo:1", nil, []string{"not found in registry " + host}},
		{"platform missing from index", host + "/base:multi", []string{"linux/ppc64le"}, []string{"has no linux/ppc64le image", "linux/amd64, linux/arm64, linux/s390x"}},
		{"platform missing from single", host + "/base:single", []string{"linux/arm64"}, []string{"has no linux/arm64 image", "it has linux/amd64"}},
		{"malformed reference", host + "/Base:UPPER?", nil, []string{"reading image reference"}},
		{"malformed platform", host + "/base:single", []string{"amd64"}, []string{`reading platform "amd64"`}},
	}
	for _, tt := range userErrors {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Resolve(context.Background(), tt.ref, tt.platforms)
			if err == nil {
				t.Fatalf("Resolve(%q, %q) succeeded, want an error", tt.ref, tt.platforms)
			}
			if k := failure.KindOf(err); k != failure.KindUser {
				t.Errorf("error %q has kind %d, want %d (user)", err, k, failure.KindUser)
			}
			for _, s := range tt.contains {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

func TestCheckMalformedRef(t *testing.T) {
	c := New(Options{})
	_, err := c.Check(context.Background(), "Not A Ref", nil)
	if err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), `"Not A Ref"`) {
		t.Errorf("Check(malformed) error = %v, want a user error quoting the reference", err)
	}
}

func TestBlobsExist(t *testing.T) {
	isolateCredentials(t)
	host := testRegistry(t, nil)
	c := New(Options{Retries: -1})
	img := platformImage(t, "linux/amd64")
	push(t, c, host+"/envs:x", img)
	layers, _ := img.Layers()
	present := blobDigest(t, layers[0])
	absent := "sha256:" + strings.Repeat("ab", 32)
	got, err := c.BlobsExist(context.Background(), host+"/envs", []string{present, absent})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]bool{present: true, absent: false}; !reflect.DeepEqual(got, want) {
		t.Errorf("BlobsExist = %v, want %v", got, want)
	}

	bad := testRegistry(t, answer(500, nil, nil))
	if _, err := c.BlobsExist(context.Background(), bad+"/envs", []string{present}); err == nil || failure.KindOf(err) != failure.KindInfra {
		t.Errorf("BlobsExist on a failing registry: err = %v, want an infrastructure error", err)
	}
	if _, err := c.BlobsExist(context.Background(), host+"/envs", []string{"md5:x"}); err == nil {
		t.Error("BlobsExist accepted a malformed digest")
	}
}

func TestIsLoopback(t *testing.T) {
	tests := map[string]bool{
		"localhost":           true,
		"localhost:5000":      true,
		"127.0.0.1":           true,
		"127.1.2.3:5000":      true,
		"[::1]:5000":          true,
		"::1":                 true,
		"registry.local:5000": false,
		"10.0.0.1:5000":       false,
		"localhost.evil.com":  false,
		"128.0.0.1":           false,
		"index.docker.io":     false,
	}
	for host, want := range tests {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestParseMarksInsecureHosts(t *testing.T) {
	c := New(Options{InsecureHosts: []string{"reg.internal:5000", "plain.example.com"}})
	tests := []struct {
		ref        string
		wantScheme string
	}{
		{"reg.internal:5000/a/b:1", "http"},
		{"plain.example.com/a:1", "http"},
		{"plain.example.com:8443/a:1", "http"}, // the host without port is listed
		{"localhost:5000/a:1", "http"},
		{"registry.example.com/a:1", "https"},
		{"reg.internal:5001/a:1", "https"},
	}
	for _, tt := range tests {
		r, err := c.Parse(tt.ref)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.ref, err)
		}
		if got := r.Context().Scheme(); got != tt.wantScheme {
			t.Errorf("Parse(%q) scheme = %q, want %q", tt.ref, got, tt.wantScheme)
		}
	}
	for _, bad := range []string{"a:b:c:d", "http://localhost:5000/a:1"} {
		if _, err := c.Parse(bad); err == nil || failure.KindOf(err) != failure.KindUser || !strings.Contains(err.Error(), "reading image reference") {
			t.Errorf("Parse(%q) error = %v, want a user error", bad, err)
		}
	}
}

func TestNormalizePlatform(t *testing.T) {
	tests := []struct{ in, want string }{
		{"linux/amd64", "linux/amd64"},
		{"Linux/AMD64", "linux/amd64"},
		{"linux/amd64/v1", "linux/amd64"},
		{"linux/amd64/v3", "linux/amd64/v3"},
		{"linux/arm64/v8", "linux/arm64"},
		{"linux/arm/v7", "linux/arm/v7"},
		{"linux", ""},
		{"linux/amd64/v1/x", ""},
	}
	for _, tt := range tests {
		got, err := NormalizePlatform(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("NormalizePlatform(%q) = %q, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("NormalizePlatform(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// An index holding a platform variant the request does not name is still a
// match for the bare architecture.
func TestPickFallsBackToVariant(t *testing.T) {
	entries := []platformEntry{{platform: "linux/arm/v7"}, {platform: "linux/amd64/v3"}}
	if e, ok := pick(entries, "linux/amd64"); !ok || e.platform != "linux/amd64/v3" {
		t.Errorf("pick(linux/amd64) = %+v %v, want linux/amd64/v3", e, ok)
	}
	if _, ok := pick(entries, "linux/arm/v6"); ok {
		t.Error("pick(linux/arm/v6) matched another variant")
	}
}

// A loopback registry speaking HTTPS with a certificate nobody signed is
// used as Docker uses it: without verifying the certificate.
func TestLoopbackTLSWithoutVerification(t *testing.T) {
	isolateCredentials(t)
	s := httptest.NewTLSServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(s.Close)
	ref := strings.TrimPrefix(s.URL, "https://") + "/envs:tls"
	c := New(Options{Retries: -1})
	img := platformImage(t, "linux/amd64")
	r, err := c.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img, remote.WithTransport(s.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Check(context.Background(), ref, nil)
	if err != nil || !got.Cached || got.Digest != blobDigest(t, img) {
		t.Errorf("Check(%q) = %+v, %v; want cached with %s", ref, got, err, blobDigest(t, img))
	}
}

// A server that answers 404 to everything is not a registry saying "no
// such tag": that is not an answer, so it is an error.
func TestNotARegistryIsNotAbsence(t *testing.T) {
	isolateCredentials(t)
	host := testRegistry(t, func(http.Handler) http.Handler { return http.NotFoundHandler() })
	ref := host + "/envs:env-1"
	got, err := New(Options{Retries: -1}).Check(context.Background(), ref, nil)
	if err == nil {
		t.Fatalf("Check(%q) = %+v, want an error", ref, got)
	}
	checkInfra(t, err, []string{"does not answer as a registry", "GET /v2/: 404 Not Found", ref})
}

func TestIdleBodyCountsOnlyWaiting(t *testing.T) {
	const timeout = 50 * time.Millisecond
	cancelled := false
	slow := newIdleBody(io.NopCloser(strings.NewReader("ab")), timeout, func() { cancelled = true })
	buf := make([]byte, 1)
	if _, err := slow.Read(buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * timeout) // the reader's own work
	if _, err := slow.Read(buf); err != nil {
		t.Errorf("Read after a slow reader: %v, want no error", err)
	}
	slow.Close()
	if !cancelled {
		t.Error("Close did not release the request")
	}

	pr, pw := io.Pipe()
	defer pw.Close()
	stalled := newIdleBody(pr, timeout, func() { pw.CloseWithError(context.Canceled) })
	start := time.Now()
	_, err := stalled.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Read of a stalled body: %v, want a timeout", err)
	}
	if d := time.Since(start); d > 20*timeout {
		t.Errorf("stalled Read returned after %s, want about %s", d, timeout)
	}
}
