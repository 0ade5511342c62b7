package main

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobSet maps a blob digest to its size.
type blobSet map[string]int64

func (s blobSet) addAll(o blobSet) {
	for d, n := range o {
		s[d] = n
	}
}

// imageBlobs are the config and layers of one linux/amd64 image.
type imageBlobs struct {
	Config blobSet
	Layers blobSet
	// LayerCount counts the manifest's layers (a digest listed twice counts twice).
	LayerCount int
	// Names are the layers' history lines (created_by), by digest, when
	// the config's history has one entry per layer.
	Names map[string]string
}

func (ib imageBlobs) all() blobSet {
	s := blobSet{}
	s.addAll(ib.Config)
	s.addAll(ib.Layers)
	return s
}

// pushed is what a build added to its repository.
type pushed struct {
	Bytes     int64 // blobs that neither the base nor the repository held before
	NewLayers int   // layers among them
	Layers    int   // layers of the image
	// ImageBytes are the compressed sizes of the image's layers that are
	// not the base's: the size of the environment in the registry.
	ImageBytes int64
	// NewLayerNames are the history lines of the new layers, sorted.
	NewLayerNames []string
}

// newBlobs compares the pushed image with what the registry held before:
// known are the base image's blobs and the repository's before the build.
func newBlobs(img imageBlobs, base blobSet, known blobSet) pushed {
	var p pushed
	p.Layers = img.LayerCount
	for d, n := range img.Layers {
		if _, ok := base[d]; !ok {
			p.ImageBytes += n
		}
		if _, ok := known[d]; ok {
			continue
		}
		if _, ok := base[d]; ok {
			continue
		}
		p.Bytes += n
		p.NewLayers++
		p.NewLayerNames = append(p.NewLayerNames, img.Names[d])
	}
	sort.Strings(p.NewLayerNames)
	for d, n := range img.Config {
		if _, ok := known[d]; !ok {
			p.Bytes += n
		}
	}
	return p
}

// layerNames pairs each layer with its history entry: the entries that
// are not empty_layer, in order. When the counts differ, it pairs none.
func layerNames(layers []v1.Descriptor, history []v1.History) map[string]string {
	var nonEmpty []v1.History
	for _, h := range history {
		if !h.EmptyLayer {
			nonEmpty = append(nonEmpty, h)
		}
	}
	names := map[string]string{}
	if len(nonEmpty) != len(layers) {
		return names
	}
	for i, l := range layers {
		names[l.Digest.String()] = nonEmpty[i].CreatedBy
	}
	return names
}

// registryReader reads images from the test bed's plain-HTTP registry.
type registryReader struct{}

// Image returns the linux/amd64 image at ref (a tag or digest reference;
// an index is followed to its linux/amd64 manifest).
func (registryReader) Image(ctx context.Context, ref string) (imageBlobs, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return imageBlobs{}, fmt.Errorf("parsing image reference %q: %w", ref, err)
	}
	desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		return imageBlobs{}, fmt.Errorf("reading image %q: %w", ref, err)
	}
	img, err := desc.Image()
	if err != nil {
		return imageBlobs{}, fmt.Errorf("reading image %q: %w", ref, err)
	}
	m, err := img.Manifest()
	if err != nil {
		return imageBlobs{}, fmt.Errorf("reading the manifest of %q: %w", ref, err)
	}
	ib := imageBlobs{
		Config:     blobSet{m.Config.Digest.String(): m.Config.Size},
		Layers:     blobSet{},
		LayerCount: len(m.Layers),
	}
	for _, l := range m.Layers {
		ib.Layers[l.Digest.String()] = l.Size
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return imageBlobs{}, fmt.Errorf("reading the config of %q: %w", ref, err)
	}
	ib.Names = layerNames(m.Layers, cf.History)
	return ib, nil
}

