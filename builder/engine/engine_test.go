package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"github.com/moby/buildkit/client"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	gateway "github.com/moby/buildkit/frontend/gateway/client"
	digest "github.com/opencontainers/go-digest"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/envbuild/envbuild/lock/failure"
)

// fakeDaemon stands in for BuildKit's client at the engine's interface.
type fakeDaemon struct {
	workers    []*client.WorkerInfo
	workersErr error
	// build answers Build: it gets the build function to run against a
	// gateway and the status channel to fill and close.
	build func(ctx context.Context, opt client.SolveOpt, f gateway.BuildFunc, ch chan *client.SolveStatus) (*client.SolveResponse, error)
}

func (d *fakeDaemon) Close() error { return nil }
func (d *fakeDaemon) ListWorkers(context.Context, ...client.ListWorkersOption) ([]*client.WorkerInfo, error) {
	return d.workers, d.workersErr
}
func (d *fakeDaemon) Info(context.Context) (*client.Info, error) { return &client.Info{}, nil }
func (d *fakeDaemon) Build(ctx context.Context, opt client.SolveOpt, _ string, f gateway.BuildFunc, ch chan *client.SolveStatus) (*client.SolveResponse, error) {
	return d.build(ctx, opt, f, ch)
}
func (d *fakeDaemon) Prune(context.Context, chan client.UsageInfo, ...client.PruneOption) error {
	return errors.New("not in this fake")
}
func (d *fakeDaemon) DiskUsage(context.Context, ...client.DiskUsageOption) ([]*client.UsageInfo, error) {
	return nil, errors.New("not in this fake")
}
func (d *fakeDaemon) ContentClient() contentapi.ContentClient { return nil }

// fakeGateway solves a definition into a reference named after it.
type fakeGateway struct {
	gateway.Client
	mu     sync.Mutex
	solved []string
}

func (g *fakeGateway) Solve(_ context.Context, req gateway.SolveRequest) (*gateway.Result, error) {
	name := string(req.Definition.Def[len(req.Definition.Def)-1])
	g.mu.Lock()
	g.solved = append(g.solved, name)
	g.mu.Unlock()
	res := gateway.NewResult()
	res.SetRef(fakeRef{name: name})
	return res, nil
}

type fakeRef struct {
	gateway.Reference
	name string
}

func (r fakeRef) ReadFile(_ context.Context, req gateway.ReadRequest) ([]byte, error) {
	return []byte(req.Filename + " of " + r.name), nil
}

func definition(name string) *llb.Definition {
	return &llb.Definition{Def: [][]byte{[]byte(name)}}
}

func TestHostPlatform(t *testing.T) {
	ctx := context.Background()
	e := &Engine{Addr: "unix:///fake.sock", c: &fakeDaemon{workers: []*client.WorkerInfo{{Platforms: []ocispecs.Platform{{OS: "linux", Architecture: "arm64", Variant: "v8"}, {OS: "linux", Architecture: "arm", Variant: "v7"}}}}}}
	if got, err := e.HostPlatform(ctx); got != "linux/arm64" || err != nil {
		t.Errorf("HostPlatform = %q, %v; want linux/arm64 (the first worker's first platform, without its variant)", got, err)
	}
	e.c = &fakeDaemon{}
	if _, err := e.HostPlatform(ctx); failure.KindOf(err) != failure.KindInfra || !strings.Contains(err.Error(), "no worker") {
		t.Errorf("no worker: %v", err)
	}
	e.c = &fakeDaemon{workersErr: errors.New("connection reset")}
	if _, err := e.HostPlatform(ctx); failure.KindOf(err) != failure.KindInfra || !strings.Contains(err.Error(), "unix:///fake.sock") {
		t.Errorf("a failing daemon: %v", err)
	}
}

