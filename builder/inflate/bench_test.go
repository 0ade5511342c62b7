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
		streams = append(streams, deflate(b, "std", 6, data))
		size += int64(len(data))
	}
	return streams, size
}

// BenchmarkInflate decodes the streams with this package and with the
// peers, each reader made once and reset for every stream, and read the
// same way (io.Copy to io.Discard).
func BenchmarkInflate(b *testing.B) {
	streams, size := benchStreams(b)
	ours := NewReader(nil)
	kr := kflate.NewReader(bytes.NewReader(nil))
	fr := flate.NewReader(bytes.NewReader(nil))
	for _, d := range []struct {
		name  string
		r     io.Reader
		reset func(s []byte) error
	}{
		{"ours", ours, func(s []byte) error { ours.Reset(s); return nil }},
		{"klauspost", kr, func(s []byte) error { return kr.(kflate.Resetter).Reset(bytes.NewReader(s), nil) }},
		{"stdlib", fr, func(s []byte) error { return fr.(flate.Resetter).Reset(bytes.NewReader(s), nil) }},
	} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				for _, s := range streams {
					if err := d.reset(s); err != nil {
						b.Fatal(err)
					}
					if _, err := io.Copy(io.Discard, d.r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
