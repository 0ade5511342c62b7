// Package wheellayer makes the gzip layer of one part of a big wheel (a
// part other than 0: installer.PartFiles) from the wheel's own DEFLATE
// data, without compressing it again.
//
// Why: on two cores a cold build of a big ML environment is bound by CPU
// time, and compressing the layers is about half of it (BuildKit's gzip,
// 40-50 MB/s per core). The big files of a wheel are already DEFLATE
// streams, and a gzip file may be several members one after the other
// (RFC 1952, section 2.2), each a DEFLATE stream (RFC 1951) with the
// CRC-32 and length of what it holds. So the layer's tar is written here
// as members: the tar headers and padding compressed here (a few hundred
// bytes at a time), and each file's DEFLATE stream copied from the wheel
// as a member of its own, a gzip header before it and its CRC-32 and
// length after it. Every reader of layers (Go's compress/gzip, pigz,
// zlib's gunzip) reads concatenated members as one stream.
//
// Nothing is trusted for being in the wheel: every file is inflated once
// (builder/inflate) to check its sha256 against the wheel's RECORD and
// its length, to compute the CRC-32 the member carries, and to hash the
// tar into the layer's diff id. A stored entry, or a DEFLATE stream
// followed by bytes the stream does not use, is compressed here instead,
// at gzip's default level.
//
// No library writes a gzip stream from DEFLATE data it did not compress;
// the format is small (a 10-byte header and an 8-byte trailer per member),
// so it is written here.
package wheellayer

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/envbuild/envbuild/builder/installer"
	"github.com/envbuild/envbuild/builder/layout"
	"github.com/envbuild/envbuild/internal/mapfile"
)

// Format is the version of the layers written here: it enters the keys
// of the layers made this way (plan), so a change of how they are
// written is a new key.
const Format = 1

// MediaType is the media type of the layers written here.
const MediaType = "application/vnd.oci.image.layer.v1.tar+gzip"

// Layer describes a layer written by Write.
type Layer struct {
	// Digest ("sha256:…") and Size are the compressed blob's.
	Digest string
	Size   int64
	// DiffID ("sha256:…") is the digest of the uncompressed tar.
	DiffID string
	// Files counts the wheel's files in the layer; Passed those whose
	// DEFLATE data was copied rather than compressed here, and
	// PassedBytes their uncompressed size.
	Files, Passed int
	PassedBytes   int64
	// Meta is what the layer's record carries: installer.ReadLayerMeta
	// of the tree the installer writes for this part.
	Meta installer.LayerMeta
}

// Write writes to w the gzip layer of part opt.Part (1 or more) of
// opt.Parts of the wheel file at wheel, whose sha256 the caller has
// checked: the same files, directories, modes and times as the layer the
// installer makes for that part. A wheel whose files do not match its
// RECORD is an error, and w then holds part of a layer, to be discarded.
func Write(ctx context.Context, w io.Writer, wheel string, opt installer.WheelOptions) (*Layer, error) {
	m, err := mapfile.Open(wheel)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	files, site, err := installer.PartFiles(wheel, m.Data, opt)
	if err != nil {
		return nil, err
	}
	lw := &layerWriter{ctx: ctx, out: w, blob: sha256.New(), diff: sha256.New(), m: m}
	lw.out = io.MultiWriter(w, countWriter{lw}, lw.blob)
	layer, err := lw.write(files, site)
	if err == nil {
		layer.Meta, err = layerMeta(files, m.Data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path.Base(wheel), err)
	}
	return layer, nil
}

