package installer

import (
	"bytes"
	"compress/bzip2"
	"io"
	"math/rand"
	"sort"
	"testing"
)

// bzip2Compress writes data as a bzip2 stream. The standard library only
// reads bzip2, and the tests must write their own .tar.bz2 packages without
// depending on a bzip2 program, so this is a small, slow but valid encoder:
// run-length encoding, the Burrows-Wheeler transform by prefix doubling,
// move-to-front with RUNA/RUNB zero runs, and one complete canonical Huffman
// code used for every group (the format wants at least two tables).
func bzip2Compress(data []byte) []byte { return bzip2CompressBlocks(data, 500_000) }

// bzip2CompressBlocks compresses with blocks of at most chunk input bytes
// (RLE can grow a chunk by a quarter; a block holds 900k).
func bzip2CompressBlocks(data []byte, chunk int) []byte {
	w := &bitWriter{}
	w.bytes([]byte("BZh9"))
	var combined uint32
	for len(data) > 0 {
		n := min(chunk, len(data))
		crc := bzCRC(data[:n])
		combined = (combined<<1 | combined>>31) ^ crc
		writeBlock(w, data[:n], crc)
		data = data[n:]
	}
	w.bits(0x1772, 16)
	w.bits(0x45385090, 32)
	w.bits(uint64(combined), 32)
	w.flush()
	return w.buf.Bytes()
}

func writeBlock(w *bitWriter, data []byte, crc uint32) {
	block := rle1(data)
	last, origPtr := bwt(block)

	var inUse [256]bool
	for _, b := range last {
		inUse[b] = true
	}
	var unseq []byte
	for i := range inUse {
		if inUse[i] {
			unseq = append(unseq, byte(i))
		}
	}
	var seq [256]int
	for i, b := range unseq {
		seq[b] = i
	}
	eob := len(unseq) + 1
	alpha := len(unseq) + 2

	// Move-to-front, with runs of zeros as RUNA (0) and RUNB (1).
	mtf := make([]int, len(unseq))
	for i := range mtf {
		mtf[i] = i
	}
	var syms []int
	run := 0
	flushRun := func() {
		for n := run; n > 0; n >>= 1 {
			n--
			syms = append(syms, n&1)
		}
		run = 0
	}
	for _, b := range last {
		s := seq[b]
		j := 0
		for mtf[j] != s {
			j++
		}
		if j == 0 {
			run++
			continue
		}
		flushRun()
		copy(mtf[1:j+1], mtf[:j])
		mtf[0] = s
		syms = append(syms, j+1)
	}
	flushRun()
	syms = append(syms, eob)

	// A complete code: k symbols one bit shorter than the rest.
	l := 1
	for 1<<l < alpha {
		l++
	}
	short := 1<<l - alpha
	lengths := make([]int, alpha)
	for i := range lengths {
		lengths[i] = l
		if i < short {
			lengths[i] = l - 1
		}
	}
	codes := canonical(lengths)

	w.bits(0x314159, 24)
	w.bits(0x265359, 24)
	w.bits(uint64(crc), 32)
	w.bits(0, 1) // not randomised
	w.bits(uint64(origPtr), 24)
	var ranges uint64
	for i := 0; i < 16; i++ {
		for j := 0; j < 16; j++ {
			if inUse[i*16+j] {
				ranges |= 1 << (15 - i)
				break
			}
		}
	}
	w.bits(ranges, 16)
	for i := 0; i < 16; i++ {
		if ranges&(1<<(15-i)) == 0 {
			continue
		}
		var m uint64
		for j := 0; j < 16; j++ {
			if inUse[i*16+j] {
				m |= 1 << (15 - j)
			}
		}
		w.bits(m, 16)
	}
	const trees = 2
	selectors := (len(syms) + 49) / 50
	w.bits(trees, 3)
	w.bits(uint64(selectors), 15)
	for i := 0; i < selectors; i++ {
		w.bits(0, 1) // table 0, move-to-front coded
	}
	for t := 0; t < trees; t++ {
		cur := lengths[0]
		w.bits(uint64(cur), 5)
		for _, want := range lengths {
			for cur < want {
				w.bits(0b10, 2)
				cur++
			}
			for cur > want {
				w.bits(0b11, 2)
				cur--
			}
			w.bits(0, 1)
		}
	}
	for _, s := range syms {
		w.bits(uint64(codes[s]), uint(lengths[s]))
	}
}