// Build solves each layer and its metadata, reads the metadata file,
// hands the exporter the layer with its config, and reports the pushed
// digest and BuildKit's step counts.
func TestBuildThroughTheGateway(t *testing.T) {
	gw := &fakeGateway{}
	var mu sync.Mutex
	var exports []client.ExportEntry
	configs := map[string]string{}
	d := &fakeDaemon{build: func(ctx context.Context, opt client.SolveOpt, f gateway.BuildFunc, ch chan *client.SolveStatus) (*client.SolveResponse, error) {
		defer close(ch)
		res, err := f(ctx, gw)
		if err != nil {
			return nil, err
		}
		mu.Lock()
		exports = append(exports, opt.Exports...)
		configs[res.Ref.(fakeRef).name] = string(res.Metadata[exptypes.ExporterImageConfigKey])
		mu.Unlock()
		now := time.Now()
		ch <- &client.SolveStatus{Vertexes: []*client.Vertex{
			{Digest: digest.FromString("a"), Name: "install six", Completed: &now},
			{Digest: digest.FromString("b"), Name: "install idna", Cached: true, Completed: &now},
		}}
		return &client.SolveResponse{ExporterResponse: map[string]string{exptypes.ExporterImageDigestKey: "sha256:pushed"}}, nil
	}}
	e := &Engine{Addr: "unix:///fake.sock", c: d}
	job := Job{
		Platforms: []PlatformJob{
			{Platform: "linux/amd64", Layers: []LayerJob{{Def: definition("six-amd64"), Config: []byte(`{"architecture":"amd64"}`), Meta: definition("meta-amd64"), MetaFile: "/k1.json"}}},
			{Platform: "linux/arm64", Layers: []LayerJob{{Def: definition("six-arm64"), Config: []byte(`{"architecture":"arm64"}`)}}},
		},
		Export:          Export{Image: "registry.example/team/layers", PushByDigest: true, Compression: "zstd", Insecure: true},
		Progress:        "quiet",
		DockerConfigDir: t.TempDir(),
	}
	r, err := e.Build(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	if r.Digest != "sha256:pushed" || r.Vertexes != 2 || r.Cached != 1 {
		t.Errorf("digest %q, steps %d, cached %d; want sha256:pushed, 2, 1", r.Digest, r.Vertexes, r.Cached)
	}
	if got := r.Meta["linux/amd64"]; len(got) != 1 || string(got[0]) != "/k1.json of meta-amd64" {
		t.Errorf("metadata %q", got)
	}
	if _, ok := r.Meta["linux/arm64"]; ok {
		t.Errorf("metadata read for a layer without Meta")
	}
	if len(gw.solved) != 3 {
		t.Errorf("solved %q; want both layers and amd64's metadata", gw.solved)
	}
	// The exporter gets each layer with its platform's config.
	if configs["six-amd64"] != `{"architecture":"amd64"}` || configs["six-arm64"] != `{"architecture":"arm64"}` {
		t.Errorf("configs %v", configs)
	}
	if len(exports) != 2 {
		t.Fatalf("exports %+v", exports)
	}
	want := map[string]string{"name": "registry.example/team/layers", "push": "true", "oci-mediatypes": "true", "compression": "zstd", "registry.insecure": "true", "push-by-digest": "true"}
	for _, x := range exports {
		for k, v := range want {
			if x.Attrs[k] != v {
				t.Errorf("export attribute %s = %q, want %q (%v)", k, x.Attrs[k], v, x.Attrs)
			}
		}
	}
}

// A failed solve is a StepError naming the step the status stream saw
// fail, whose message carries BuildKit's reason.
func TestBuildFailureNamesTheStep(t *testing.T) {
	d := &fakeDaemon{build: func(ctx context.Context, opt client.SolveOpt, f gateway.BuildFunc, ch chan *client.SolveStatus) (*client.SolveResponse, error) {
		now := time.Now()
		ch <- &client.SolveStatus{Vertexes: []*client.Vertex{{Digest: digest.FromString("x"), Name: "install six 1.16.0 (linux/amd64)", Started: &now, Completed: &now, Error: "process did not complete successfully: exit code: 1"}}}
		close(ch)
		return nil, errors.New("process \"/.envbuild/envbuild internal-step wheel\" did not complete successfully: exit code: 1")
	}}
	e := &Engine{Addr: "unix:///fake.sock", c: d}
	_, err := e.Build(context.Background(), Job{Platforms: []PlatformJob{{Platform: "linux/amd64", Layers: []LayerJob{{Def: definition("l")}}}}, Export: Export{Image: "registry.example/x"}, Progress: "quiet", DockerConfigDir: t.TempDir()})
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("err %v (%T); want a StepError", err, err)
	}
	if se.Step != "install six 1.16.0 (linux/amd64)" {
		t.Errorf("step %q", se.Step)
	}
}

func TestHTTPAuthSecrets(t *testing.T) {
	got := HTTPAuthSecrets(map[string]string{"pypi.example.com": "Basic a", "localhost:8080": "Basic b"})
	if len(got) != 2 || string(got["HTTP_AUTH_HEADER_pypi.example.com"]) != "Basic a" || string(got["HTTP_AUTH_HEADER_localhost"]) != "Basic b" {
		t.Errorf("secrets %q; want one per host name, without the port", got)
	}
}
