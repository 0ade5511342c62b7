package inflate

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"testing"

	kflate "github.com/klauspost/compress/flate"
)

// corpus returns inputs that exercise every path: literals only, long
// runs (distance 1), short periods (distances 2-7), text-like data with
// matches at every distance, incompressible bytes, and sizes around the
// output buffer's slide.
func corpus(t testing.TB) map[string][]byte {
	rng := rand.New(rand.NewSource(1))
	random := func(n int) []byte {
		b := make([]byte, n)
		rng.Read(b)
		return b
	}
	words := []string{"import ", "numpy", " as ", "np\n", "def ", "torch", "(self, x):", "\n    return ", "x + 1", "\x00\x00\x00\x7fELF", "\x48\x89\xe5"}
	text := func(n int) []byte {
		var b bytes.Buffer
		for b.Len() < n {
			b.WriteString(words[rng.Intn(len(words))])
			if rng.Intn(50) == 0 {
				b.Write(random(rng.Intn(40)))
			}
		}
		return b.Bytes()[:n]
	}
	periodic := func(n, period int) []byte {
		p := random(period)
		b := make([]byte, n)
		for i := range b {
			b[i] = p[i%period]
		}
		return b
	}
	c := map[string][]byte{
		"empty":        {},
		"one":          {'a'},
		"random-100":   random(100),
		"random-1M":    random(1 << 20),
		"zeros-1M":     make([]byte, 1<<20),
		"text-2M":      text(2 << 20),
		"text-slide":   text(flushAt - window + 3),
		"text-chunk":   text(chunk),
		"text-chunk+1": text(chunk + 1),
	}
	for p := 2; p <= 9; p++ {
		c["period-"+string(rune('0'+p))] = periodic(300_000, p)
	}
	// Mixed: runs, text and random bytes, so blocks change type.
	var mixed bytes.Buffer
	for i := 0; i < 40; i++ {
		switch i % 4 {
		case 0:
			mixed.Write(text(rng.Intn(70_000)))
		case 1:
			mixed.Write(random(rng.Intn(70_000)))
		case 2:
			mixed.Write(bytes.Repeat([]byte{byte(i)}, rng.Intn(70_000)))
		case 3:
			mixed.Write(periodic(rng.Intn(70_000)+1, rng.Intn(7)+2))
		}
	}
	c["mixed"] = mixed.Bytes()
	return c
}

// encoders are the DEFLATE writers the tests compare against.
var encoders = map[string]func(io.Writer, int) (io.WriteCloser, error){
	"std":       func(w io.Writer, level int) (io.WriteCloser, error) { return flate.NewWriter(w, level) },
	"klauspost": func(w io.Writer, level int) (io.WriteCloser, error) { return kflate.NewWriter(w, level) },
}

// deflate compresses data with encoder enc at level.
func deflate(t testing.TB, enc string, level int, data []byte) []byte {
	var b bytes.Buffer
	w, err := encoders[enc](&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	w.Close()
	return b.Bytes()
}

// compressions returns the streams of data made by the standard library
// and by klauspost at every level, including stored (0) and Huffman only
// (-2), and one written in small flushed pieces (empty stored blocks).
func compressions(t testing.TB, data []byte) map[string][]byte {
	out := map[string][]byte{}
	for enc := range encoders {
		for level := -2; level <= 9; level++ {
			out[fmt.Sprintf("%s%d", enc, level)] = deflate(t, enc, level, data)
		}
	}
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, 6)
	for rest := data; len(rest) > 0; {
		n := min(len(rest), 1000)
		w.Write(rest[:n])
		w.Flush()
		rest = rest[n:]
	}
	w.Close()
	out["flushed"] = b.Bytes()
	return out
}

func TestMatchesStandardLibrary(t *testing.T) {
	r := NewReader(nil)
	for name, data := range corpus(t) {
		for cname, stream := range compressions(t, data) {
			// One Reader, reset for every stream.
			r.Reset(stream)
			got, err := io.ReadAll(io.LimitReader(r, 1<<40))
			if err != nil {
				t.Fatalf("%s/%s: %v", name, cname, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s/%s: decoded %d bytes that differ from the %d compressed", name, cname, len(got), len(data))
			}
			if r.Consumed() != len(stream) {
				t.Fatalf("%s/%s: consumed %d of %d bytes", name, cname, r.Consumed(), len(stream))
			}
		}
	}
}

// decodeStd decodes with the standard library, for comparing.
func decodeStd(stream []byte) ([]byte, error) {
	return io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(stream)), 64<<20))
}

// decodeOurs must not panic; a failure must be ErrCorrupt.
func decodeOurs(t testing.TB, stream []byte) ([]byte, error) {
	t.Helper()
	got, err := io.ReadAll(io.LimitReader(NewReader(stream), 64<<20))
	if err != nil && !errors.Is(err, ErrCorrupt) {
		t.Fatalf("error %v is not ErrCorrupt", err)
	}
	return got, err
}

