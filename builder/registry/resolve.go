package registry

import (
	"context"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/envbuild/envbuild/lock/failure"
)

// Resolved is a base image resolved to one manifest per requested
// platform.
type Resolved struct {
	// Ref is the reference as given.
	Ref string
	// Repository is the fully qualified repository,
	// "registry.example.com/ml/base" or "index.docker.io/library/python".
	Repository string
	// IndexDigest is the digest of the manifest list the reference names,
	// or "" when it names a single image manifest.
	IndexDigest string
	// Platforms holds one image per requested platform, keyed by the
	// canonical platform (NormalizePlatform: "linux/arm64", not
	// "linux/arm64/v8").
	Platforms map[string]PlatformImage
}

// PlatformImage is one platform's image of a base.
type PlatformImage struct {
	// Platform is the canonical platform, "linux/amd64".
	Platform string
	// ManifestDigest is the digest of this platform's image manifest: what
	// the env id and the lock record.
	ManifestDigest string
	// Config is the image's config file (env, entrypoint, architecture...).
	Config *v1.ConfigFile
	// Image reads the image's layers lazily from the registry, with the
	// context Resolve was called with: keep it alive while reading.
	Image v1.Image
}

// DigestRef is "REPOSITORY@sha256:..." for platform's manifest, the form
// the lock records; "" when platform was not resolved.
func (r *Resolved) DigestRef(platform string) string {
	p, err := NormalizePlatform(platform)
	if err != nil {
		return ""
	}
	pi, ok := r.Platforms[p]
	if !ok {
		return ""
	}
	return r.Repository + "@" + pi.ManifestDigest
}

// Resolve finds the image of ref for every platform asked for (none means
// linux/amd64) and reads each one's config. A reference to one image
// manifest satisfies only the platform its config names.
//
// Errors: a malformed reference, a base that does not exist, or one
// without a requested platform is failure.User; a registry that refuses,
// fails, times out or cannot be reached is failure.Infra.
func (c *Client) Resolve(ctx context.Context, ref string, platforms []string) (*Resolved, error) {
	wants, err := normalizeAll(platforms)
	if err != nil {
		return nil, err
	}
	r, err := c.Parse(ref)
	if err != nil {
		return nil, err
	}
	host := r.Context().RegistryStr()
	const doing = "resolving base image"
	desc, err := remote.Get(r, c.remoteOptions(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return nil, failure.User(&regError{
				msg:   fmt.Sprintf("base image %q not found in registry %s (manifest unknown); check the name or set --base", ref, host),
				cause: err,
			})
		}
		return nil, c.classify(doing, ref, host, err)
	}
	res := &Resolved{Ref: ref, Repository: r.Context().Name(), Platforms: map[string]PlatformImage{}}

	var entries []platformEntry
	images := map[v1.Hash]v1.Image{}
	switch {
	case desc.MediaType.IsIndex():
		res.IndexDigest = desc.Digest.String()
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, c.classify(doing, ref, host, err)
		}
		if entries, err = c.indexEntries(idx, images); err != nil {
			return nil, c.classify(doing, ref, host, err)
		}
		for _, want := range wants {
			e, ok := pick(entries, want)
			if !ok {
				continue
			}
			img, ok := images[e.desc.Digest]
			if !ok {
				if img, err = idx.Image(e.desc.Digest); err != nil {
					return nil, c.classify(doing, ref, host, err)
				}
			}
			cfg, err := img.ConfigFile()
			if err != nil {
				return nil, c.classify(doing, ref, host, err)
			}
			res.Platforms[want] = PlatformImage{Platform: want, ManifestDigest: e.desc.Digest.String(), Config: cfg, Image: img}
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, failure.User(fmt.Errorf("%s %q: %w", doing, ref, err))
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, c.classify(doing, ref, host, err)
		}
		have := configPlatform(cfg)
		entries = []platformEntry{{platform: have, desc: desc.Descriptor}}
		for _, want := range wants {
			if _, ok := pick(entries, want); ok {
				res.Platforms[want] = PlatformImage{Platform: want, ManifestDigest: desc.Digest.String(), Config: cfg, Image: img}
			}
		}
	default:
		return nil, failure.User(fmt.Errorf("%s %q: registry %s holds a %s there, not an image", doing, ref, host, desc.MediaType))
	}

	var missing []string
	for _, want := range wants {
		if _, ok := res.Platforms[want]; !ok {
			missing = append(missing, want)
		}
	}
	if len(missing) > 0 {
		return nil, failure.User(fmt.Errorf("base image %q has no %s image (it has %s); choose a base built for %s or another --platform",
			ref, strings.Join(missing, ", "), orNone(listPlatforms(entries)), strings.Join(missing, " and ")))
	}
	return res, nil
}

