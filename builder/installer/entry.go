package installer

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/envbuild/envbuild/builder/inflate"
)

// The wheel is read from memory (mapped, see internal/mapfile): a deflated entry
// is decoded by package inflate, which is faster than archive/zip's
// decompressors when the input is all there; inflating the CUDA
// libraries of an ML environment is most of the installer's time.

var inflaters = sync.Pool{New: func() any { return inflate.NewReader(nil) }}

// EntryReader reads one entry of a wheel held in memory and checks its
// size and CRC-32 at its end, as archive/zip does. The installer reads
// entries with it, and so does builder/wheellayer, which also copies a
// deflated entry's own bytes (Raw).
type EntryReader struct {
	zf  *zip.File
	r   io.Reader
	inf *inflate.Reader // returned to the pool by Close
	crc uint32
	n   uint64
	raw []byte
	off int
}

// OpenEntry returns a reader of zf's contents, whose bytes are data (the
// whole wheel). Wheels are stored or deflated; other methods are refused.
func OpenEntry(zf *zip.File, data []byte) (*EntryReader, error) {
	off, err := zf.DataOffset()
	if err != nil {
		return nil, err
	}
	if off < 0 || zf.CompressedSize64 > uint64(len(data)) || uint64(off) > uint64(len(data))-zf.CompressedSize64 {
		return nil, errors.New("the entry extends past the end of the archive; the wheel is truncated or corrupt")
	}
	raw := data[off : uint64(off)+zf.CompressedSize64]
	e := &EntryReader{zf: zf, raw: raw, off: int(off)}
	switch zf.Method {
	case zip.Store:
		e.r = bytes.NewReader(raw)
	case zip.Deflate:
		e.inf = inflaters.Get().(*inflate.Reader)
		e.inf.Reset(raw)
		e.r = e.inf
	default:
		return nil, fmt.Errorf("%w: compression method %d (a wheel's entries are stored or deflated)", zip.ErrAlgorithm, zf.Method)
	}
	return e, nil
}

// Raw is the entry's bytes as the wheel holds them (compressed or
// stored), from Offset in the wheel's data.
func (e *EntryReader) Raw() []byte { return e.raw }

// Offset is where Raw starts in the wheel's data.
func (e *EntryReader) Offset() int { return e.off }

// Deflated reports whether Raw is a DEFLATE stream.
func (e *EntryReader) Deflated() bool { return e.inf != nil }

// Consumed is how many bytes of Raw the reads so far used. A deflated
// entry read to its end that used fewer than len(Raw) has bytes after
// its stream.
func (e *EntryReader) Consumed() int {
	if e.inf != nil {
		return e.inf.Consumed()
	}
	return int(e.n)
}

// CRC32 is the CRC-32 of the bytes read so far.
func (e *EntryReader) CRC32() uint32 { return e.crc }

func (e *EntryReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.crc = crc32.Update(e.crc, crc32.IEEETable, p[:n])
	e.n += uint64(n)
	if e.n > e.zf.UncompressedSize64 {
		return n, fmt.Errorf("%w: the entry is longer than the archive's directory says", zip.ErrFormat)
	}
	if err == io.EOF {
		if e.n != e.zf.UncompressedSize64 {
			return n, fmt.Errorf("%w: the entry is %d bytes, the archive's directory says %d", zip.ErrFormat, e.n, e.zf.UncompressedSize64)
		}
		// archive/zip skips the check of a zero CRC-32 too (some
		// writers leave it zero); RECORD's hashes still check the bytes.
		if e.zf.CRC32 != 0 && e.crc != e.zf.CRC32 {
			return n, zip.ErrChecksum
		}
	}
	return n, err
}

// Close gives the decoder back for the next entry.
func (e *EntryReader) Close() {
	if e.inf != nil {
		e.inf.Reset(nil)
		inflaters.Put(e.inf)
		e.inf = nil
	}
}