func TestCorruptStreams(t *testing.T) {
	data := corpus(t)["mixed"]
	stream := deflate(t, "std", 6, data)

	// Every truncation is an error.
	for _, n := range []int{0, 1, 2, 10, 100, len(stream) / 2, len(stream) - 2, len(stream) - 1} {
		if _, err := decodeOurs(t, stream[:n]); err == nil {
			t.Errorf("a stream cut to %d of %d bytes decoded without an error", n, len(stream))
		}
	}
	// Hand-made errors.
	for name, s := range map[string][]byte{
		"reserved block type":   {0x07},
		"stored length":         {0x01, 0x05, 0x00, 0x00, 0x00},
		"distance too far back": fixedBlock(t, []int{'a', 257 + 0}, []int{3}),
	} {
		_, err := decodeOurs(t, s)
		if err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
	// Random damage: never a panic; where both decoders succeed, the
	// same bytes.
	rng := rand.New(rand.NewSource(2))
	for i := 0; i < 300; i++ {
		s := bytes.Clone(stream[:rng.Intn(200_000)+1])
		for j := rng.Intn(4) + 1; j > 0; j-- {
			s[rng.Intn(len(s))] ^= byte(1 << rng.Intn(8))
		}
		compareDecoders(t, s)
	}
}

func compareDecoders(t testing.TB, s []byte) {
	got, err := decodeOurs(t, s)
	want, werr := decodeStd(s)
	if err == nil && werr == nil && !bytes.Equal(got, want) {
		t.Fatalf("both decoders accept a stream and differ: %d and %d bytes", len(got), len(want))
	}
	if err == nil && werr != nil && werr != io.ErrUnexpectedEOF {
		// Ours may accept an incomplete code the standard library
		// rejects; it must then agree on what it could decode.
		if !bytes.HasPrefix(got, want) && !bytes.HasPrefix(want, got) {
			t.Fatalf("ours accepts a stream the standard library rejects (%v) with other bytes", werr)
		}
	}
}

// fixedBlock writes one final block with the fixed code: symbols, with
// each length symbol followed by the next distance of dists.
func fixedBlock(t testing.TB, syms []int, dists []int) []byte {
	var bw bitWriter
	bw.write(1, 1) // final
	bw.write(1, 2) // fixed
	for _, s := range syms {
		switch {
		case s < 144:
			bw.writeRev(uint32(0x30+s), 8)
		case s < 256:
			bw.writeRev(uint32(0x190+s-144), 9)
		case s < 280:
			bw.writeRev(uint32(s-256), 7)
		default:
			bw.writeRev(uint32(0xc0+s-280), 8)
		}
		if s > 256 {
			bw.writeRev(uint32(dists[0]), 5)
			dists = dists[1:]
		}
	}
	bw.writeRev(0, 7) // end of block
	return bw.bytes()
}

type bitWriter struct {
	b     []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// writeRev writes a Huffman code, most significant bit first.
func (w *bitWriter) writeRev(code uint32, n uint) {
	for i := int(n) - 1; i >= 0; i-- {
		w.write(code>>uint(i)&1, 1)
	}
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		return append(w.b, byte(w.acc))
	}
	return w.b
}

func TestFixedBlockByHand(t *testing.T) {
	// "ab" then a match of length 4 at distance 2: "ababab".
	s := fixedBlock(t, []int{'a', 'b', 258}, []int{1})
	got, err := decodeOurs(t, s)
	if err != nil || string(got) != "ababab" {
		t.Fatalf("got %q, %v; want ababab", got, err)
	}
	want, err := decodeStd(s)
	if err != nil || !bytes.Equal(want, got) {
		t.Fatalf("the standard library reads %q, %v", want, err)
	}
}

func FuzzInflate(f *testing.F) {
	for _, data := range []string{"", "a", "hello hello hello hello", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"} {
		for _, s := range compressions(f, []byte(data)) {
			f.Add(s)
		}
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		compareDecoders(t, s)
	})
}

// An incomplete code is accepted as zlib and compress/flate accept it: no
// code, or one code of length 1; one code of any other length is refused.
func TestIncompleteCodes(t *testing.T) {
	table := make([]uint32, distTableLen)
	for _, c := range []struct {
		lens []uint8
		ok   bool
	}{
		{[]uint8{0, 0}, true},
		{[]uint8{0, 1}, true},
		{[]uint8{2, 0}, false},
		{[]uint8{0, 0, 5}, false},
		{[]uint8{1, 2}, false},
		{[]uint8{1, 1}, true},
	} {
		err := buildTable(table, c.lens, distBits, distEntry)
		if (err == nil) != c.ok {
			t.Errorf("lengths %v: error %v, want accepted %v", c.lens, err, c.ok)
		}
	}
}
