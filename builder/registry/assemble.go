package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/platform"
)

// envbuild writes its images' manifests itself (the layers come from the
// base, from BuildKit, from the team layer cache, and the metadata layer
// from this process), so the same lock and base give the same bytes
// whichever of them had to run. The JSON below is marshalled from fixed
// structs: field order and absence of optional fields are stable.

type descriptor struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int64             `json:"size"`
	Platform    *platformDesc     `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type platformDesc struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	Variant      string `json:"variant,omitempty"`
}

type ociManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

type ociIndex struct {
	SchemaVersion int          `json:"schemaVersion"`
	MediaType     string       `json:"mediaType"`
	Manifests     []descriptor `json:"manifests"`
}

type rawManifest struct {
	b  []byte
	mt types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.b, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// OCILayerMediaType is the OCI media type of a layer blob of media type mt
// (Docker's names are translated; the blob's bytes are the same).
func OCILayerMediaType(mt string) string {
	switch mt {
	case string(types.DockerLayer):
		return string(types.OCILayer)
	case string(types.DockerUncompressedLayer):
		return string(types.OCIUncompressedLayer)
	case "application/vnd.docker.image.rootfs.diff.tar.zstd":
		return string(types.OCILayerZStd)
	}
	return mt
}

// Blob is one layer of an image being assembled, with where its bytes are.
type Blob struct {
	Digest    string
	Size      int64
	MediaType string
	// From is a repository ("host/path") that holds the blob; a blob from
	// the target's own registry is mounted, not copied.
	From string
	// Data holds a blob made in this process.
	Data []byte
	// Path is a file holding the blob (an OCI layout BuildKit wrote).
	Path string
}

// RepositoryOf is the repository ("host/path") of an image reference
// written with a tag, a digest or both ("host:5000/team/envs:env-…",
// "host/base@sha256:…"), spelled as written (no default registry is
// added): the repository a blob of that image is mounted from, or
// referrers are attached in.
func RepositoryOf(ref string) string {
	repo, _, _ := strings.Cut(ref, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	return repo
}

// Blob is the recorded layer as a layer of a new image: read from the
// file BuildKit wrote it to, when it was just built into an OCI layout,
// else mounted from the repository the record was found or written in.
func (r *LayerRecord) Blob() Blob {
	b := Blob{Digest: r.Digest, Size: r.Size, MediaType: r.MediaType}
	if r.Path != "" {
		b.Path = r.Path
	} else {
		b.From = r.Repository
	}
	return b
}

// NewImage is one platform's image: its config and its layers,
// bottom first.
type NewImage struct {
	Platform string
	Config   []byte
	Layers   []Blob
}

// Manifest returns the image's manifest bytes.
func (pi NewImage) Manifest() ([]byte, error) {
	m := ociManifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		Config:        descriptor{MediaType: string(types.OCIConfigJSON), Digest: digestOf(pi.Config), Size: int64(len(pi.Config))},
		Layers:        []descriptor{},
	}
	for _, l := range pi.Layers {
		m.Layers = append(m.Layers, descriptor{MediaType: OCILayerMediaType(l.MediaType), Digest: l.Digest, Size: l.Size})
	}
	return json.Marshal(m)
}

// Index returns the manifest list of images (one manifest each, in order).
func Index(images []NewImage) ([]byte, error) {
	idx := ociIndex{SchemaVersion: 2, MediaType: string(types.OCIImageIndex)}
	for _, pi := range images {
		m, err := pi.Manifest()
		if err != nil {
			return nil, err
		}
		osName, arch, variant := platform.Split(pi.Platform)
		idx.Manifests = append(idx.Manifests, descriptor{MediaType: string(types.OCIManifestSchema1), Digest: digestOf(m), Size: int64(len(m)), Platform: &platformDesc{Architecture: arch, OS: osName, Variant: variant}})
	}
	return json.Marshal(idx)
}

// ImageDigest is the digest of what PushImage or WriteLayout writes for
// images: the manifest of a single image, else the index.
func ImageDigest(images []NewImage) (string, error) {
	var b []byte
	var err error
	if len(images) == 1 {
		b, err = images[0].Manifest()
	} else {
		b, err = Index(images)
	}
	if err != nil {
		return "", err
	}
	return digestOf(b), nil
}

// PushResult is what PushImage did.
type PushResult struct {
	Digest string
	// Uploaded counts the bytes sent to the registry: blobs it did not
	// have and could not mount, the configs and the manifests.
	Uploaded int64
}

// PushImage writes images to tagRef ("repo:tag"): every layer (skipped
// when the repository has it, mounted from its repository on the same
// registry, else copied through this process), the configs, each
// manifest, and last the tag (on the manifest list when several
// platforms), so a failure leaves no tag.
func (c *Client) PushImage(ctx context.Context, tagRef string, images []NewImage) (*PushResult, error) {
	ref, err := c.Parse(tagRef)
	if err != nil {
		return nil, err
	}
	repo := ref.Context()
	host := repo.RegistryStr()
	const doing = "pushing"
	p, err := remote.NewPusher(c.remoteOptions(ctx)...)
	if err != nil {
		return nil, err
	}
	var uploaded atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	seen := map[string]bool{}
	upload := func(b Blob) {
		if seen[b.Digest] {
			return
		}
		seen[b.Digest] = true
		g.Go(func() error {
			l, err := c.blobLayer(gctx, b, &uploaded)
			if err != nil {
				return err
			}
			if err := p.Upload(gctx, repo, l); err != nil {
				return c.classify(doing+" layer "+b.Digest+" to", tagRef, host, err)
			}
			return nil
		})
	}
	for _, pi := range images {
		for _, l := range pi.Layers {
			upload(l)
		}
		upload(Blob{Digest: digestOf(pi.Config), Size: int64(len(pi.Config)), MediaType: string(types.OCIConfigJSON), Data: pi.Config})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	put := func(r name.Reference, b []byte, mt types.MediaType) error {
		if err := p.Put(ctx, r, rawManifest{b, mt}); err != nil {
			return c.classify(doing, r.String(), host, err)
		}
		uploaded.Add(int64(len(b)))
		return nil
	}
	res := &PushResult{}
	if len(images) == 1 {
		m, err := images[0].Manifest()
		if err != nil {
			return nil, err
		}
		if err := put(ref, m, types.OCIManifestSchema1); err != nil {
			return nil, err
		}
		res.Digest = digestOf(m)
	} else {
		for _, pi := range images {
			m, err := pi.Manifest()
			if err != nil {
				return nil, err
			}
			if err := put(repo.Digest(digestOf(m)), m, types.OCIManifestSchema1); err != nil {
				return nil, err
			}
		}
		idx, err := Index(images)
		if err != nil {
			return nil, err
		}
		if err := put(ref, idx, types.OCIImageIndex); err != nil {
			return nil, err
		}
		res.Digest = digestOf(idx)
	}
	res.Uploaded = uploaded.Load()
	return res, nil
}

// UploadBlob uploads b (its Data or the file at its Path; From is not
// read) to repo, unless repo has it, checking on the way that its bytes
// have b's digest. It returns the bytes sent.
func (c *Client) UploadBlob(ctx context.Context, repo string, b Blob) (int64, error) {
	r, err := c.parseRepository(repo)
	if err != nil {
		return 0, err
	}
	p, err := remote.NewPusher(c.remoteOptions(ctx)...)
	if err != nil {
		return 0, err
	}
	var n atomic.Int64
	b.From = ""
	l, err := c.blobLayer(ctx, b, &n)
	if err != nil {
		return 0, err
	}
	if err := p.Upload(ctx, r, l); err != nil {
		return 0, c.classify("uploading layer "+b.Digest+" to", r.String(), r.RegistryStr(), err)
	}
	return n.Load(), nil
}

// blobLayer is a go-containerregistry layer for b whose reads are counted
// in n: a mountable layer for a blob of a repository.
func (c *Client) blobLayer(ctx context.Context, b Blob, n *atomic.Int64) (v1.Layer, error) {
	h, err := v1.NewHash(b.Digest)
	if err != nil {
		return nil, fmt.Errorf("blob digest %q: %w", b.Digest, err)
	}
	base := &blobLayer{b: b, h: h, n: n}
	if b.From == "" {
		return base, nil
	}
	from, err := c.parseRepository(b.From)
	if err != nil {
		return nil, err
	}
	src := from.Digest(h.String())
	base.open = func() (io.ReadCloser, error) {
		rl, err := remote.Layer(src, c.remoteOptions(ctx)...)
		if err != nil {
			return nil, c.classify("copying layer from", src.String(), from.RegistryStr(), err)
		}
		rc, err := rl.Compressed()
		if err != nil {
			return nil, c.classify("copying layer from", src.String(), from.RegistryStr(), err)
		}
		return rc, nil
	}
	return &remote.MountableLayer{Layer: base, Reference: src}, nil
}

// blobLayer is the v1.Layer of a Blob; only what uploading needs works.
type blobLayer struct {
	b    Blob
	h    v1.Hash
	n    *atomic.Int64
	open func() (io.ReadCloser, error)
}

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.h, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)            { return v1.Hash{}, fmt.Errorf("no diff id") }
func (l *blobLayer) Size() (int64, error)                { return l.b.Size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return types.MediaType(l.b.MediaType), nil }
func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("uncompressed reads are not supported")
}

func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	var rc io.ReadCloser
	var err error
	switch {
	case l.open != nil:
		rc, err = l.open()
	case l.b.Path != "":
		rc, err = os.Open(l.b.Path)
	default:
		rc = io.NopCloser(strings.NewReader(string(l.b.Data)))
	}
	if err != nil {
		return nil, err
	}
	return &verifying{rc: rc, n: l.n, h: sha256.New(), want: l.b.Digest}, nil
}

// verifying counts what is read and checks the digest at the end: a blob
// copied through this process is hash-verified.
type verifying struct {
	rc   io.ReadCloser
	n    *atomic.Int64
	h    hash.Hash
	want string
}

func (v *verifying) Read(p []byte) (int, error) {
	n, err := v.rc.Read(p)
	v.n.Add(int64(n))
	v.h.Write(p[:n])
	if err == io.EOF {
		if got := "sha256:" + hex.EncodeToString(v.h.Sum(nil)); got != v.want {
			return n, fmt.Errorf("blob %s read as %s: its source does not hold what its digest says", v.want, got)
		}
	}
	return n, err
}

func (v *verifying) Close() error { return v.rc.Close() }

// WriteLayout writes images to an OCI image layout directory (created if
// missing), under the reference name refName, and returns the digest in
// its index.json. Blobs of repositories are downloaded; every blob is
// checked against its digest.
func (c *Client) WriteLayout(ctx context.Context, dir, refName string, images []NewImage) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return "", failure.User(fmt.Errorf("creating OCI layout directory %s: %w", dir, err))
	}
	var n atomic.Int64
	write := func(b Blob) error {
		p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(b.Digest, "sha256:"))
		if _, err := os.Stat(p); err == nil {
			return nil
		}
		l, err := c.blobLayer(ctx, b, &n)
		if err != nil {
			return err
		}
		var rc io.ReadCloser
		if ml, ok := l.(*remote.MountableLayer); ok {
			rc, err = ml.Layer.Compressed()
		} else {
			rc, err = l.Compressed()
		}
		if err != nil {
			return err
		}
		defer rc.Close()
		tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		if _, err := io.Copy(tmp, rc); err != nil {
			tmp.Close()
			return fmt.Errorf("writing blob %s to %s: %w", b.Digest, dir, err)
		}
		if err := tmp.Close(); err != nil {
			return err
		}
		return os.Rename(tmp.Name(), p)
	}
	var top descriptor
	for _, pi := range images {
		for _, l := range pi.Layers {
			if err := write(l); err != nil {
				return "", err
			}
		}
		m, err := pi.Manifest()
		if err != nil {
			return "", err
		}
		for _, b := range []Blob{{Digest: digestOf(pi.Config), Data: pi.Config}, {Digest: digestOf(m), Data: m}} {
			if err := write(b); err != nil {
				return "", err
			}
		}
		top = descriptor{MediaType: string(types.OCIManifestSchema1), Digest: digestOf(m), Size: int64(len(m))}
	}
	if len(images) > 1 {
		idx, err := Index(images)
		if err != nil {
			return "", err
		}
		if err := write(Blob{Digest: digestOf(idx), Data: idx}); err != nil {
			return "", err
		}
		top = descriptor{MediaType: string(types.OCIImageIndex), Digest: digestOf(idx), Size: int64(len(idx))}
	}
	top.Annotations = map[string]string{"org.opencontainers.image.ref.name": refName}
	index, err := json.Marshal(ociIndex{SchemaVersion: 2, MediaType: string(types.OCIImageIndex), Manifests: []descriptor{top}})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return "", err
	}
	return top.Digest, nil
}
