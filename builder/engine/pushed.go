package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	contentapi "github.com/containerd/containerd/api/services/content/v1"
	"github.com/moby/buildkit/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// stepCounter counts build steps as the status stream reports them. A
// vertex is reported several times (started, cached, completed), so the
// counts are taken over every update at the end.
type stepCounter struct {
	done   map[string]bool
	cached map[string]bool
}

func (p *stepCounter) observe(s *client.SolveStatus) {
	if p.done == nil {
		p.done, p.cached = map[string]bool{}, map[string]bool{}
	}
	for _, v := range s.Vertexes {
		d := v.Digest.String()
		if v.Completed != nil || v.Cached {
			p.done[d] = true
		}
		if v.Cached {
			p.cached[d] = true
		}
	}
}

// counts returns the steps seen and how many came from a cache.
func (p *stepCounter) counts() (int, int) { return len(p.done), len(p.cached) }

// readBlob reads a blob from the daemon's content store.
func (e *Engine) readBlob(ctx context.Context, dgst string) ([]byte, error) {
	rc, err := e.c.ContentClient().Read(ctx, &contentapi.ReadContentRequest{Digest: dgst})
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		resp, err := rc.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, resp.Data...)
	}
}

// Blob is a blob of the exported image.
type Blob struct {
	Digest string
	Size   int64
}

// imageBlobs lists the blobs of the image (or index) with digest dgst, as
// stored in the daemon's content store after an export.
func (e *Engine) imageBlobs(ctx context.Context, dgst string) ([]Blob, error) {
	raw, err := e.readBlob(ctx, dgst)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s from BuildKit's content store: %w", dgst, err)
	}
	var probe struct {
		MediaType string                `json:"mediaType"`
		Manifests []ocispecs.Descriptor `json:"manifests"`
		Config    ocispecs.Descriptor   `json:"config"`
		Layers    []ocispecs.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", dgst, err)
	}
	blobs := []Blob{{Digest: dgst, Size: int64(len(raw))}}
	for _, m := range probe.Manifests {
		inner, err := e.imageBlobs(ctx, m.Digest.String())
		if err != nil {
			return nil, err
		}
		blobs = append(blobs, inner...)
	}
	if probe.Config.Digest != "" {
		blobs = append(blobs, Blob{Digest: probe.Config.Digest.String(), Size: probe.Config.Size})
	}
	for _, l := range probe.Layers {
		blobs = append(blobs, Blob{Digest: l.Digest.String(), Size: l.Size})
	}
	return blobs, nil
}

func layoutBlob(dir, dgst string) string {
	alg, hex, _ := strings.Cut(dgst, ":")
	return filepath.Join(dir, "blobs", alg, hex)
}

// imageLayers reads the image (or index) dgst with read and returns each
// platform's layers with their diff ids.
func imageLayers(ctx context.Context, dgst string, read func(context.Context, string) ([]byte, error)) (map[string][]Layer, error) {
	raw, err := read(ctx, dgst)
	if err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", dgst, err)
	}
	var probe struct {
		Manifests []ocispecs.Descriptor `json:"manifests"`
		Config    ocispecs.Descriptor   `json:"config"`
		Layers    []ocispecs.Descriptor `json:"layers"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("reading manifest %s: %w", dgst, err)
	}
	out := map[string][]Layer{}
	for _, m := range probe.Manifests {
		inner, err := imageLayers(ctx, m.Digest.String(), read)
		if err != nil {
			return nil, err
		}
		for p, ls := range inner {
			out[p] = ls
		}
	}
	if probe.Config.Digest == "" {
		return out, nil
	}
	cfgRaw, err := read(ctx, probe.Config.Digest.String())
	if err != nil {
		return nil, fmt.Errorf("reading image config %s: %w", probe.Config.Digest, err)
	}
	var cfg ocispecs.Image
	if err := json.Unmarshal(cfgRaw, &cfg); err != nil {
		return nil, fmt.Errorf("reading image config %s: %w", probe.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(probe.Layers) {
		return nil, fmt.Errorf("image %s has %d layers but %d diff ids", dgst, len(probe.Layers), len(cfg.RootFS.DiffIDs))
	}
	p := cfg.OS + "/" + cfg.Architecture
	if cfg.Variant != "" && cfg.Variant != "v8" {
		p += "/" + cfg.Variant
	}
	var ls []Layer
	for i, l := range probe.Layers {
		ls = append(ls, Layer{Digest: l.Digest.String(), DiffID: cfg.RootFS.DiffIDs[i].String(), MediaType: l.MediaType, Size: l.Size})
	}
	out[p] = ls
	return out, nil
}
