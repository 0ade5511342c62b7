package testbed

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
)

// blobLayer is a gzip-compressed layer whose digests were computed once,
// when it was written. Reading it never recompresses anything.
type blobLayer struct {
	digest, diffID v1.Hash
	size           int64
	open           func() (io.ReadCloser, error)
}

var _ v1.Layer = (*blobLayer)(nil)

func (l *blobLayer) Digest() (v1.Hash, error)            { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error)            { return l.diffID, nil }
func (l *blobLayer) Size() (int64, error)                { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }
func (l *blobLayer) Compressed() (io.ReadCloser, error)  { return l.open() }

func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("reading layer %s: %w", l.digest, err)
	}
	return &readCloser{Reader: zr, close: func() error { zr.Close(); return rc.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// layerMeta is what the cache keeps beside a compressed layer file.
type layerMeta struct {
	Digest string `json:"digest"`
	DiffID string `json:"diff_id"`
	Size   int64  `json:"size"`
}

// fileLayer opens a cached compressed layer described by its metadata file.
func fileLayer(blobPath, metaPath string) (*blobLayer, error) {
	data, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, err
	}
	var m layerMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("reading layer metadata %q: %w", metaPath, err)
	}
	digest, err := v1.NewHash(m.Digest)
	if err != nil {
		return nil, fmt.Errorf("reading layer metadata %q: %w", metaPath, err)
	}
	diffID, err := v1.NewHash(m.DiffID)
	if err != nil {
		return nil, fmt.Errorf("reading layer metadata %q: %w", metaPath, err)
	}
	st, err := os.Stat(blobPath)
	if err != nil {
		return nil, err
	}
	if st.Size() != m.Size {
		return nil, fmt.Errorf("cached layer %q has %d bytes, its metadata says %d; delete the cache entry", blobPath, st.Size(), m.Size)
	}
	return &blobLayer{digest: digest, diffID: diffID, size: m.Size, open: func() (io.ReadCloser, error) { return os.Open(blobPath) }}, nil
}

// layerWriter writes a tar stream, gzip-compresses it and hashes both forms
// in one pass.
type layerWriter struct {
	tw        *tar.Writer
	zw        *gzip.Writer
	diffHash  hash.Hash
	blobHash  hash.Hash
	blobCount *countWriter
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newLayerWriter(out io.Writer) *layerWriter {
	lw := &layerWriter{diffHash: sha256.New(), blobHash: sha256.New()}
	lw.blobCount = &countWriter{w: io.MultiWriter(out, lw.blobHash)}
	lw.zw, _ = gzip.NewWriterLevel(lw.blobCount, gzip.DefaultCompression)
	lw.tw = tar.NewWriter(io.MultiWriter(lw.zw, lw.diffHash))
	return lw
}

// finish closes the streams and returns the layer's metadata.
func (lw *layerWriter) finish() (layerMeta, error) {
	if err := lw.tw.Close(); err != nil {
		return layerMeta{}, fmt.Errorf("closing layer tar: %w", err)
	}
	if err := lw.zw.Close(); err != nil {
		return layerMeta{}, fmt.Errorf("closing layer gzip: %w", err)
	}
	return layerMeta{
		Digest: "sha256:" + hex.EncodeToString(lw.blobHash.Sum(nil)),
		DiffID: "sha256:" + hex.EncodeToString(lw.diffHash.Sum(nil)),
		Size:   lw.blobCount.n,
	}, nil
}

// memEntry is one file of a small layer built in memory.
type memEntry struct {
	name     string // relative, no leading slash; directories end with "/"
	mode     int64
	content  string
	linkname string // for symlinks
}

// memLayer builds a small deterministic layer: entries sorted by name, owned
// by root, with a fixed modification time.
func memLayer(entries []memEntry) (*blobLayer, error) {
	sorted := append([]memEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var buf bytes.Buffer
	lw := newLayerWriter(&buf)
	epoch := time.Unix(0, 0).UTC()
	for _, e := range sorted {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: epoch, Format: tar.FormatPAX}
		switch {
		case e.linkname != "":
			h.Typeflag = tar.TypeSymlink
			h.Linkname = e.linkname
		case e.name[len(e.name)-1] == '/':
			h.Typeflag = tar.TypeDir
		default:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.content))
		}
		if err := lw.tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("writing %q into a layer: %w", e.name, err)
		}
		if _, err := io.WriteString(lw.tw, e.content); err != nil {
			return nil, fmt.Errorf("writing %q into a layer: %w", e.name, err)
		}
	}
	meta, err := lw.finish()
	if err != nil {
		return nil, err
	}
	blob := buf.Bytes()
	digest, _ := v1.NewHash(meta.Digest)
	diffID, _ := v1.NewHash(meta.DiffID)
	return &blobLayer{digest: digest, diffID: diffID, size: meta.Size, open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(blob)), nil
	}}, nil
}

// writeRootfsLayer packs the directory root as one layer into out: entries
// in lexical order, numeric owners, hard links kept, device nodes and
// sockets left out (the runtime provides /dev).
func writeRootfsLayer(root string, out io.Writer) (layerMeta, error) {
	lw := newLayerWriter(out)
	type inode struct{ dev, ino uint64 }
	seen := map[inode]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		mode := fi.Mode()
		if mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0 {
			return nil
		}
		link := ""
		if mode&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return fmt.Errorf("packing %q: %w", path, err)
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uname, h.Gname = "", ""
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		h.ModTime = fi.ModTime().Truncate(time.Second)
		h.Format = tar.FormatPAX
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			h.Uid, h.Gid = int(st.Uid), int(st.Gid)
			if mode.IsRegular() && st.Nlink > 1 {
				key := inode{uint64(st.Dev), st.Ino}
				if first, ok := seen[key]; ok {
					h.Typeflag = tar.TypeLink
					h.Linkname = first
					h.Size = 0
				} else {
					seen[key] = h.Name
				}
			}
		}
		if err := lw.tw.WriteHeader(h); err != nil {
			return fmt.Errorf("packing %q: %w", path, err)
		}
		if h.Typeflag == tar.TypeReg && h.Size > 0 {
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			_, err = io.Copy(lw.tw, f)
			f.Close()
			if err != nil {
				return fmt.Errorf("packing %q: %w", path, err)
			}
		}
		return nil
	})
	if err != nil {
		return layerMeta{}, fmt.Errorf("packing root file system %q: %w", root, err)
	}
	return lw.finish()
}
