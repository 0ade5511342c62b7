package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/moby/buildkit/client"
	digest "github.com/opencontainers/go-digest"

	"github.com/envbuild/envbuild/lock/lockfile"
)

const lockText = `lock-version = 1

[[env]]
name = "default"
spec-digest = "sha256:00"

[[env.target]]
platform = "linux/amd64"
python = "3.11.2"

[[env.target.package]]
name = "requests"
version = "2.32.3"
source = "pypi"
size = 100

[[env.target.package]]
name = "certifi"
version = "2024.2.2"
source = "pypi"
size = 20
`

func TestParseLockPackages(t *testing.T) {
	tests := []struct {
		name    string
		lock    string
		want    []lockedPackage
		wantErr string
	}{
		{"sorted by name", lockText, []lockedPackage{
			{Name: "certifi", Version: "2024.2.2", Source: lockfile.SourcePyPI, Size: 20},
			{Name: "requests", Version: "2.32.3", Source: lockfile.SourcePyPI, Size: 100},
		}, ""},
		{"no amd64 target", strings.Replace(lockText, "linux/amd64", "linux/arm64", 1), nil, "no linux/amd64 target"},
		{"two environments", lockText + "\n[[env]]\nname = \"other\"\n", nil, "want one environment, found 2"},
		{"not TOML", "lock-version = ", nil, "parsing the lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseLockPackages("envbuild.lock", []byte(tt.lock))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseLockPackages: got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseLockPackages: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequirementsTxt(t *testing.T) {
	pkgs, err := parseLockPackages("envbuild.lock", []byte(lockText))
	if err != nil {
		t.Fatal(err)
	}
	got, err := requirementsTxt(pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if want := "certifi==2024.2.2\nrequests==2.32.3\n"; got != want {
		t.Errorf("requirementsTxt: got %q, want %q", got, want)
	}
	if got, want := artifactBytes(pkgs), int64(120); got != want {
		t.Errorf("artifactBytes: got %d, want %d", got, want)
	}
	_, err = requirementsTxt([]lockedPackage{{Name: "numpy", Version: "1.26", Source: lockfile.SourceConda}})
	if err == nil || !strings.Contains(err.Error(), `"numpy"`) {
		t.Errorf("requirementsTxt of a conda package: got error %v, want one naming \"numpy\"", err)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v): got %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestRotated(t *testing.T) {
	tests := []struct {
		run  int
		want []string
	}{
		{0, []string{"envbuild", "uv", "pip"}},
		{1, []string{"uv", "pip", "envbuild"}},
		{2, []string{"pip", "envbuild", "uv"}},
		{3, []string{"envbuild", "uv", "pip"}},
	}
	for _, tt := range tests {
		if got := rotated(tools, tt.run); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("rotated(tools, %d): got %v, want %v", tt.run, got, tt.want)
		}
	}
}

func TestNewBlobs(t *testing.T) {
	img := imageBlobs{
		Config:     blobSet{"cfg": 5},
		Layers:     blobSet{"base": 1000, "numpy": 300, "tzdata": 40, "meta": 2},
		LayerCount: 4,
		Names:      map[string]string{"base": "debootstrap", "numpy": "envbuild: install numpy 2.0", "tzdata": "envbuild: install tzdata 2024.1", "meta": "envbuild: environment default metadata"},
	}
	base := blobSet{"base": 1000, "basecfg": 3}
	tests := []struct {
		name  string
		known blobSet
		want  pushed
	}{
		{"new repository", blobSet{}, pushed{
			Bytes: 347, NewLayers: 3, Layers: 4, ImageBytes: 342,
			NewLayerNames: []string{"envbuild: environment default metadata", "envbuild: install numpy 2.0", "envbuild: install tzdata 2024.1"},
		}},
		{"one pin changed", blobSet{"numpy": 300, "meta": 2, "oldtz": 41, "oldcfg": 5}, pushed{
			Bytes: 45, NewLayers: 1, Layers: 4, ImageBytes: 342,
			NewLayerNames: []string{"envbuild: install tzdata 2024.1"},
		}},
		{"same image again", img.all(), pushed{Layers: 4, ImageBytes: 342}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newBlobs(img, base, tt.known)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("newBlobs: got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestPackageLayers(t *testing.T) {
	names := []string{"envbuild: environment default metadata", "envbuild: install numpy 2.0", "RUN pip install", ""}
	if got, want := packageLayers(names), 1; got != want {
		t.Errorf("packageLayers(%q): got %d, want %d", names, got, want)
	}
}

func TestLayerNames(t *testing.T) {
	layers := []v1.Descriptor{{Digest: v1.Hash{Algorithm: "sha256", Hex: "aa"}}, {Digest: v1.Hash{Algorithm: "sha256", Hex: "bb"}}}
	tests := []struct {
		name    string
		history []v1.History
		want    map[string]string
	}{
		{"empty layers skipped", []v1.History{{CreatedBy: "FROM"}, {CreatedBy: "ENV X=1", EmptyLayer: true}, {CreatedBy: "RUN pip"}},
			map[string]string{"sha256:aa": "FROM", "sha256:bb": "RUN pip"}},
		{"counts differ", []v1.History{{CreatedBy: "only one"}}, map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := layerNames(layers, tt.history); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("layerNames: got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDockerfile(t *testing.T) {
	tests := []struct {
		tool    string
		want    []string
		wantErr bool
	}{
		{"pip", []string{"FROM reg/base:1\n", "python3 -m venv /opt/venv", "/opt/venv/bin/pip install -r /tmp/requirements.txt", "COPY requirements.txt"}, false},
		{"uv", []string{"FROM reg/base:1\n", "RUN python3 -m venv /opt/venv\n", "--mount=type=cache,target=/root/.cache/uv", "uv pip install --no-deps --compile-bytecode --python /opt/venv/bin/python -r /tmp/requirements.txt", "source=uv,target=/usr/local/bin/uv"}, false},
		{"poetry", nil, true},
	}
	for _, tt := range tests {
		got, err := dockerfile(tt.tool, "reg/base:1")
		if tt.wantErr {
			if err == nil {
				t.Errorf("dockerfile(%q): got no error, want one", tt.tool)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("dockerfile(%q): got\n%s\nwant it to contain %q", tt.tool, got, w)
			}
		}
	}
}

func TestParseBuildResult(t *testing.T) {
	out := []byte(`{"image":"r/e:env-1@sha256:ab","digest":"sha256:ab","env_id":"1","cached":true,"platforms":["linux/amd64"],"layers":16,"pushed_bytes":0}` + "\n")
	got, err := parseBuildResult(out)
	if err != nil {
		t.Fatal(err)
	}
	want := &buildResult{Image: "r/e:env-1@sha256:ab", Digest: "sha256:ab", Cached: true, Layers: 16}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseBuildResult: got %+v, want %+v", got, want)
	}
	if _, err := parseBuildResult([]byte("envbuild: oops")); err == nil {
		t.Error("parseBuildResult of non-JSON: got no error")
	}
}

func TestBuildArgs(t *testing.T) {
	j := envbuildJob{Requirements: []string{"pandas==2.2.2", "tzdata==2024.1"}, Base: "r/base", Lock: "/w/envbuild.lock", CacheDir: "/w/c", Repository: "r/envs"}
	got := strings.Join(j.buildArgs(), " ")
	want := "build --json --progress plain --pypi pandas==2.2.2 --pypi tzdata==2024.1 --base r/base --lock /w/envbuild.lock --cache-dir /w/c --registry r/envs"
	if got != want {
		t.Errorf("buildArgs: got %q, want %q", got, want)
	}
	got = strings.Join(j.lockArgs(), " ")
	want = "lock --pypi pandas==2.2.2 --pypi tzdata==2024.1 --base r/base --lock /w/envbuild.lock --cache-dir /w/c"
	if got != want {
		t.Errorf("lockArgs: got %q, want %q", got, want)
	}
}

func TestRegistryReader(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	var rr registryReader

	got, err := rr.Repository(ctx, host+"/bench/none")
	if err != nil || len(got) != 0 {
		t.Fatalf("Repository of a missing repository: got %v, %v, want no blobs and no error", got, err)
	}

	img, err := random.Image(64, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.History = []v1.History{{CreatedBy: "first"}, {CreatedBy: "second"}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(host+"/bench/one:v0", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	ib, err := rr.Image(ctx, ref.String())
	if err != nil {
		t.Fatal(err)
	}
	m, _ := img.Manifest()
	if ib.LayerCount != 2 || len(ib.Layers) != 2 || ib.Config[m.Config.Digest.String()] != m.Config.Size {
		t.Errorf("Image: got %+v, want 2 layers and config %s", ib, m.Config.Digest)
	}
	if got, want := ib.Names[m.Layers[1].Digest.String()], "second"; got != want {
		t.Errorf("Image: layer 2 named %q, want %q", got, want)
	}
	repo, err := rr.Repository(ctx, host+"/bench/one")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(repo, ib.all()) {
		t.Errorf("Repository: got %v, want the image's blobs %v", repo, ib.all())
	}
}

func TestWriteReport(t *testing.T) {
	r := results{}
	r.add("cold", "envbuild", sample{Seconds: 10, Digest: "sha256:0123456789abcdef"})
	r.add("cold", "envbuild", sample{Seconds: 10, Digest: "sha256:0123456789abcdef"})
	r.add("cold", "uv", sample{Seconds: 20})
	r.add("cold", "uv", sample{Seconds: 40})
	r.add("cold", "pip", sample{Seconds: 40})
	r.add("pin", "envbuild", sample{Seconds: 6})
	r.add("pin", "uv", sample{Seconds: 20})
	r.add("swap", "envbuild", sample{Seconds: 3, Pushed: pushed{NewLayerNames: []string{"envbuild: install numpy 2.0"}}})
	r.add("swap", "uv", sample{Seconds: 10})
	r.add("unchanged", "envbuild", sample{Seconds: 0.4, Cached: true})
	var buf bytes.Buffer
	writeReport(&buf, r, reportInfo{Runs: 1, Spec: []string{"pandas==2.2.2"}, PinVersions: []string{"1", "2"}})
	got := buf.String()
	for _, want := range []string{
		"| cold: fresh buildkitd, new repository | 10.0 | 30.0 | 40.0 | 0.33 | 0.25 | 0.50, 0.25 | ≤ uv Dockerfile | met |",
		"| change one pin (after a warm build) | 6.0 | 20.0 | — | 0.30 | — | 0.30 | ≤ ¼ of uv Dockerfile | not met |",
		"cold image digest on 2 separate fresh buildkitds: identical (0123456789ab)",
		"no package layer re-pushed | not met (0.30x, install steps n/a, 1 re-pushed) |",
		"a registry round trip | met (cached: true) |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("writeReport: got\n%s\nwant a line containing %q", got, want)
		}
	}
}

func TestDeriveBase(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	from := host + "/bases/swap:1"
	ref, _ := name.ParseReference(from, name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	var rr registryReader
	var digests []string
	for i, marker := range []string{"run 1", "run 2"} {
		to := host + "/bench/swap-base:run-" + marker[len(marker)-1:]
		if err := deriveBase(ctx, from, to, marker); err != nil {
			t.Fatal(err)
		}
		orig, _ := rr.Image(ctx, from)
		got, err := rr.Image(ctx, to)
		if err != nil {
			t.Fatal(err)
		}
		if got.LayerCount != 2 {
			t.Fatalf("derived base %d: got %d layers, want 2", i, got.LayerCount)
		}
		for d := range orig.Layers {
			if _, ok := got.Layers[d]; !ok {
				t.Errorf("derived base %d lost the original layer %s", i, d)
			}
		}
		for d := range got.Layers {
			if _, ok := orig.Layers[d]; !ok {
				digests = append(digests, d)
				if want := "envbuild bench: base marker " + marker; got.Names[d] != want {
					t.Errorf("derived base %d: marker layer named %q, want %q", i, got.Names[d], want)
				}
			}
		}
	}
	if len(digests) != 2 || digests[0] == digests[1] {
		t.Errorf("marker layers: got %v, want two different digests", digests)
	}
}

func TestVariantOf(t *testing.T) {
	all := map[string]bool{"cold": true, "pin": true, "swap": true, "fresh-pin": true, "fresh-other-repo": true, "new-binary": true, "unchanged": true}
	tests := []struct {
		scen map[string]bool
		key  string
		run  int
		want int
	}{
		{all, "cold", 2, 0},
		{all, "unchanged", 1, 0},
		{all, "fresh-other-repo", 3, 0},
		{all, "pin", 1, 1},
		{all, "pin", 3, 3},
		{all, "swap", 2, 2},
		{all, "fresh-pin", 1, 4},
		{all, "fresh-pin", 3, 6},
		{all, "new-binary", 1, 7},
		{all, "new-binary", 3, 9},
		{map[string]bool{"cold": true, "new-binary": true}, "new-binary", 2, 2},
		{map[string]bool{"cold": true, "fresh-pin": true, "new-binary": true}, "new-binary", 1, 4},
	}
	for _, tt := range tests {
		if got := variantOf(tt.scen, 3, tt.key, tt.run); got != tt.want {
			t.Errorf("variantOf(%v, 3, %q, %d): got %d, want %d", tt.scen, tt.key, tt.run, got, tt.want)
		}
	}
	// No two scenario runs that build share a variant, except swap,
	// which rebuilds pin's variants on another base.
	seen := map[int]string{}
	for _, k := range []string{"pin", "fresh-pin", "new-binary"} {
		for run := 1; run <= 3; run++ {
			v := variantOf(all, 3, k, run)
			if v == 0 || seen[v] != "" {
				t.Errorf("variant %d of %s run %d: also %q's (or the cold builds')", v, k, run, seen[v])
			}
			seen[v] = k
		}
	}
}

func TestParseFlagsScenarios(t *testing.T) {
	dir := t.TempDir()
	bin := dir + "/envbuild"
	if err := os.WriteFile(bin, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	base := []string{"-envbuild", bin, "-uv", bin, "-ca", bin}
	tests := []struct {
		args    []string
		wantErr string
	}{
		{[]string{"-n", "3"}, ""},
		{[]string{"-n", "4"}, ""},
		{[]string{"-n", "5"}, "want at least 16 versions"},
		{[]string{"-n", "5", "-scenarios", "cold,pin,swap"}, ""},
		{[]string{"-n", "1", "-scenarios", "cold,fresh-pin,fresh-other-repo,new-binary"}, ""},
		{[]string{"-scenarios", "fresh-pin"}, "add cold"},
		{[]string{"-scenarios", "cold,swap"}, "add pin"},
		{[]string{"-scenarios", "cold,torch"}, `unknown scenario "torch"`},
		{[]string{"-n", "2", "-pin-versions", "1 2 3 4 5 6", "-scenarios", "cold,pin,fresh-pin,new-binary"}, "want at least 7 versions"},
	}
	for _, tt := range tests {
		_, err := parseFlags(append(append([]string(nil), base...), tt.args...), io.Discard, dir)
		if tt.wantErr == "" && err != nil {
			t.Errorf("parseFlags(%q): %v", tt.args, err)
		}
		if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("parseFlags(%q): got error %v, want one containing %q", tt.args, err, tt.wantErr)
		}
	}
}

func TestStepCounter(t *testing.T) {
	now := time.Now()
	d := func(s string) digest.Digest { return digest.FromString(s) }
	sc := stepCounter{}
	sc.add(&client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: d("venv"), Name: "[2/3] RUN python3 -m venv /opt/venv"},
		{Digest: d("install"), Name: "[3/3] RUN --mount=type=cache uv pip install"},
		{Digest: d("copy"), Name: "[1/3] COPY requirements.txt /tmp/requirements.txt"},
		{Digest: d("stage"), Name: "[build 2/2] RUN make"},
	}})
	sc.add(&client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: d("venv"), Cached: true, Completed: &now},
		{Digest: d("copy"), Completed: &now},
		{Digest: d("install"), Started: &now},
	}})
	sc.add(&client.SolveStatus{Vertexes: []*client.Vertex{
		{Digest: d("install"), Started: &now, Completed: &now},
	}})
	run, cached := sc.runSteps()
	if run != 1 || cached != 1 {
		t.Errorf("runSteps: got %d run, %d cached; want 1 run (install; the stage's never completed), 1 cached (venv)", run, cached)
	}
}

func TestBlobDownloads(t *testing.T) {
	log := `time="2026-12-03T08:35:29Z" level=info msg="response completed" http.request.method=GET http.request.uri="/v2/bases/debian/blobs/sha256:aaaa" http.response.status=200 http.response.written=74193384
time="2026-12-03T08:35:29Z" level=info msg="response completed" http.request.method=HEAD http.request.uri="/v2/bench/x/blobs/sha256:bbbb" http.response.status=200 http.response.written=0
time="2026-12-03T08:35:29Z" level=info msg="response completed" http.request.method=GET http.request.uri="/v2/bench/x/blobs/sha256:cccc" http.response.status=200 http.response.written=512
time="2026-12-03T08:35:29Z" level=info msg="response completed" http.request.method=GET http.request.uri="/v2/bench/x/manifests/layer-1" http.response.status=200 http.response.written=900
time="2026-12-03T08:35:29Z" level=info msg="authorized request" go.version=go1.19.8 http.request.method=GET
`
	got := blobDownloads(log, blobSet{"sha256:aaaa": 1}, blobSet{"sha256:cccc": 512})
	if want := (downloads{Base: 74193384, Other: 512, ImageLayers: 512, Known: true}); got != want {
		t.Errorf("blobDownloads: got %+v, want %+v", got, want)
	}
	if got := blobDownloads("time=x level=info msg=\"listening\"\n", nil, nil); got.Known {
		t.Errorf("blobDownloads of a log without requests: got %+v, want unknown", got)
	}
	f := logFields(`a=1 b="two words" c="q\"uote" d=`)
	if f["a"] != "1" || f["b"] != "two words" || f["c"] != `q"uote` || f["d"] != "" {
		t.Errorf("logFields: got %q", f)
	}
}

// TestRepositoryCacheIndex: a tag that is BuildKit's registry cache (an
// index whose entries are blobs, not manifests) is read, not refused.
func TestRepositoryCacheIndex(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	ctx := context.Background()
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	repo := host + "/bench/team"
	ref, _ := name.ParseReference(repo+":v0", name.Insecure)
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	l := layers[0]
	ld, _ := l.Digest()
	ls, _ := l.Size()
	cfgBlob := static.NewLayer([]byte(`{"layers":[]}`), "application/vnd.buildkit.cacheconfig.v0")
	cd, _ := cfgBlob.Digest()
	cs, _ := cfgBlob.Size()
	r, _ := name.NewRepository(repo, name.Insecure)
	if err := remote.WriteLayer(r, cfgBlob); err != nil {
		t.Fatal(err)
	}
	idx := fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":%q,"size":%d},{"mediaType":"application/vnd.buildkit.cacheconfig.v0","digest":%q,"size":%d}]}`, ld, ls, cd, cs)
	cacheRef, _ := name.ParseReference(repo+":buildcache", name.Insecure)
	if err := remote.Put(cacheRef, rawIndex(idx)); err != nil {
		t.Fatal(err)
	}
	var rr registryReader
	got, err := rr.Repository(ctx, repo)
	if err != nil {
		t.Fatal(err)
	}
	ib, _ := rr.Image(ctx, repo+":v0")
	want := ib.all()
	want[cd.String()] = cs
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Repository: got %v, want %v", got, want)
	}
}

type rawIndex string

func (r rawIndex) RawManifest() ([]byte, error) { return []byte(r), nil }
func (r rawIndex) MediaType() (types.MediaType, error) {
	return types.OCIImageIndex, nil
}

func TestBuildArgsLayerCache(t *testing.T) {
	j := envbuildJob{Base: "r/base", Lock: "/w/l", CacheDir: "/w/c", Repository: "r/other", LayerCacheRepo: "r/team", BuildkitFlag: "unix:///nonexistent.sock"}
	got := strings.Join(j.buildArgs(), " ")
	want := "build --json --progress plain --base r/base --lock /w/l --cache-dir /w/c --registry r/other --layer-cache-repo r/team --buildkit-addr unix:///nonexistent.sock"
	if got != want {
		t.Errorf("buildArgs: got %q, want %q", got, want)
	}
	res, err := parseBuildResult([]byte(`{"digest":"sha256:ab","cached":false,"layers":16,"pushed_bytes":2100,"layers_reused":15,"layers_built":1,"steps":9,"steps_cached":3}`))
	if err != nil {
		t.Fatal(err)
	}
	if res.LayersReused != 15 || res.LayersBuilt != 1 || res.Steps != 9 || res.StepsCached != 3 || res.PushedBytes != 2100 {
		t.Errorf("parseBuildResult: got %+v", res)
	}
}

func TestWriteReportLayerCache(t *testing.T) {
	r := results{}
	r.add("fresh-pin", "envbuild", sample{Seconds: 2, InstallSteps: 1, InstallKnown: true, LayersReused: 15, ReportedBytes: 160e3,
		Pushed:    pushed{NewLayers: 2, NewLayerNames: []string{"envbuild: environment default metadata", "envbuild: install tzdata 2024.1"}},
		Downloads: downloads{Base: 74e6, Other: 20e3, Known: true}})
	r.add("fresh-pin", "uv", sample{Seconds: 20, InstallSteps: 1, InstallKnown: true, RunCached: 1, Pushed: pushed{Bytes: 110e6, NewLayers: 1}})
	r.add("fresh-other-repo", "envbuild", sample{Seconds: 0.8, InstallSteps: 0, InstallKnown: true, LayersReused: 16, ReportedBytes: 3e3, NoBuildKit: true, Downloads: downloads{Base: 74e6, Known: true}})
	r.add("new-binary", "envbuild", sample{Seconds: 3, InstallSteps: 2, InstallKnown: true})
	r.add("swap", "envbuild", sample{Seconds: 1, InstallKnown: true})
	r.add("swap", "uv", sample{Seconds: 10})
	var buf bytes.Buffer
	writeReport(&buf, r, reportInfo{Runs: 1, BaseBytes: 74e6, BaseLayers: 1, NoDaemon: "succeeded"})
	got := buf.String()
	for _, want := range []string{
		"74.0 MB compressed in 1 layer",
		"| fresh buildkitd, one pin changed from a teammate's image | 2.0 | 20.0 | — | 0.10 | — | 0.10 | ≤ 0.15x of uv Dockerfile, 1 install step, other layers neither downloaded nor uploaded | met (0.10x, install steps 1) |",
		"| 0 install steps, 0 layer bytes uploaded | met (install steps 0) |",
		"| 1 install step (the changed pin's) | not met (install steps 2) |",
		"| met (0.10x, install steps 0, 0 re-pushed) |",
		"| fresh buildkitd, one pin changed from a teammate's image | envbuild | 2.0 | 1 | 15 | 160.0 kB | 1 | 20.0 kB | 0.0 kB | 74.0 MB |",
		"| fresh buildkitd, one pin changed from a teammate's image | uv Dockerfile | 20.0 | 1 | — | 110.0 MB | — | n/a | n/a |",
		"`--buildkit-addr unix:///nonexistent.sock` (no BuildKit daemon at all): succeeded.",
		"`make bench-big`",
		"downloaded the base (fresh-other-repo: 1 of 1 runs)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("writeReport: got\n%s\nwant a line containing %q", got, want)
		}
	}
}
