package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
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
			{Name: "certifi", Version: "2024.2.2", Source: "pypi", Size: 20},
			{Name: "requests", Version: "2.32.3", Source: "pypi", Size: 100},
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
	_, err = requirementsTxt([]lockedPackage{{Name: "numpy", Version: "1.26", Source: "conda"}})
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
	r.add("unchanged", "envbuild", sample{Seconds: 0.4, Cached: true})
	var buf bytes.Buffer
	writeReport(&buf, r, reportInfo{Runs: 1, Spec: []string{"pandas==2.2.2"}, PinVersions: []string{"1", "2"}})
	got := buf.String()
	for _, want := range []string{
		"| cold: fresh buildkitd, new repository | 10.0 | 30.0 | 40.0 | 0.33 | 0.25 | 0.50, 0.25 | ≤ uv Dockerfile | met |",
		"| change one pin (after a warm build) | 6.0 | 20.0 | — | 0.30 | — | 0.30 | ≤ ¼ of uv Dockerfile | not met |",
		"cold image digest on 2 separate fresh buildkitds: identical (0123456789ab)",
		"no package layer re-pushed | not met (1 re-pushed) |",
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
