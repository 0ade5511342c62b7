package baseimage

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	kgzip "github.com/klauspost/compress/gzip"

	"github.com/envbuild/envbuild/lock/failure"
	pf "github.com/envbuild/envbuild/lock/platform"
	"github.com/envbuild/envbuild/lock/target"
)

// Info is what a base image's files say about the environment it can run.
type Info struct {
	// Target is the lock target: Python full version and implementation,
	// free-threading, platform, libc kind and version, and the path of the
	// interpreter (symlinks resolved, "/usr/bin/python3.11").
	Target target.Target `json:"target"`
	// StdlibDir is the interpreter's standard library, "/usr/lib/python3.11".
	StdlibDir string `json:"stdlib_dir"`
	// SitePackages are the base's own package directories that exist
	// (site-packages, Debian's dist-packages), which an isolated
	// environment must not see.
	SitePackages []string `json:"site_packages"`
	// PythonCandidates are the interpreters examined, in the order looked
	// at; the last one is the chosen one.
	PythonCandidates []string `json:"python_candidates"`
	// PythonSource says where the full version was read
	// ("dpkg's record of python3.11-minimal").
	PythonSource string `json:"python_source"`
	// LibcSource says where the C library version was read.
	LibcSource string `json:"libc_source"`
	// ManifestDigest is the digest of the image manifest inspected.
	ManifestDigest string `json:"manifest_digest"`
	// InterpreterDigest identifies what compiles bytecode: "sha256:" of
	// the interpreter's bytes and of the libpython it loads, if any, with
	// their paths. Two bases with the same value compile the same .pyc
	// bytes, whatever else differs between them.
	InterpreterDigest string `json:"interpreter_digest"`
}

// ErrNoPython is matched (errors.Is) by the error Inspect returns for an
// image without a usable Python 3.8+ interpreter.
var ErrNoPython = errors.New("no usable Python")

// NoPythonError says which interpreters were looked for and why none was
// usable. Inspect returns it wrapped as a failure.User error.
type NoPythonError struct {
	Ref      string
	Platform string
	// Dirs are the directories searched for python3.X.
	Dirs []string
	// Problems say why each interpreter found was not usable, or that none
	// was found.
	Problems []string
}

func (e *NoPythonError) Error() string {
	return fmt.Sprintf("base image %q (%s) has no usable Python: looked for python3.X in %s, /opt/python*/bin (%s); use a base with Python 3.8+ or ask for a conda python",
		e.Ref, e.Platform, strings.Join(e.Dirs, ", "), strings.Join(e.Problems, "; "))
}

// Unwrap makes errors.Is(err, ErrNoPython) true.
func (e *NoPythonError) Unwrap() error { return ErrNoPython }

// Option configures Inspect.
type Option func(*options)

type options struct {
	ref string
}

// WithRef names the image in errors, as the user wrote it. Default: the
// image's manifest digest.
func WithRef(ref string) Option { return func(o *options) { o.ref = ref } }

// cacheFormat changes whenever Info or the way it is derived changes, so
// stale answers are not reused.
const cacheFormat = 2

