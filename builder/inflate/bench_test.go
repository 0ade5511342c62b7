package inflate

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"io"
	"os"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// benchStreams returns the deflated entries of the wheel named by
// $INFLATE_BENCH_WHEEL (a real wheel, for real figures: the CUDA libraries
// are where the installer spends its time), or else of the test corpus.
func benchStreams(b *testing.B) (streams [][]byte, size int64) {
	if p := os.Getenv("INFLATE_BENCH_WHEEL"); p != "" {
		zr, err := zip.OpenReader(p)
		if err != nil {
			b.Fatal(err)
		}
		defer zr.Close()
		for _, zf := range zr.File {
			if zf.Method != zip.Deflate {
				continue
			}
			rc, err := zf.OpenRaw()
			if err != nil {
				b.Fatal(err)
			}
			s, err := io.ReadAll(rc)
			if err != nil {
				b.Fatal(err)
			}
			streams = append(streams, s)
			size += int64(zf.UncompressedSize64)
		}
		return streams, size
	}
	for _, data := range corpus(b) {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, 6)
		w.Write(data)
		w.Close()
		streams = append(streams, buf.Bytes())
		size += int64(len(data))
	}
	return streams, size
}

func BenchmarkInflate(b *testing.B) {
	streams, size := benchStreams(b)
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(size)
		r := NewReader(nil)
		for i := 0; i < b.N; i++ {
			for _, s := range streams {
				r.Reset(s)
				if _, err := r.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	// The peers reuse their readers too (their Reset), as a fair reading.
	b.Run("klauspost", func(b *testing.B) {
		b.SetBytes(size)
		kr := kflate.NewReader(bytes.NewReader(nil))
		for i := 0; i < b.N; i++ {
			for _, s := range streams {
				kr.(kflate.Resetter).Reset(bytes.NewReader(s), nil)
				if _, err := io.Copy(io.Discard, kr); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		b.SetBytes(size)
		fr := flate.NewReader(bytes.NewReader(nil))
		for i := 0; i < b.N; i++ {
			for _, s := range streams {
				fr.(flate.Resetter).Reset(bytes.NewReader(s), nil)
				if _, err := io.Copy(io.Discard, fr); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