// CheckResult is the answer to "is this environment already built?".
type CheckResult struct {
	// Cached is true when the tag exists and holds every requested platform.
	Cached bool
	// Digest is the digest of the manifest or manifest list the tag names,
	// when it exists.
	Digest string
	// Platforms are the platforms the tag holds, sorted.
	Platforms []string
	// MissingPlatforms are the requested platforms the existing tag lacks.
	MissingPlatforms []string
}

// Check asks the registry for tagRef and says whether it holds an image
// for every platform asked for (none means linux/amd64). A tag the
// registry says does not exist (404, MANIFEST_UNKNOWN, NAME_UNKNOWN) is
// not cached; a tag holding other platforms only is not cached, with
// MissingPlatforms set. Anything else that goes wrong (401, 403, 5xx, a
// timeout, a refused connection) is a failure.Infra error: "could not
// tell" is never "cached" nor "not cached".
func (c *Client) Check(ctx context.Context, tagRef string, platforms []string) (CheckResult, error) {
	wants, err := normalizeAll(platforms)
	if err != nil {
		return CheckResult{}, err
	}
	r, err := c.Parse(tagRef)
	if err != nil {
		return CheckResult{}, err
	}
	host := r.Context().RegistryStr()
	const doing = "checking whether the registry already holds"
	desc, err := remote.Get(r, c.remoteOptions(ctx)...)
	if err != nil {
		if isNotFound(err) {
			return CheckResult{MissingPlatforms: wants}, nil
		}
		return CheckResult{}, c.classify(doing, tagRef, host, err)
	}
	var entries []platformEntry
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return CheckResult{}, c.classify(doing, tagRef, host, err)
		}
		if entries, err = c.indexEntries(idx, nil); err != nil {
			return CheckResult{}, c.classify(doing, tagRef, host, err)
		}
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return CheckResult{}, c.classify(doing, tagRef, host, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return CheckResult{}, c.classify(doing, tagRef, host, err)
		}
		entries = []platformEntry{{platform: configPlatform(cfg), desc: desc.Descriptor}}
	default:
		return CheckResult{}, failure.User(fmt.Errorf("%s %q: registry %s holds a %s under that tag, not an image; delete the tag or push elsewhere", doing, tagRef, host, desc.MediaType))
	}
	res := CheckResult{Digest: desc.Digest.String(), Platforms: listPlatforms(entries)}
	for _, want := range wants {
		if _, ok := pick(entries, want); !ok {
			res.MissingPlatforms = append(res.MissingPlatforms, want)
		}
	}
	res.Cached = len(res.MissingPlatforms) == 0
	return res, nil
}

// indexEntries lists the images of an index with their platforms. An
// entry that does not say its platform is opened to read its config
// (images, when not nil, keeps those images); attestation manifests and
// nested indexes are left out.
func (c *Client) indexEntries(idx v1.ImageIndex, images map[v1.Hash]v1.Image) ([]platformEntry, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var out []platformEntry
	for _, d := range im.Manifests {
		if !d.MediaType.IsImage() || d.Annotations["vnd.docker.reference.type"] == "attestation-manifest" {
			continue
		}
		if d.Platform != nil && d.Platform.OS != "" {
			if d.Platform.OS == "unknown" {
				continue
			}
			out = append(out, platformEntry{platform: platformString(*d.Platform), desc: d})
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, err
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			return nil, err
		}
		if images != nil {
			images[d.Digest] = img
		}
		out = append(out, platformEntry{platform: configPlatform(cfg), desc: d})
	}
	return out, nil
}

// BlobsExist asks repo which of digests ("sha256:...") it already holds,
// with concurrent HEAD requests. Every digest gets an answer, or the call
// fails: a refusal or an unreachable registry is a failure.Infra error.
func (c *Client) BlobsExist(ctx context.Context, repo string, digests []string) (map[string]bool, error) {
	r, err := c.parseRepository(repo)
	if err != nil {
		return nil, err
	}
	host := r.RegistryStr()
	const doing = "checking which layers are already in"
	p, err := remote.NewPuller(c.remoteOptions(ctx)...)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", doing, repo, err)
	}
	out := make(map[string]bool, len(digests))
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, d := range digests {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("%s %q: reading blob digest %q: %w", doing, repo, d, err)
		}
		g.Go(func() error {
			l, err := p.Layer(gctx, r.Digest(h.String()))
			if err != nil {
				return c.classify(doing, repo, host, err)
			}
			ok, err := partial.Exists(l)
			if err != nil {
				return c.classify(doing, repo, host, err)
			}
			mu.Lock()
			out[d] = ok
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no platform it names"
	}
	return strings.Join(s, ", ")
}
