// Package metalayer makes an environment's metadata layer (the
// per-environment files: env.json, pyvenv.cfg, REQUESTED markers, the
// completed conda-meta records) in this process, from the lock and the
// package layers' recorded LayerMeta, so that the same lock and base give
// the same layer whether BuildKit installed any package or every layer came
// from the team layer cache.
//
// The files are written by the installer's own WriteEnvMeta into a
// temporary directory and packed as a tar with sorted entries, owner 0 and
// the layout's fixed time; gzip (Go's compress/gzip, no name, no time) or
// zstd (klauspost/compress, one encoder thread) compress it. The layer is a
// few kilobytes, so it is held in memory.
package metalayer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/lock/lockfile"
)

// Media types of the layers envbuild writes (OCI).
const (
	MediaTypeGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
)

// Layer is a compressed layer held in memory.
type Layer struct {
	Compressed []byte
	// Digest is "sha256:" of Compressed; DiffID of the uncompressed tar.
	Digest, DiffID, MediaType string
}

// Size is the compressed size.
func (l *Layer) Size() int64 { return int64(len(l.Compressed)) }

// Build makes the metadata layer of m over package layers described by
// metas, compressed with compression ("gzip", "" or "zstd").
func Build(m *installer.EnvMeta, metas []installer.LayerMeta, compression string) (*Layer, error) {
	tmp, err := os.MkdirTemp("", "envbuild-meta-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	pkgs, out := filepath.Join(tmp, "packages"), filepath.Join(tmp, "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	if err := installer.PackagesTree(pkgs, metas); err != nil {
		return nil, fmt.Errorf("writing the environment's metadata: %w", err)
	}
	if err := installer.WriteEnvMeta(out, m, installer.EnvMetaOptions{Packages: pkgs}); err != nil {
		return nil, err
	}
	raw, err := Tar(out)
	if err != nil {
		return nil, err
	}
	return Compress(raw, compression)
}

// Tar packs the tree under root (standing for /) reproducibly: entries in
// lexical order, directories before their contents, owner 0:0, the
// layout's fixed modification time, permission bits as on disk.
func Tar(root string) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mtime := time.Unix(layout.Epoch, 0).UTC()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), Mode: int64(fi.Mode().Perm()), ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case fi.IsDir():
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		case fi.Mode().IsRegular():
			hdr.Typeflag, hdr.Size = tar.TypeReg, fi.Size()
		default:
			return fmt.Errorf("metadata layer: %s is not a file, directory or symlink", rel)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			if _, err := io.Copy(tw, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("packing the metadata layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Compress compresses a layer's tar.
func Compress(raw []byte, compression string) (*Layer, error) {
	var buf bytes.Buffer
	l := &Layer{DiffID: digestOf(raw)}
	var zw io.WriteCloser
	var err error
	switch compression {
	case "", "gzip":
		zw, err = gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		l.MediaType = MediaTypeGzip
	case "zstd":
		zw, err = zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
		l.MediaType = MediaTypeZstd
	default:
		return nil, fmt.Errorf("unknown compression %q; want gzip or zstd", compression)
	}
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	l.Compressed = buf.Bytes()
	l.Digest = digestOf(l.Compressed)
	return l, nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// EnvMeta describes the per-environment files of the metadata layer of
// one platform of a plan: the env id, the venv of an environment on the
// base's interpreter, the REQUESTED markers and the conda-meta records.
func EnvMeta(pl *plan.Plan, pp plan.PlatformPlan) *installer.EnvMeta {
	m := &installer.EnvMeta{
		EnvID:      pl.EnvID,
		LockDigest: pl.LockDigest,
		Python:     pp.Target.PythonShort(),
	}
	if pp.Target.OnBase() {
		m.Venv = &installer.Venv{Home: path.Dir(pp.Base.Interpreter), Executable: pp.Base.Interpreter, Version: pp.Base.PythonVersion}
	}
	for _, pk := range pp.Target.Packages {
		if pk.Requested && pk.Source == lockfile.SourcePyPI {
			m.Requested = append(m.Requested, installer.RequestedDist{Name: pk.Name, Version: pk.Version})
		}
		if pk.Source == lockfile.SourceConda {
			cm := installer.CondaMeta{Name: pk.Name, Version: pk.Version, Build: pk.Build, URL: pk.URL, Channel: pk.Channel}
			if pk.Requested {
				cm.RequestedSpec = pk.Spec
			}
			m.Conda = append(m.Conda, cm)
		}
	}
	return m
}