// layerMeta is installer.ReadLayerMeta of the tree files make: the
// .dist-info directories right under a site-packages directory, and the
// conda-meta records with their contents. A part other than 0 holds
// neither in any wheel seen (its own .dist-info stays in part 0), but a
// wheel may put another's there through its .data directory.
func layerMeta(files []installer.PartFile, data []byte) (installer.LayerMeta, error) {
	var m installer.LayerMeta
	seen := map[string]bool{}
	for i := range files {
		f := &files[i]
		if dir, name := path.Split(f.Dest); dir == layout.CondaMeta+"/" && strings.HasSuffix(name, ".json") {
			body, err := readEntry(f.Entry, data)
			if err != nil {
				return m, fmt.Errorf("%s: %w", f.Dest, err)
			}
			if m.CondaMeta == nil {
				m.CondaMeta = map[string]string{}
			}
			m.CondaMeta[f.Dest] = string(body)
		}
		rest, ok := strings.CutPrefix(f.Dest, layout.Prefix+"/lib/")
		if !ok {
			continue
		}
		c := strings.SplitN(rest, "/", 4)
		if len(c) == 4 && strings.HasPrefix(c[0], "python3") && c[1] == "site-packages" && strings.HasSuffix(c[2], ".dist-info") {
			if d := layout.Prefix + "/lib/" + c[0] + "/site-packages/" + c[2]; !seen[d] {
				seen[d] = true
				m.DistInfo = append(m.DistInfo, d)
			}
		}
	}
	sort.Strings(m.DistInfo)
	return m, nil
}

// readEntry reads an entry of the wheel in data whole; its bytes were
// checked against RECORD when the layer was written.
func readEntry(zf *zip.File, data []byte) ([]byte, error) {
	e, err := installer.OpenEntry(zf, data)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return io.ReadAll(e)
}

// layerWriter writes one layer.
type layerWriter struct {
	ctx        context.Context // checked between chunks
	out        io.Writer       // the blob, counted and hashed
	n          int64
	blob, diff hash.Hash
	pending    bytes.Buffer // tar bytes not yet written as a member
	m          *mapfile.File
	buf        []byte
}

type countWriter struct{ lw *layerWriter }

func (c countWriter) Write(p []byte) (int, error) {
	c.lw.n += int64(len(p))
	return len(p), nil
}

// entry is one tar entry: a directory (file nil) or a file.
type entry struct {
	name string // relative, no leading or trailing slash
	file *installer.PartFile
}

func (lw *layerWriter) write(files []installer.PartFile, site string) (*Layer, error) {
	entries, err := entriesOf(files, site)
	if err != nil {
		return nil, err
	}
	mtime := time.Unix(layout.Epoch, 0).UTC()
	layer := &Layer{}
	for _, e := range entries {
		h := &tar.Header{Name: e.name + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: mtime}
		if e.file != nil {
			h = &tar.Header{Name: e.name, Typeflag: tar.TypeReg, Mode: int64(e.file.Mode.Perm()), Size: int64(e.file.Entry.UncompressedSize64), ModTime: mtime}
		}
		if err := tar.NewWriter(&lw.pending).WriteHeader(h); err != nil {
			return nil, fmt.Errorf("the tar header of %s: %w", e.name, err)
		}
		if e.file == nil {
			continue
		}
		if err := lw.flush(); err != nil {
			return nil, err
		}
		passed, err := lw.file(e.file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.file.Dest, err)
		}
		layer.Files++
		if passed {
			layer.Passed++
			layer.PassedBytes += h.Size
		}
		if pad := h.Size % 512; pad != 0 {
			lw.pending.Write(make([]byte, 512-pad))
		}
	}
	// The end of the archive: two zero blocks.
	lw.pending.Write(make([]byte, 1024))
	if err := lw.flush(); err != nil {
		return nil, err
	}
	layer.Digest = "sha256:" + hex.EncodeToString(lw.blob.Sum(nil))
	layer.DiffID = "sha256:" + hex.EncodeToString(lw.diff.Sum(nil))
	layer.Size = lw.n
	return layer, nil
}

// entriesOf lists the layer's entries in the order a walk of its tree in
// lexical order meets them: the directories holding the environment's
// prefix, the site-packages directory and the files, then the files.
func entriesOf(files []installer.PartFile, site string) ([]entry, error) {
	dirs, regular := map[string]bool{}, map[string]bool{}
	var out []entry
	addDirs := func(dir string) {
		for d := dir; d != "/" && d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			out = append(out, entry{name: strings.TrimPrefix(d, "/")})
		}
	}
	addDirs(layout.Prefix)
	addDirs(site)
	for i := range files {
		f := &files[i]
		clean := path.Clean(f.Dest)
		if clean != f.Dest || !strings.HasPrefix(clean, layout.Prefix+"/") {
			return nil, fmt.Errorf("file %q is outside %s", f.Dest, layout.Prefix)
		}
		if regular[clean] {
			return nil, fmt.Errorf("two files install to %s", clean)
		}
		regular[clean] = true
		addDirs(path.Dir(clean))
		out = append(out, entry{name: strings.TrimPrefix(clean, "/"), file: f})
	}
	for f := range regular {
		if dirs[f] {
			return nil, fmt.Errorf("%s is both a directory and a file", f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return walkLess(out[i].name, out[j].name) })
	return out, nil
}

