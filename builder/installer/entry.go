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

// entryReader reads one entry of a wheel held in memory and checks its
// size and CRC-32 at its end, as archive/zip does.
type entryReader struct {
	zf  *zip.File
	r   io.Reader
	inf *inflate.Reader // returned to the pool by close
	crc uint32
	n   uint64
}

// openEntry returns a reader of zf's contents, whose bytes are data (the
// whole wheel). Wheels are stored or deflated; other methods are refused.
func openEntry(zf *zip.File, data []byte) (*entryReader, error) {
	off, err := zf.DataOffset()
	if err != nil {
		return nil, err
	}
	if off < 0 || zf.CompressedSize64 > uint64(len(data)) || uint64(off) > uint64(len(data))-zf.CompressedSize64 {
		return nil, errors.New("the entry extends past the end of the archive; the wheel is truncated or corrupt")
	}
	raw := data[off : uint64(off)+zf.CompressedSize64]
	e := &entryReader{zf: zf}
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

func (e *entryReader) Read(p []byte) (int, error) {
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

// close gives the decoder back for the next entry.
func (e *entryReader) close() {
	if e.inf != nil {
		e.inf.Reset(nil)
		inflaters.Put(e.inf)
		e.inf = nil
	}
}
