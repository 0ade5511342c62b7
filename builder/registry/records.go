package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/lock/platform"
)

// A layer record says that a package layer with a given cache key is a
// blob of the cache repository. It is stored as a one-layer OCI image
// tagged RecordTag(key): its manifest references the layer blob (so the
// registry's garbage collection keeps the blob while the record exists, and
// a registry that checks references refuses a record whose blob it lacks),
// and its config is a valid image config whose label RecordLabel holds the
// record as JSON. Being an image, a record can be pulled by BuildKit as
// the layer's own state (a conda python layer that other layers compile
// their bytecode on).
const (
	RecordLabel     = "dev.envbuild.layer-record"
	RecordKeyAnnot  = "dev.envbuild.layer-key"
	recordTagPrefix = "layer-"
)

// RecordTag is the tag of the record of key (64 hex digits).
func RecordTag(key string) string { return recordTagPrefix + key }

// LayerRecord is one layer of the team layer cache.
type LayerRecord struct {
	// Key is the layer's cache key (plan.Layer.Key).
	Key string `json:"key"`
	// Platform is the layer's target platform.
	Platform string `json:"platform"`
	// Digest, Size and MediaType describe the compressed blob; DiffID is
	// the digest of its uncompressed tar.
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"media_type"`
	DiffID    string `json:"diff_id"`
	// Meta is what the metadata layer needs of the layer (the installer's
	// LayerMeta), so a hit is never pulled to write that layer.
	Meta json.RawMessage `json:"meta"`

	// Repository is where the record was found (set by LookupRecords).
	Repository string `json:"-"`
	// Manifest is the record's manifest digest (set by LookupRecords and
	// WriteRecord): Repository@Manifest is a one-layer image.
	Manifest string `json:"-"`
	// Path is a file holding the blob, for a layer just built into an OCI
	// layout rather than pushed.
	Path string `json:"-"`
	// Built marks a layer this build installed (not reused); Name is its
	// name in the plan, for messages.
	Built bool   `json:"-"`
	Name  string `json:"-"`
}

// Image is the record's one-layer image, "repo@sha256:…", as found by
// LookupRecords or written by WriteRecord: BuildKit reads a hit from it.
func (r *LayerRecord) Image() string { return r.Repository + "@" + r.Manifest }

// recordImage returns the record's config and manifest bytes.
func recordImage(r LayerRecord) (config, manifest []byte, err error) {
	rec, err := json.Marshal(r)
	if err != nil {
		return nil, nil, err
	}
	if config, err = recordConfig(r.Platform, RecordLabel, string(rec), []string{r.DiffID}); err != nil {
		return nil, nil, err
	}
	m := ociManifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		Config:        descriptor{MediaType: string(types.OCIConfigJSON), Digest: digestOf(config), Size: int64(len(config))},
		Layers:        []descriptor{{MediaType: r.MediaType, Digest: r.Digest, Size: r.Size}},
		Annotations:   map[string]string{RecordKeyAnnot: r.Key},
	}
	manifest, err = json.Marshal(m)
	return config, manifest, err
}

// LookupRecords asks repo for the record of every key, concurrently. A key
// is a hit when its record exists, names that key, and its blob is in the
// repository with the recorded size. Anything else is a miss: a missing
// record silently, any other problem (an unreadable record, a blob gone
// or of another size, a registry error) with one line in warnings. Hits
// are never an error: the cache may only make a build faster.
func (c *Client) LookupRecords(ctx context.Context, repo string, keys []string) (map[string]*LayerRecord, []string) {
	hits := map[string]*LayerRecord{}
	var warnings []string
	r, err := c.parseRepository(repo)
	if err != nil {
		return hits, []string{fmt.Sprintf("layer cache %q: %v", repo, err)}
	}
	var mu sync.Mutex
	warn := func(format string, a ...any) {
		mu.Lock()
		warnings = append(warnings, fmt.Sprintf(format, a...))
		mu.Unlock()
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	seen := map[string]bool{}
	for _, key := range keys {
		if seen[key] {
			continue
		}
		seen[key] = true
		g.Go(func() error {
			rec, err := c.lookupRecord(gctx, r, key)
			switch {
			case errors.Is(err, errNoRecord):
			case err != nil:
				warn("layer cache: %v: building the layer instead", err)
			default:
				mu.Lock()
				hits[key] = rec
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	return hits, warnings
}

var errNoRecord = errors.New("no record")

func (c *Client) lookupRecord(ctx context.Context, r name.Repository, key string) (*LayerRecord, error) {
	ref := r.Tag(RecordTag(key))
	host := r.RegistryStr()
	desc, err := remote.Get(ref, c.remoteOptions(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, errNoRecord
		}
		return nil, c.classify("reading the layer record", ref.String(), host, err)
	}
	var m ociManifest
	if err := json.Unmarshal(desc.Manifest, &m); err != nil || len(m.Layers) != 1 || m.Annotations[RecordKeyAnnot] != key {
		return nil, fmt.Errorf("%s is not a layer record of this key", ref)
	}
	cfgDigest, err := v1.NewHash(m.Config.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ref, err)
	}
	cl, err := remote.Layer(r.Digest(cfgDigest.String()), c.remoteOptions(ctx)...)
	if err != nil {
		return nil, c.classify("reading the layer record", ref.String(), host, err)
	}
	rc, err := cl.Compressed()
	if err != nil {
		return nil, c.classify("reading the layer record", ref.String(), host, err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	rc.Close()
	if err != nil {
		return nil, c.classify("reading the layer record", ref.String(), host, err)
	}
	if digestOf(buf.Bytes()) != m.Config.Digest {
		return nil, fmt.Errorf("%s: its config does not match its digest", ref)
	}
	var cfg struct {
		Config struct {
			Labels map[string]string `json:"Labels"`
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	if err := json.Unmarshal(buf.Bytes(), &cfg); err != nil {
		return nil, fmt.Errorf("%s: reading its config: %v", ref, err)
	}
	var rec LayerRecord
	if err := json.Unmarshal([]byte(cfg.Config.Labels[RecordLabel]), &rec); err != nil {
		return nil, fmt.Errorf("%s: reading the record: %v", ref, err)
	}
	l := m.Layers[0]
	if rec.Key != key || rec.Digest != l.Digest || rec.Size != l.Size || len(cfg.RootFS.DiffIDs) != 1 || rec.DiffID != cfg.RootFS.DiffIDs[0] || rec.DiffID == "" {
		return nil, fmt.Errorf("%s does not agree with itself (key, blob or diff id)", ref)
	}
	// The blob itself must be there, with its size: a record is never
	// trusted alone.
	h, err := v1.NewHash(rec.Digest)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", ref, err)
	}
	bl, err := remote.Layer(r.Digest(h.String()), c.remoteOptions(ctx)...)
	if err != nil {
		return nil, c.classify("checking the layer of record", ref.String(), host, err)
	}
	size, err := bl.Size()
	if err != nil {
		if isBlobNotFound(err) {
			return nil, fmt.Errorf("the record %s names blob %s, which %s does not have", ref, rec.Digest, r)
		}
		return nil, c.classify("checking the layer of record", ref.String(), host, err)
	}
	if size != rec.Size {
		return nil, fmt.Errorf("the record %s names blob %s of %d bytes, but the registry has %d", ref, rec.Digest, rec.Size, size)
	}
	rec.Repository = r.String()
	rec.Manifest = digestOf(desc.Manifest)
	return &rec, nil
}

// WriteRecord records a layer whose blob is already in repo. A record
// that already exists is success (immutable tags refuse to overwrite it,
// and concurrent builders write the same bytes). The written record's
// Manifest is set.
func (c *Client) WriteRecord(ctx context.Context, repo string, rec *LayerRecord) error {
	r, err := c.parseRepository(repo)
	if err != nil {
		return err
	}
	cfg, man, err := recordImage(*rec)
	if err != nil {
		return err
	}
	d, err := c.putRecord(ctx, r.Tag(RecordTag(rec.Key)), cfg, man, "writing the layer record")
	if err != nil {
		return err
	}
	rec.Manifest = d
	rec.Repository = r.String()
	return nil
}

// WriteBlobRecord uploads blob (a layer of rec.MediaType whose digest and
// size rec names) to repo, then records it: a layer made outside BuildKit,
// as the compile root is.
func (c *Client) WriteBlobRecord(ctx context.Context, repo string, rec *LayerRecord, blob []byte) error {
	if d := digestOf(blob); d != rec.Digest || int64(len(blob)) != rec.Size {
		return fmt.Errorf("the blob of record %s is %s (%d bytes), not %s (%d bytes)", rec.Key, d, len(blob), rec.Digest, rec.Size)
	}
	if _, err := c.UploadBlob(ctx, repo, Blob{Digest: rec.Digest, Size: rec.Size, MediaType: rec.MediaType, Data: blob}); err != nil {
		return err
	}
	return c.WriteRecord(ctx, repo, rec)
}

// A base record shares what envbuild read from a base image's files (its
// target: Python, C library, interpreter and its digest) with every
// machine that can pull the cache repository, so a fresh CI runner does
// not read a multi-gigabyte base again to learn it. It is an image without
// layers tagged BaseRecordTag(manifest digest), whose config's label
// BaseRecordLabel holds the bytes.
const (
	BaseRecordLabel     = "dev.envbuild.base-target"
	baseRecordTagPrefix = "base-"
)

// BaseRecordTag is the tag of the base record of a base image's
// per-platform manifest digest ("sha256:…").
func BaseRecordTag(manifestDigest string) string {
	_, hex, _ := strings.Cut(manifestDigest, ":")
	return baseRecordTagPrefix + hex
}

// LookupBaseRecord returns the bytes recorded for the base image of
// manifestDigest in repo, or nil: a missing or unreadable record is a miss
// (the caller reads the base itself).
func (c *Client) LookupBaseRecord(ctx context.Context, repo, manifestDigest string) []byte {
	r, err := c.parseRepository(repo)
	if err != nil {
		return nil
	}
	desc, err := remote.Get(r.Tag(BaseRecordTag(manifestDigest)), c.remoteOptions(ctx)...)
	if err != nil {
		return nil
	}
	img, err := desc.Image()
	if err != nil {
		return nil
	}
	cfg, err := img.ConfigFile()
	if err != nil || cfg.Config.Labels == nil {
		return nil
	}
	v, ok := cfg.Config.Labels[BaseRecordLabel]
	if !ok {
		return nil
	}
	return []byte(v)
}

// WriteBaseRecord records data for the base image of manifestDigest in
// repo; an existing record is success.
func (c *Client) WriteBaseRecord(ctx context.Context, repo, manifestDigest, platform string, data []byte) error {
	r, err := c.parseRepository(repo)
	if err != nil {
		return err
	}
	cfg, err := recordConfig(platform, BaseRecordLabel, string(data), []string{})
	man, err := json.Marshal(ociManifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		Config:        descriptor{MediaType: string(types.OCIConfigJSON), Digest: digestOf(cfg), Size: int64(len(cfg))},
		Layers:        []descriptor{},
	})
	if err != nil {
		return err
	}
	_, err = c.putRecord(ctx, r.Tag(BaseRecordTag(manifestDigest)), cfg, man, "writing the base record")
	return err
}

// recordConfig is the image config of a record: the platform, one label
// holding the record, and the layers' diff ids.
func recordConfig(p, label, value string, diffIDs []string) ([]byte, error) {
	type labels struct {
		Labels map[string]string `json:"Labels"`
	}
	type rootfs struct {
		Type    string   `json:"type"`
		DiffIDs []string `json:"diff_ids"`
	}
	osName, arch, variant := platform.Split(p)
	return json.Marshal(struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Variant      string `json:"variant,omitempty"`
		Config       labels `json:"config"`
		RootFS       rootfs `json:"rootfs"`
	}{arch, osName, variant, labels{map[string]string{label: value}}, rootfs{"layers", diffIDs}})
}

// putRecord uploads a record's config and puts its manifest under ref; a
// tag that already exists (an immutable one refusing the write) is
// success. It returns the manifest's digest in the registry.
func (c *Client) putRecord(ctx context.Context, ref name.Tag, cfg, man []byte, doing string) (string, error) {
	p, err := remote.NewPusher(c.remoteOptions(ctx)...)
	if err != nil {
		return "", err
	}
	host := ref.Context().RegistryStr()
	if err := p.Upload(ctx, ref.Context(), static.NewLayer(cfg, types.OCIConfigJSON)); err != nil {
		return "", c.classify(doing, ref.String(), host, err)
	}
	if err := p.Put(ctx, ref, rawManifest{man, types.OCIManifestSchema1}); err != nil {
		if d, herr := remote.Head(ref, c.remoteOptions(ctx)...); herr == nil {
			return d.Digest.String(), nil
		}
		return "", c.classify(doing, ref.String(), host, err)
	}
	return digestOf(man), nil
}