// Repository returns every blob referenced by a tag of repo, of every
// platform; a repository that does not exist yet holds none. A tag need
// not name an image: BuildKit's registry cache is an index whose entries
// are layer blobs and a cache config, and layer-cache records are
// one-layer images; every descriptor a tag reaches counts.
func (rr registryReader) Repository(ctx context.Context, repo string) (blobSet, error) {
	r, err := name.NewRepository(repo, name.Insecure)
	if err != nil {
		return nil, fmt.Errorf("parsing repository %q: %w", repo, err)
	}
	tags, err := remote.List(r, remote.WithContext(ctx))
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return blobSet{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing the tags of %q: %w", repo, err)
	}
	s := blobSet{}
	for _, t := range tags {
		ref, err := name.ParseReference(repo+":"+t, name.Insecure)
		if err != nil {
			return nil, fmt.Errorf("parsing %q: %w", repo+":"+t, err)
		}
		if err := manifestBlobs(ctx, ref, s, 0); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// manifestBlobs adds to s every blob the manifest at ref reaches: an
// image's config and layers, an index's entries (followed when they are
// manifests themselves, else taken as blobs).
func manifestBlobs(ctx context.Context, ref name.Reference, s blobSet, depth int) error {
	if depth > 3 {
		return fmt.Errorf("reading %q: manifests nested too deep", ref)
	}
	desc, err := remote.Get(ref, remote.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("reading %q: %w", ref, err)
	}
	var m struct {
		Config    *v1.Descriptor  `json:"config"`
		Layers    []v1.Descriptor `json:"layers"`
		Manifests []v1.Descriptor `json:"manifests"`
	}
	if err := json.Unmarshal(desc.Manifest, &m); err != nil {
		return fmt.Errorf("reading the manifest of %q: %w", ref, err)
	}
	if m.Config != nil {
		s[m.Config.Digest.String()] = m.Config.Size
	}
	for _, l := range m.Layers {
		s[l.Digest.String()] = l.Size
	}
	for _, c := range m.Manifests {
		if !isManifest(c.MediaType) {
			s[c.Digest.String()] = c.Size
			continue
		}
		if err := manifestBlobs(ctx, ref.Context().Digest(c.Digest.String()), s, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func isManifest(mt types.MediaType) bool {
	switch mt {
	case types.OCIManifestSchema1, types.OCIImageIndex, types.DockerManifestSchema2, types.DockerManifestList:
		return true
	}
	return false
}

// downloads are the blob bytes the registry served in a window of its log.
type downloads struct {
	// Base are bytes of blobs of the base image (pulled to run an install
	// step on it); Other every other blob (package layers, configs).
	Base, Other int64
	// ImageLayers are the bytes of Other that are layers of the image the
	// build made (package layers pulled rather than mounted); the rest of
	// Other is record configs and, for envbuild, the base's compile root.
	ImageLayers int64
	// Known is false when the log said nothing about requests (its format
	// changed, or it is not there): the figures are then unknown.
	Known bool
}

// registryLog reads the test bed registry's log, whose info level has a
// "response completed" line per request with its method, URI and bytes
// written.
type registryLog struct {
	Path string
}

// Offset is the log's current size: the start of the next window.
func (l registryLog) Offset() int64 {
	fi, err := os.Stat(l.Path)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// Between reads the blob downloads logged from offset to end (-1: to
// the end of the log).
func (l registryLog) Between(offset, end int64, base, layers blobSet) downloads {
	if offset < 0 {
		return downloads{}
	}
	f, err := os.Open(l.Path)
	if err != nil {
		return downloads{}
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return downloads{}
	}
	var r io.Reader = f
	if end >= offset {
		r = io.LimitReader(f, end-offset)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return downloads{}
	}
	return blobDownloads(string(data), base, layers)
}

// blobDownloads sums the bytes written by successful GETs of blobs in a
// Distribution log, split into the base's blobs and the others, noting
// which of the others are layers.
func blobDownloads(log string, base, layers blobSet) downloads {
	var d downloads
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "response completed") {
			continue
		}
		d.Known = true
		f := logFields(line)
		if f["http.request.method"] != "GET" {
			continue
		}
		uri := f["http.request.uri"]
		i := strings.Index(uri, "/blobs/sha256:")
		if i < 0 {
			continue
		}
		dgst := uri[i+len("/blobs/"):]
		n, err := strconv.ParseInt(f["http.response.written"], 10, 64)
		if err != nil {
			continue
		}
		if _, ok := base[dgst]; ok {
			d.Base += n
		} else {
			d.Other += n
			if _, ok := layers[dgst]; ok {
				d.ImageLayers += n
			}
		}
	}
	return d
}

// logFields splits a logrus text line into its key=value fields (values
// quoted or not).
func logFields(line string) map[string]string {
	f := map[string]string{}
	for len(line) > 0 {
		line = strings.TrimLeft(line, " ")
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			break
		}
		key := line[:eq]
		rest := line[eq+1:]
		var val string
		if strings.HasPrefix(rest, `"`) {
			end := 1
			for end < len(rest) && rest[end] != '"' {
				if rest[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(rest) {
				end = len(rest) - 1
			}
			if v, err := strconv.Unquote(rest[:end+1]); err == nil {
				val = v
			} else {
				val = strings.Trim(rest[:end+1], `"`)
			}
			line = rest[min(end+1, len(rest)):]
		} else {
			sp := strings.IndexByte(rest, ' ')
			if sp < 0 {
				sp = len(rest)
			}
			val = rest[:sp]
			line = rest[sp:]
		}
		f[key] = val
	}
	return f
}

// deriveBase pushes to the image at from plus one small layer holding the
// file /etc/envbuild-bench-base (contents: marker), under the reference to.
// The result has from's root file system and Python under a top layer no
// buildkitd has seen: a base swap that no earlier run has warmed.
func deriveBase(ctx context.Context, from, to, marker string) error {
	src, err := name.ParseReference(from, name.Insecure)
	if err != nil {
		return fmt.Errorf("parsing base reference %q: %w", from, err)
	}
	dst, err := name.ParseReference(to, name.Insecure)
	if err != nil {
		return fmt.Errorf("parsing base reference %q: %w", to, err)
	}
	img, err := remote.Image(src, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		return fmt.Errorf("reading base %q: %w", from, err)
	}
	tarBytes, err := markerTar(marker)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(tarBytes)), nil })
	if err != nil {
		return fmt.Errorf("making the marker layer: %w", err)
	}
	out, err := mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "envbuild bench: base marker " + marker, Created: v1.Time{Time: time.Unix(0, 0).UTC()}}})
	if err != nil {
		return fmt.Errorf("adding the marker layer to %q: %w", from, err)
	}
	if err := remote.Write(dst, out, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing base %q: %w", to, err)
	}
	return nil
}

// markerTar is a tar stream with etc/envbuild-bench-base.
func markerTar(marker string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte(marker + "\n")
	hdr := &tar.Header{Name: "etc/envbuild-bench-base", Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, err
	}
	if _, err := tw.Write(body); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