// walkLess orders paths as a depth-first walk in lexical order does: by
// their components, a directory before what it holds.
func walkLess(a, b string) bool {
	return strings.ReplaceAll(a, "/", "\x00") < strings.ReplaceAll(b, "/", "\x00")
}

// flush writes the pending tar bytes as one gzip member.
func (lw *layerWriter) flush() error {
	if lw.pending.Len() == 0 {
		return nil
	}
	lw.diff.Write(lw.pending.Bytes())
	zw, err := gzip.NewWriterLevel(lw.out, gzip.DefaultCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write(lw.pending.Bytes()); err != nil {
		return err
	}
	lw.pending.Reset()
	return zw.Close()
}

// gzipHeader is the header of a member copied from the wheel: no name, no
// time, DEFLATE, unknown system (what compress/gzip writes).
var gzipHeader = []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}

// file checks one file of the wheel and writes its contents as one
// member (or, when its data cannot be copied, compresses them here). It
// reports whether the data were copied.
func (lw *layerWriter) file(f *installer.PartFile) (bool, error) {
	e, err := installer.OpenEntry(f.Entry, lw.m.Data)
	if err != nil {
		return false, err
	}
	defer e.Close()
	raw, start := e.Raw(), e.Offset()
	// First pass: the bytes (their length and CRC-32 checked by e at its
	// end), their sha256, and the diff id; the mapped pages read are
	// dropped as the pass goes.
	if lw.buf == nil {
		lw.buf = make([]byte, 1<<20)
	}
	sum := sha256.New()
	released := start
	for {
		if err := lw.ctx.Err(); err != nil {
			return false, err
		}
		k, err := e.Read(lw.buf)
		if k > 0 {
			sum.Write(lw.buf[:k])
			lw.diff.Write(lw.buf[:k])
			if e.Deflated() {
				released = lw.m.Release(released, start+min(e.Consumed(), len(raw)))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return false, err
		}
	}
	if !bytes.Equal(sum.Sum(nil), f.SHA256) {
		return false, fmt.Errorf("its sha256 is not the one in the wheel's RECORD; the wheel is corrupt or was tampered with")
	}
	// Second pass: write the member.
	if e.Deflated() && e.Consumed() == len(raw) {
		var trailer [8]byte
		binary.LittleEndian.PutUint32(trailer[:4], e.CRC32())
		binary.LittleEndian.PutUint32(trailer[4:], uint32(f.Entry.UncompressedSize64))
		if _, err := lw.out.Write(gzipHeader); err != nil {
			return false, err
		}
		released = start
		for at := 0; at < len(raw); {
			if err := lw.ctx.Err(); err != nil {
				return false, err
			}
			k := min(len(raw)-at, 8<<20)
			if _, err := lw.out.Write(raw[at : at+k]); err != nil {
				return false, err
			}
			at += k
			released = lw.m.Release(released, start+at)
		}
		if _, err := lw.out.Write(trailer[:]); err != nil {
			return false, err
		}
		return true, nil
	}
	again, err := installer.OpenEntry(f.Entry, lw.m.Data)
	if err != nil {
		return false, err
	}
	defer again.Close()
	zw, err := gzip.NewWriterLevel(lw.out, gzip.DefaultCompression)
	if err != nil {
		return false, err
	}
	if _, err := io.CopyBuffer(zw, ctxReader{lw.ctx, again}, lw.buf); err != nil {
		return false, err
	}
	if err := zw.Close(); err != nil {
		return false, err
	}
	lw.m.Release(start, start+len(raw))
	return false, nil
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