// Inspect reads the lock target and Python layout of img, the image of a
// base for platform ("linux/amd64" or "linux/arm64"; "" means the platform
// its config names), from its files. With a cacheDir, the answer is kept
// there under the image's manifest digest and a later call for the same
// image reads no layer.
//
// Errors: an image without a usable Python (ErrNoPython), with an
// interpreter built for another machine than its config says, or without a
// readable C library is failure.User; a layer that cannot be read is
// failure.Infra.
func Inspect(ctx context.Context, img v1.Image, platform string, cacheDir string, opts ...Option) (*Info, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("inspecting base image %q: reading its manifest: %w", o.ref, err))
	}
	ref := o.ref
	if ref == "" {
		ref = digest.String()
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("inspecting base image %q: reading its config: %w", ref, err))
	}
	platform, err = checkPlatform(ref, platform, cfg)
	if err != nil {
		return nil, err
	}
	machine, _ := target.Arch(platform)

	cachePath := ""
	if cacheDir != "" {
		cachePath = filepath.Join(cacheDir, fmt.Sprintf("baseimage-v%d-%s-%s.json", cacheFormat, digest.Algorithm, digest.Hex))
		if info := loadCache(cachePath, platform); info != nil {
			return info, nil
		}
	}

	layers, err := img.Layers()
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("inspecting base image %q: listing its layers: %w", ref, err))
	}
	v := newView()
	eval := func() (*Info, bool, error) {
		e := &evaluation{v: v, cfg: cfg, platform: platform, machine: machine, ref: ref, sure: true}
		info, err := e.evaluate()
		return info, e.sure, err
	}
	var info *Info
	for i := len(layers) - 1; i >= 0; i-- {
		if err := walkLayer(ctx, v, layers[i]); err != nil {
			return nil, fmt.Errorf("inspecting base image %q: %w", ref, err)
		}
		v.endLayer()
		if i == 0 {
			break
		}
		got, sure, err := eval()
		if sure {
			if err != nil {
				return nil, err
			}
			info = got
			break
		}
	}
	if info == nil {
		v.done = true
		if info, _, err = eval(); err != nil {
			return nil, err
		}
	}
	info.ManifestDigest = digest.String()
	if cachePath != "" {
		// A cache that cannot be written costs time, not correctness.
		_ = saveCache(cachePath, info)
	}
	return info, nil
}

// checkPlatform returns the canonical platform to inspect and checks that
// the image config agrees with it.
func checkPlatform(ref, platform string, cfg *v1.ConfigFile) (string, error) {
	have := cfg.OS + "/" + cfg.Architecture
	if cfg.Variant != "" && cfg.Variant != "v8" {
		have += "/" + cfg.Variant
	}
	if platform == "" {
		platform = have
	}
	platform = pf.Canonical(strings.ToLower(platform))
	if _, err := target.Arch(platform); err != nil {
		return "", failure.User(fmt.Errorf("inspecting base image %q: %w", ref, err))
	}
	if have != platform {
		return "", failure.User(fmt.Errorf("base image %q was asked for as %s, but its config says %q; pick the image built for %s", ref, platform, have, platform))
	}
	return platform, nil
}

// walkLayer adds one layer's entries to the view, reading the files that
// can tell something.
func walkLayer(ctx context.Context, v *view, l v1.Layer) error {
	return walkLayerWith(ctx, v, l, scanFacts)
}

// scanFacts reads what a regular file at p can tell, if anything.
func scanFacts(p string, _ *tar.Header, r io.Reader) (*facts, error) {
	if s := scannerFor(p); s != scanNone {
		return readFacts(s, r)
	}
	return nil, nil
}

// readFile reads a regular file's content at path p (clean, relative)
// into its facts, or returns nil facts when nothing is to be kept.
type readFile func(p string, hdr *tar.Header, r io.Reader) (*facts, error)

// walkLayerWith adds one layer's entries to the view, calling read for
// each regular file (hidden ones too: a visible hard link to one may
// follow).
func walkLayerWith(ctx context.Context, v *view, l v1.Layer, read readFile) error {
	d, _ := l.Digest()
	rc, err := openLayer(l)
	if err != nil {
		return failure.Infra(fmt.Errorf("reading layer %s: %w", d, err))
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	scanned := map[string]*facts{} // this layer's scanned files, for hard links
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return failure.Infra(fmt.Errorf("reading layer %s: %w", d, err))
		}
		p := cleanPath(hdr.Name)
		if p == "" {
			continue
		}
		dir, base := parentOf(p), p[len(parentOf(p)):]
		base = strings.TrimPrefix(base, "/")
		if strings.HasPrefix(base, ".wh.") {
			switch {
			case base == ".wh..wh..opq":
				v.makeOpaque(dir)
			case strings.HasPrefix(base, ".wh..wh."):
				// AUFS bookkeeping (hard link dirs): not part of the file system.
			default:
				v.whiteout(cleanPath(dir + "/" + strings.TrimPrefix(base, ".wh.")))
			}
			continue
		}
		n := &node{}
		switch hdr.Typeflag {
		case tar.TypeDir:
			n.kind = kindDir
		case tar.TypeSymlink:
			n.kind, n.link = kindSymlink, hdr.Linkname
		case tar.TypeLink:
			n.kind, n.facts = kindFile, scanned[cleanPath(hdr.Linkname)]
			n.hardlink = cleanPath(hdr.Linkname)
		case tar.TypeReg, tar.TypeRegA:
			n.kind = kindFile
			f, err := read(p, hdr, tr)
			if err != nil {
				return failure.Infra(fmt.Errorf("reading /%s in layer %s: %w", p, d, err))
			}
			if f != nil {
				n.facts = f
				scanned[p] = f
			}
		default:
			n.kind = kindOther
		}
		if v.visible(p) {
			v.add(p, n)
		}
	}
}