// rle1 is bzip2's first run-length step: four equal bytes and a count of
// up to 251 more.
func rle1(data []byte) []byte {
	var out []byte
	for i := 0; i < len(data); {
		b := data[i]
		n := 1
		for i+n < len(data) && data[i+n] == b && n < 255 {
			n++
		}
		if n >= 4 {
			out = append(out, b, b, b, b, byte(n-4))
		} else {
			for k := 0; k < n; k++ {
				out = append(out, b)
			}
		}
		i += n
	}
	return out
}

// bwt sorts the rotations of s by prefix doubling and returns the last
// column and the row of the unrotated string.
func bwt(s []byte) ([]byte, int) {
	n := len(s)
	idx := make([]int, n)
	rank := make([]int, n)
	for i := range s {
		idx[i] = i
		rank[i] = int(s[i])
	}
	tmp := make([]int, n)
	for k := 1; ; k <<= 1 {
		key := func(i int) (int, int) { return rank[i], rank[(i+k)%n] }
		sort.Slice(idx, func(a, b int) bool {
			a1, a2 := key(idx[a])
			b1, b2 := key(idx[b])
			if a1 != b1 {
				return a1 < b1
			}
			if a2 != b2 {
				return a2 < b2
			}
			return idx[a] < idx[b]
		})
		tmp[idx[0]] = 0
		for i := 1; i < n; i++ {
			p1, p2 := key(idx[i-1])
			c1, c2 := key(idx[i])
			tmp[idx[i]] = tmp[idx[i-1]]
			if p1 != c1 || p2 != c2 {
				tmp[idx[i]]++
			}
		}
		copy(rank, tmp)
		if rank[idx[n-1]] == n-1 || k >= n {
			break
		}
	}
	last := make([]byte, n)
	orig := 0
	for i, j := range idx {
		last[i] = s[(j+n-1)%n]
		if j == 0 {
			orig = i
		}
	}
	return last, orig
}

func canonical(lengths []int) []int {
	codes := make([]int, len(lengths))
	order := make([]int, len(lengths))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return lengths[order[a]] < lengths[order[b]] })
	code, prev := 0, lengths[order[0]]
	for _, s := range order {
		code <<= lengths[s] - prev
		prev = lengths[s]
		codes[s] = code
		code++
	}
	return codes
}

var bzCRCTable = func() (t [256]uint32) {
	for i := range t {
		c := uint32(i) << 24
		for k := 0; k < 8; k++ {
			if c&0x80000000 != 0 {
				c = c<<1 ^ 0x04c11db7
			} else {
				c <<= 1
			}
		}
		t[i] = c
	}
	return t
}()

func bzCRC(data []byte) uint32 {
	c := ^uint32(0)
	for _, b := range data {
		c = c<<8 ^ bzCRCTable[byte(c>>24)^b]
	}
	return ^c
}

type bitWriter struct {
	buf  bytes.Buffer
	acc  uint64
	nacc uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	for n > 0 {
		take := min(n, 32)
		n -= take
		w.acc = w.acc<<take | (v>>n)&(1<<take-1)
		w.nacc += take
		for w.nacc >= 8 {
			w.nacc -= 8
			w.buf.WriteByte(byte(w.acc >> w.nacc))
		}
	}
}

func (w *bitWriter) bytes(b []byte) {
	for _, c := range b {
		w.bits(uint64(c), 8)
	}
}

func (w *bitWriter) flush() {
	if w.nacc > 0 {
		w.buf.WriteByte(byte(w.acc << (8 - w.nacc)))
		w.nacc = 0
	}
}

func TestBzip2Compress(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	random := make([]byte, 20_000)
	rng.Read(random)
	for name, data := range map[string][]byte{
		"empty":      nil,
		"one":        []byte("a"),
		"runs":       bytes.Repeat([]byte("a"), 1000),
		"mixed runs": []byte("aaaabbbbbbbbccdaaaaa\x00\x00\x00\x00\x00x"),
		"periodic":   bytes.Repeat([]byte("abc"), 3_000),
		"text":       bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 500),
		"random":     random,
		"two blocks": append(bytes.Repeat(random[:1000], 300), random...),
		"all symbols": func() []byte {
			b := make([]byte, 512)
			for i := range b {
				b[i] = byte(i * 7)
			}
			return b
		}(),
	} {
		got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bzip2Compress(data))))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: round trip gave %d bytes, %v; want the %d bytes back", name, len(got), err, len(data))
		}
	}
	got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bzip2CompressBlocks(random, 6_000))))
	if err != nil || !bytes.Equal(got, random) {
		t.Errorf("several blocks: round trip gave %d bytes, %v; want the %d bytes back", len(got), err, len(random))
	}
}
