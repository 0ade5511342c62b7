package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/envbuild/envbuild/lock/failure"
)

// An artifact attached to an image as an OCI referrer: a manifest whose
// subject is the image, whose artifactType says what it is, with the empty
// config and one layer holding the data. Registries with the referrers API
// index it themselves; for those without (CNCF Distribution 2.x), the
// referrers tag schema's index, tagged sha256-<hex> of the subject, lists
// it (go-containerregistry maintains it when the manifest is written).

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

type artifactManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        descriptor        `json:"config"`
	Layers        []descriptor      `json:"layers"`
	Subject       *descriptor       `json:"subject"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// Subject is the image an artifact refers to.
type Subject struct {
	Digest    string
	Size      int64
	MediaType string
}

// SubjectOf finds the manifest (or index) ref names.
func (c *Client) SubjectOf(ctx context.Context, ref string) (Subject, string, error) {
	r, err := c.Parse(ref)
	if err != nil {
		return Subject{}, "", err
	}
	desc, err := remote.Head(r, c.remoteOptions(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return Subject{}, "", failure.User(&regError{msg: fmt.Sprintf("image %q not found in registry %s", ref, r.Context().RegistryStr()), cause: err})
		}
		return Subject{}, "", c.classify("reading", ref, r.Context().RegistryStr(), err)
	}
	return Subject{Digest: desc.Digest.String(), Size: desc.Size, MediaType: string(desc.MediaType)}, r.Context().Name(), nil
}

// PutReferrer attaches data (of mediaType) to subject in repository repo
// as an artifact of artifactType, and returns the artifact manifest's
// digest. The same inputs give the same manifest, so attaching twice
// writes nothing new.
func (c *Client) PutReferrer(ctx context.Context, repo string, subject Subject, artifactType, mediaType string, data []byte, annotations map[string]string) (string, error) {
	r, err := c.parseRepository(repo)
	if err != nil {
		return "", err
	}
	host := r.RegistryStr()
	const doing = "attaching " + "an artifact to"
	p, err := remote.NewPusher(c.remoteOptions(ctx)...)
	if err != nil {
		return "", err
	}
	var n atomic.Int64
	for _, b := range []Blob{
		{Digest: digestOf(data), Size: int64(len(data)), MediaType: mediaType, Data: data},
		{Digest: digestOf(emptyConfig), Size: int64(len(emptyConfig)), MediaType: "application/vnd.oci.empty.v1+json", Data: emptyConfig},
	} {
		l, err := c.blobLayer(ctx, b, &n)
		if err != nil {
			return "", err
		}
		if err := p.Upload(ctx, r, l); err != nil {
			return "", c.classify(doing, repo+"@"+subject.Digest, host, err)
		}
	}
	m := artifactManifest{
		SchemaVersion: 2,
		MediaType:     string(types.OCIManifestSchema1),
		ArtifactType:  artifactType,
		Config:        descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: digestOf(emptyConfig), Size: int64(len(emptyConfig))},
		Layers:        []descriptor{{MediaType: mediaType, Digest: digestOf(data), Size: int64(len(data))}},
		Subject:       &descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   annotations,
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	d := digestOf(raw)
	if err := p.Put(ctx, r.Digest(d), rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		return "", c.classify(doing, repo+"@"+subject.Digest, host, err)
	}
	return d, nil
}

// Artifact is one referrer's data.
type Artifact struct {
	Digest       string
	ArtifactType string
	Data         []byte
}

// Referrers returns the artifacts of artifactType attached to subject in
// repo (through the referrers API, else the tag schema), newest manifests
// last as the registry lists them.
func (c *Client) Referrers(ctx context.Context, repo, subject, artifactType string) ([]Artifact, error) {
	r, err := c.parseRepository(repo)
	if err != nil {
		return nil, err
	}
	host := r.RegistryStr()
	const doing = "reading the referrers of"
	opts := append(c.remoteOptions(ctx), remote.WithFilter("artifactType", artifactType))
	idx, err := remote.Referrers(r.Digest(subject), opts...)
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, c.classify(doing, repo+"@"+subject, host, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, c.classify(doing, repo+"@"+subject, host, err)
	}
	var out []Artifact
	for _, d := range im.Manifests {
		if d.ArtifactType != artifactType {
			continue
		}
		desc, err := remote.Get(r.Digest(d.Digest.String()), c.remoteOptions(ctx)...)
		if err != nil {
			return nil, c.classify(doing, repo+"@"+subject, host, err)
		}
		var m artifactManifest
		if err := json.Unmarshal(desc.Manifest, &m); err != nil || len(m.Layers) != 1 {
			continue
		}
		h, err := v1.NewHash(m.Layers[0].Digest)
		if err != nil {
			continue
		}
		l, err := remote.Layer(r.Digest(h.String()), c.remoteOptions(ctx)...)
		if err != nil {
			return nil, c.classify(doing, repo+"@"+subject, host, err)
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, c.classify(doing, repo+"@"+subject, host, err)
		}
		data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			return nil, c.classify(doing, repo+"@"+subject, host, err)
		}
		if digestOf(data) != h.String() {
			return nil, failure.Infra(fmt.Errorf("the referrer %s of %s@%s does not match its digest", d.Digest, repo, subject))
		}
		out = append(out, Artifact{Digest: d.Digest.String(), ArtifactType: d.ArtifactType, Data: data})
	}
	return out, nil
}