type cached struct {
	Format int   `json:"format"`
	Info   *Info `json:"info"`
}

func loadCache(p, platform string) *Info {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var c cached
	if json.Unmarshal(data, &c) != nil || c.Format != cacheFormat || c.Info == nil || c.Info.Target.Platform != platform {
		return nil
	}
	return c.Info
}

func saveCache(p string, info *Info) error {
	data, err := json.MarshalIndent(cached{Format: cacheFormat, Info: info}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".baseimage-*")
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), p)
}

// openLayer returns the layer's tar stream. A gzip layer is decompressed
// with klauspost/compress, markedly faster than compress/gzip on the
// hundreds of megabytes of a base image; anything else is left to the
// layer's own Uncompressed.
func openLayer(l v1.Layer) (io.ReadCloser, error) {
	mt, err := l.MediaType()
	if err != nil || (mt != types.DockerLayer && mt != types.OCILayer) {
		return l.Uncompressed()
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(rc, 1<<20)
	if magic, _ := br.Peek(2); !bytes.Equal(magic, []byte{0x1f, 0x8b}) {
		rc.Close()
		return l.Uncompressed()
	}
	z, err := kgzip.NewReader(br)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return &gzipLayer{Reader: z, blob: rc}, nil
}

type gzipLayer struct {
	*kgzip.Reader
	blob io.Closer
}

func (g *gzipLayer) Close() error {
	zerr := g.Reader.Close()
	if err := g.blob.Close(); err != nil {
		return err
	}
	return zerr
}

// EncodeInfo is info as the bytes a shared record of it holds (the local
// cache's format).
func EncodeInfo(info *Info) ([]byte, error) {
	return json.Marshal(cached{Format: cacheFormat, Info: info})
}

// DecodeInfo reads what EncodeInfo wrote, for platform and an image of
// manifest digest; nil when it is of another format, platform or image.
func DecodeInfo(data []byte, platform, manifestDigest string) *Info {
	var c cached
	if json.Unmarshal(data, &c) != nil || c.Format != cacheFormat || c.Info == nil || c.Info.Target.Platform != platform || c.Info.ManifestDigest != manifestDigest {
		return nil
	}
	return c.Info
}

// CachedInfo returns the Info this machine's cache holds for the image of
// manifest digest, or nil.
func CachedInfo(cacheDir, manifestDigest, platform string) *Info {
	alg, hex, ok := strings.Cut(manifestDigest, ":")
	if cacheDir == "" || !ok {
		return nil
	}
	return loadCache(filepath.Join(cacheDir, fmt.Sprintf("baseimage-v%d-%s-%s.json", cacheFormat, alg, hex)), platform)
}

// SaveInfo puts info in this machine's cache.
func SaveInfo(cacheDir string, info *Info) error {
	alg, hex, ok := strings.Cut(info.ManifestDigest, ":")
	if cacheDir == "" || !ok {
		return nil
	}
	return saveCache(filepath.Join(cacheDir, fmt.Sprintf("baseimage-v%d-%s-%s.json", cacheFormat, alg, hex)), info)
}
