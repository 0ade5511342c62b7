package engine

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// writeLayout writes, as BuildKit's OCI exporter would, a one-layer image
// whose layer holds the name of the ref the build function returned, and
// returns the manifest's digest.
func writeLayout(t *testing.T, dir, name, arch string) string {
	t.Helper()
	put := func(b []byte) ocispecs.Descriptor {
		d := digest.FromBytes(b)
		p := layoutBlob(dir, d.String())
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return ocispecs.Descriptor{Digest: d, Size: int64(len(b))}
	}
	layer := put([]byte("blob of " + name))
	layer.MediaType = ocispecs.MediaTypeImageLayerGzip
	cfg, _ := json.Marshal(ocispecs.Image{Platform: ocispecs.Platform{OS: "linux", Architecture: arch}, RootFS: ocispecs.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromString(name)}}})
	m, _ := json.Marshal(ocispecs.Manifest{Config: put(cfg), Layers: []ocispecs.Descriptor{layer}})
	return put(m).Digest.String()
}

// With Layers, every layer is solved and exported on its own, all at
// once (no export waits for another layer's build), each into a layout of
// its own; the result lists each platform's layers and metadata in the
// order of its Layers, and counts a step two exports share once.
func TestBuildExportsEachLayerOnItsOwn(t *testing.T) {
	gw := &fakeGateway{}
	const units = 3
	var started sync.WaitGroup
	started.Add(units)
	var mu sync.Mutex
	dirs := map[string]bool{}
	d := &fakeDaemon{build: func(ctx context.Context, opt client.SolveOpt, f gateway.BuildFunc, ch chan *client.SolveStatus) (*client.SolveResponse, error) {
		defer close(ch)
		// Every export must be under way before any finishes.
		started.Done()
		waited := make(chan struct{})
		go func() { started.Wait(); close(waited) }()
		select {
		case <-waited:
		case <-time.After(10 * time.Second):
			return nil, errors.New("the exports ran one after another")
		}
		res, err := f(ctx, gw)
		if err != nil {
			return nil, err
		}
		name := res.Ref.(fakeRef).name
		var cfg struct {
			Architecture string `json:"architecture"`
		}
		if err := json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &cfg); err != nil {
			return nil, err
		}
		dir := opt.Exports[0].OutputDir
		mu.Lock()
		dirs[dir] = true
		mu.Unlock()
		now := time.Now()
		ch <- &client.SolveStatus{Vertexes: []*client.Vertex{
			{Digest: digest.FromString("installer"), Name: "envbuild installer", Cached: true, Completed: &now},
			{Digest: digest.FromString(name), Name: "install " + name, Completed: &now},
		}}
		return &client.SolveResponse{ExporterResponse: map[string]string{exptypes.ExporterImageDigestKey: writeLayout(t, dir, name, cfg.Architecture)}}, nil
	}}
	e := &Engine{Addr: "unix:///fake.sock", c: d}
	layer := func(name, arch string) LayerJob {
		return LayerJob{Def: definition(name), Config: []byte(`{"architecture":"` + arch + `","os":"linux"}`), Meta: definition("meta-" + name), MetaFile: "/" + name + ".json"}
	}
	out := t.TempDir()
	job := Job{
		Platforms: []PlatformJob{
			{Platform: "linux/amd64", Layers: []LayerJob{layer("six", "amd64"), layer("idna", "amd64")}},
			{Platform: "linux/arm64", Layers: []LayerJob{layer("six-arm", "arm64")}},
		},
		Export:          Export{OCIDir: out},
		Progress:        "quiet",
		DockerConfigDir: t.TempDir(),
	}
	r, err := e.Build(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) != units {
		t.Errorf("exported into %v; want a layout per layer", dirs)
	}
	for p, want := range map[string][]string{"linux/amd64": {"six", "idna"}, "linux/arm64": {"six-arm"}} {
		got := r.Images[p]
		if len(got) != len(want) {
			t.Fatalf("%s layers %+v; want %q", p, got, want)
		}
		for i, name := range want {
			if got[i].DiffID != digest.FromString(name).String() || got[i].Digest != digest.FromString("blob of "+name).String() {
				t.Errorf("%s layer %d is %+v; want %s's", p, i, got[i], name)
			}
			if b, err := os.ReadFile(got[i].Path); err != nil || string(b) != "blob of "+name {
				t.Errorf("%s layer %d file %s: %q, %v", p, i, got[i].Path, b, err)
			}
			if m := r.Meta[p]; len(m) != len(want) || string(m[i]) != "/"+name+".json of meta-"+name {
				t.Errorf("%s metadata %q", p, m)
			}
		}
	}
	// Three installs and the installer they share.
	if r.Vertexes != 4 || r.Cached != 1 {
		t.Errorf("steps %d, cached %d; want 4, 1", r.Vertexes, r.Cached)
	}
}

// A layer that fails stops the others and names its step.
func TestBuildOfEachLayerStopsAtTheFirstFailure(t *testing.T) {
	d := &fakeDaemon{build: func(ctx context.Context, opt client.SolveOpt, f gateway.BuildFunc, ch chan *client.SolveStatus) (*client.SolveResponse, error) {
		defer close(ch)
		res, err := f(ctx, &fakeGateway{})
		if err != nil {
			return nil, err
		}
		if name := res.Ref.(fakeRef).name; name == "bad" {
			now := time.Now()
			ch <- &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: digest.FromString("bad"), Name: "install bad 1.0 (linux/amd64)", Started: &now, Completed: &now, Error: "exit code: 1"}}}
			return nil, errors.New("process \"/.envbuild/envbuild internal-step wheel\" did not complete successfully: exit code: 1")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(10 * time.Second):
			return nil, errors.New("not stopped")
		}
	}}
	e := &Engine{Addr: "unix:///fake.sock", c: d}
	job := Job{
		Platforms:       []PlatformJob{{Platform: "linux/amd64", Layers: []LayerJob{{Def: definition("slow")}, {Def: definition("bad")}}}},
		Export:          Export{OCIDir: t.TempDir()},
		Progress:        "quiet",
		DockerConfigDir: t.TempDir(),
	}
	start := time.Now()
	_, err := e.Build(context.Background(), job)
	var se *StepError
	if !errors.As(err, &se) || se.Step != "install bad 1.0 (linux/amd64)" {
		t.Fatalf("err %v; want a StepError naming the failed install", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the other layer's build was not stopped")
	}
}
