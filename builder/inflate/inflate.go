// Package inflate decodes a raw DEFLATE stream (RFC 1951) that is held
// whole in memory, as a wheel's entries are when the installer maps the
// wheel file.
//
// Why our own: inflating is most of the installer's CPU time, and the
// installer is the part of a big build that costs more CPU than a
// Dockerfile's `uv pip install`. The decoders at hand are slow on the CUDA
// libraries of an ML environment (binary code, short matches): on the
// cuBLAS wheel (553 MB of output), with their readers reused,
// github.com/klauspost/compress/flate runs at 157 MB/s and the standard
// library's at 117 MB/s (BenchmarkInflate with INFLATE_BENCH_WHEEL set),
// and zlib 1.2.13 in C at 160 MB/s; the installer could not call a native
// library anyway (it is a static binary run on an empty root). The Go
// decoders read their input through an io.Reader a byte at a time, keep a
// 32 KiB ring for back references and walk Huffman tables of 9 bits with
// linked overflow tables. This one is written for what they cannot assume,
// the whole input in memory, and runs at 297-304 MB/s there:
//
//   - the bit buffer is refilled eight bytes at a time without a branch per
//     byte, which always leaves enough bits for a whole length/distance
//     pair, and the next symbol's table entry is looked up before the
//     refill that goes with it;
//   - the literal/length table has 11 index bits and the distance table 8,
//     each entry holding the symbol's value, its code length and its extra
//     bit count, so one lookup and one shift decode a symbol with its extra
//     bits; longer codes go through one subtable;
//   - output goes to a flat buffer with the last 32 KiB kept in front of it,
//     and matches are copied eight bytes at a time.
//
// The decoder never reads past its input or writes past its buffer (Go's
// bounds checks stay on); a corrupt stream returns an error (ErrCorrupt,
// with the offset), never a panic. Tests compare it with compress/flate on
// streams of every block type and level, and fuzz it.
package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// ErrCorrupt is wrapped by every error about the stream's contents.
var ErrCorrupt = errors.New("corrupt DEFLATE stream")

const (
	window = 1 << 15 // the longest back reference
	// chunk is how much output is decoded between two slides of the
	// window to the front of the buffer.
	chunk = 256 << 10
	// slack is room past flushAt: a match of 258 bytes copied in words of
	// 8 may write 7 bytes past its end.
	slack   = 512
	flushAt = window + chunk
	bufLen  = flushAt + slack

	litBits  = 11
	distBits = 8
	// Table sizes: the root table plus at most one subtable per code
	// longer than the root, each of at most 2^(15-root) entries.
	litTableLen  = 1<<litBits + 288<<(15-litBits)
	distTableLen = 1<<distBits + 32<<(15-distBits)
)

// A table entry is a uint32:
//
//	bits 0-7   bits to consume: the code length (past the root for a
//	           subtable entry) plus the extra bits; for a subtable
//	           pointer, the root's index bits
//	bits 8-11  the code length alone (extra bits start there); for a
//	           subtable pointer, the subtable's index bits
//	bits 12-15 flags
//	bits 16-31 the value: a literal byte, a length or distance base, or a
//	           subtable's offset
const (
	flagInvalid = 1 << 12
	flagEOB     = 1 << 13
	flagSub     = 1 << 14
	flagLit     = 1 << 15
)

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}
	// precodeOrder is the order of the code length code's lengths.
	precodeOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// litEntry and distEntry give a symbol's flags, value and extra bits.
func litEntry(sym int) (flags uint32, value uint32, extra uint32) {
	switch {
	case sym < 256:
		return flagLit, uint32(sym), 0
	case sym == 256:
		return flagEOB, 0, 0
	case sym < 286:
		return 0, uint32(lengthBase[sym-257]), uint32(lengthExtra[sym-257])
	}
	return flagInvalid, 0, 0
}

func distEntry(sym int) (flags uint32, value uint32, extra uint32) {
	if sym < 30 {
		return 0, uint32(distBase[sym]), uint32(distExtra[sym])
	}
	return flagInvalid, 0, 0
}

// fixedLit and fixedDist are the tables of the fixed Huffman codes.
var fixedLit, fixedDist = func() ([]uint32, []uint32) {
	var lens [288]uint8
	for i := range lens {
		switch {
		case i < 144:
			lens[i] = 8
		case i < 256:
			lens[i] = 9
		case i < 280:
			lens[i] = 7
		default:
			lens[i] = 8
		}
	}
	lit := make([]uint32, litTableLen)
	if err := buildTable(lit, lens[:], litBits, litEntry); err != nil {
		panic(err)
	}
	var dl [32]uint8
	for i := range dl {
		dl[i] = 5
	}
	dist := make([]uint32, distTableLen)
	if err := buildTable(dist, dl[:], distBits, distEntry); err != nil {
		panic(err)
	}
	return lit, dist
}()

// buildTable fills table (root index bits, then subtables) for the
// canonical Huffman code of lens. An over-subscribed code is an error; an
// incomplete one is accepted only when it has no code or a single code of
// length 1 (RFC 1951 allows one distance code; zlib and Go's compress/flate
// accept no other incomplete code, so neither may we: a stream this
// package accepts is copied as it is into gzip layers that they read),
// its unused entries invalid.
func buildTable(table []uint32, lens []uint8, root uint, entry func(int) (uint32, uint32, uint32)) error {
	var count [16]int
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	left := 1
	ncodes := 0
	for l := 1; l <= 15; l++ {
		left <<= 1
		left -= count[l]
		if left < 0 {
			return fmt.Errorf("%w: over-subscribed Huffman code", ErrCorrupt)
		}
		ncodes += count[l]
	}
	if left > 0 && (ncodes > 1 || ncodes == 1 && count[1] != 1) {
		return fmt.Errorf("%w: incomplete Huffman code", ErrCorrupt)
	}
	// next[l] is the next code of length l (RFC 1951, 3.2.2).
	var next [16]uint32
	code := uint32(0)
	for l := 1; l <= 15; l++ {
		code = (code + uint32(count[l-1])) << 1
		next[l] = code
	}
	rootLen := 1 << root
	invalid := uint32(flagInvalid)
	// A complete code fills every entry; an incomplete one leaves some
	// that must read as invalid.
	if left > 0 {
		for i := 0; i < rootLen; i++ {
			table[i] = invalid
		}
	}
	// Subtable widths: the longest code below each root prefix, for the
	// prefixes that have longer codes (in prefixes).
	var subWidth [1 << litBits]uint8
	var prefixes [288]uint32
	nprefix := 0
	var codes [288]uint32
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		c := bits.Reverse32(next[l]) >> (32 - uint(l))
		next[l]++
		codes[sym] = c
		if uint(l) > root {
			p := c & uint32(rootLen-1)
			if subWidth[p] == 0 {
				prefixes[nprefix] = p
				nprefix++
			}
			if w := l - uint8(root); w > subWidth[p] {
				subWidth[p] = w
			}
		}
	}
	end := rootLen
	for _, p := range prefixes[:nprefix] {
		w := uint(subWidth[p])
		if end+(1<<w) > len(table) {
			return fmt.Errorf("%w: Huffman table too large", ErrCorrupt)
		}
		if left > 0 {
			for i := end; i < end+(1<<w); i++ {
				table[i] = invalid
			}
		}
		table[p] = flagSub | uint32(end)<<16 | uint32(w)<<8 | uint32(root)
		end += 1 << w
	}
	for sym, l := range lens {
		if l == 0 {
			continue
		}
		flags, value, extra := entry(sym)
		c := codes[sym]
		if uint(l) <= root {
			e := flags | value<<16 | uint32(l)<<8 | (uint32(l) + extra)
			for i := int(c); i < rootLen; i += 1 << l {
				table[i] = e
			}
			continue
		}
		p := c & uint32(rootLen-1)
		w := uint(subWidth[p])
		base := int(table[p] >> 16)
		sl := uint32(l) - uint32(root)
		e := flags | value<<16 | sl<<8 | (sl + extra)
		for i := int(c >> root); i < 1<<w; i += 1 << sl {
			table[base+i] = e
		}
	}
	return nil
}

const (
	stateHeader = iota
	stateHuffman
	stateStored
	stateDone
)

// Reader decodes one DEFLATE stream from memory. Its zero value is not
// usable; get one from NewReader and reuse it with Reset.
type Reader struct {
	src    []byte
	ip     int // the next byte of src to load into bitbuf
	bitbuf uint64
	nbits  uint // valid bits in bitbuf

	out    []byte
	op, rp int // decoded up to op; handed out up to rp

	state  int
	final  bool
	stored int // bytes left in the stored block
	err    error

	lit, dist       []uint32 // the current block's tables
	litBuf, distBuf []uint32 // dynamic tables' storage
	lens            [288 + 32]uint8
}

// NewReader returns a Reader of the stream in src.
func NewReader(src []byte) *Reader {
	r := &Reader{
		out:     make([]byte, bufLen),
		litBuf:  make([]uint32, litTableLen),
		distBuf: make([]uint32, distTableLen),
	}
	r.Reset(src)
	return r
}

// Reset makes r decode src from its start, keeping r's buffers.
func (r *Reader) Reset(src []byte) {
	r.src, r.ip, r.bitbuf, r.nbits = src, 0, 0, 0
	r.op, r.rp = 0, 0
	r.state, r.final, r.stored, r.err = stateHeader, false, 0, nil
}

// Consumed returns how many bytes of the input the stream took, once Read
// has returned io.EOF.
func (r *Reader) Consumed() int {
	return r.ip - int(r.nbits/8)
}

func (r *Reader) corrupt(what string) error {
	return fmt.Errorf("%w: %s at input offset %d", ErrCorrupt, what, r.Consumed())
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for r.rp == r.op {
		if r.err != nil {
			return 0, r.err
		}
		r.decode()
	}
	n := copy(p, r.out[r.rp:r.op])
	r.rp += n
	return n, nil
}

// decode decodes until the buffer is full, a block ends or the stream
// ends, first sliding the window to the front of a full buffer.
func (r *Reader) decode() {
	if r.op >= flushAt {
		copy(r.out, r.out[r.op-window:r.op])
		r.op, r.rp = window, window
	}
	switch r.state {
	case stateHeader:
		r.err = r.header()
	case stateHuffman:
		r.err = r.huffman()
	case stateStored:
		r.err = r.copyStored()
	case stateDone:
		r.err = io.EOF
	}
}

// refill fills bitbuf to at least 56 bits, with zero bits past the input's
// end (which it counts in ip beyond len(src)).
func (r *Reader) refill() {
	if r.ip <= len(r.src)-8 {
		r.bitbuf |= binary.LittleEndian.Uint64(r.src[r.ip:]) << r.nbits
		r.ip += int((63 - r.nbits) >> 3)
		r.nbits |= 56
		return
	}
	for r.nbits <= 56 {
		if r.ip < len(r.src) {
			r.bitbuf |= uint64(r.src[r.ip]) << r.nbits
		}
		r.ip++
		r.nbits += 8
	}
}

// overrun says whether the bits taken so far go past the input's end.
func (r *Reader) overrun() bool {
	return r.ip*8-int(r.nbits) > len(r.src)*8
}

// take returns the next n (at most 32) bits.
func (r *Reader) take(n uint) uint32 {
	if r.nbits < n {
		r.refill()
	}
	v := uint32(r.bitbuf & (1<<n - 1))
	r.bitbuf >>= n
	r.nbits -= n
	return v
}

func (r *Reader) header() error {
	if r.final {
		r.state = stateDone
		return nil
	}
	h := r.take(3)
	if r.overrun() {
		return r.corrupt("unexpected end of input")
	}
	r.final = h&1 != 0
	switch h >> 1 {
	case 0:
		// Stored: skip to a byte boundary, give back the whole bytes
		// still in the bit buffer, read LEN and NLEN.
		r.take(r.nbits % 8)
		r.ip -= int(r.nbits / 8)
		r.bitbuf, r.nbits = 0, 0
		if r.ip+4 > len(r.src) {
			return r.corrupt("unexpected end of input")
		}
		n := binary.LittleEndian.Uint16(r.src[r.ip:])
		if ^n != binary.LittleEndian.Uint16(r.src[r.ip+2:]) {
			return r.corrupt("stored block length does not match its complement")
		}
		r.ip += 4
		r.stored = int(n)
		r.state = stateStored
	case 1:
		r.lit, r.dist = fixedLit, fixedDist
		r.state = stateHuffman
	case 2:
		if err := r.dynamic(); err != nil {
			return err
		}
		r.state = stateHuffman
	default:
		return r.corrupt("reserved block type")
	}
	return nil
}

func (r *Reader) copyStored() error {
	n := min(r.stored, flushAt-r.op, len(r.src)-r.ip)
	if n == 0 && r.stored > 0 && r.ip >= len(r.src) {
		return r.corrupt("unexpected end of input in a stored block")
	}
	copy(r.out[r.op:], r.src[r.ip:r.ip+n])
	r.op += n
	r.ip += n
	r.stored -= n
	if r.stored == 0 {
		r.state = stateHeader
	}
	return nil
}

// dynamic reads a dynamic block's code lengths and builds its tables.
func (r *Reader) dynamic() error {
	nlit := int(r.take(5)) + 257
	ndist := int(r.take(5)) + 1
	nclen := int(r.take(4)) + 4
	if nlit > 286 || ndist > 30 {
		return r.corrupt("too many length or distance codes")
	}
	var clens [19]uint8
	for i := 0; i < nclen; i++ {
		clens[precodeOrder[i]] = uint8(r.take(3))
	}
	if r.overrun() {
		return r.corrupt("unexpected end of input")
	}
	var pre [1 << 7]uint32
	if err := buildTable(pre[:], clens[:], 7, func(sym int) (uint32, uint32, uint32) { return 0, uint32(sym), 0 }); err != nil {
		return fmt.Errorf("%w (code length code) at input offset %d", err, r.Consumed())
	}
	lens := r.lens[:nlit+ndist]
	for i := 0; i < len(lens); {
		if r.nbits < 16 {
			r.refill()
		}
		e := pre[r.bitbuf&(1<<7-1)]
		if e&flagInvalid != 0 {
			return r.corrupt("invalid code length code")
		}
		l := uint(e & 0xff)
		r.bitbuf >>= l
		r.nbits -= l
		sym := e >> 16
		if sym < 16 {
			lens[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				return r.corrupt("repeat with no previous length")
			}
			v = lens[i-1]
			rep = 3 + int(r.take(2))
		case 17:
			rep = 3 + int(r.take(3))
		default:
			rep = 11 + int(r.take(7))
		}
		if i+rep > len(lens) {
			return r.corrupt("code lengths overflow")
		}
		for ; rep > 0; rep-- {
			lens[i] = v
			i++
		}
	}
	if r.overrun() {
		return r.corrupt("unexpected end of input")
	}
	if lens[256] == 0 {
		return r.corrupt("no end-of-block code")
	}
	if err := buildTable(r.litBuf, lens[:nlit], litBits, litEntry); err != nil {
		return fmt.Errorf("%w (literal/length code) at input offset %d", err, r.Consumed())
	}
	if err := buildTable(r.distBuf, lens[nlit:], distBits, distEntry); err != nil {
		return fmt.Errorf("%w (distance code) at input offset %d", err, r.Consumed())
	}
	r.lit, r.dist = r.litBuf, r.distBuf
	return nil
}

// huffman decodes symbols of a Huffman block until its end or a full
// buffer. It is the hot loop: state lives in locals.
func (r *Reader) huffman() error {
	src, out := r.src, r.out
	lit, dist := r.lit, r.dist
	bitbuf, nbits, ip, op := r.bitbuf, r.nbits, r.ip, r.op
	// Past this input offset the zero bits refill adds are taken as the
	// stream's: a corrupt stream could otherwise decode them forever.
	limit := len(r.src) + 16
	var err error
	// The next symbol's entry is looked up before the refill that goes
	// with it: a refill leaves bitbuf's low bits as they are, and after
	// a fast refill all 64 bits are the input's, so at least 16 are left
	// when the lookup is made. Near the input's end, where refill loads
	// byte by byte, the entry is looked up again after it.
	if r.nbits < 16 {
		r.refill()
		bitbuf, nbits, ip = r.bitbuf, r.nbits, r.ip
	}
	e := lit[bitbuf&(1<<litBits-1)]
loop:
	for op < flushAt {
		if ip <= len(src)-8 {
			bitbuf |= binary.LittleEndian.Uint64(src[ip:]) << nbits
			ip += int((63 - nbits) >> 3)
			nbits |= 56
		} else {
			for nbits <= 56 {
				if ip < len(src) {
					bitbuf |= uint64(src[ip]) << nbits
				}
				ip++
				nbits += 8
			}
			if ip > limit {
				err = errors.New("unexpected end of input")
				break
			}
			e = lit[bitbuf&(1<<litBits-1)]
		}
		if e&flagSub != 0 {
			bitbuf >>= litBits
			nbits -= litBits
			e = lit[int(e>>16)+int(bitbuf&(1<<((e>>8)&0xf)-1))]
		}
		saved := bitbuf
		t := uint(e & 0xff)
		bitbuf >>= t
		nbits -= t
		if e&flagLit != 0 {
			out[op] = byte(e >> 16)
			op++
			// A second literal needs at most 15 bits of the 36 or more
			// left.
			e = lit[bitbuf&(1<<litBits-1)]
			if e&flagLit != 0 {
				t = uint(e & 0xff)
				bitbuf >>= t
				nbits -= t
				out[op] = byte(e >> 16)
				op++
				e = lit[bitbuf&(1<<litBits-1)]
			}
			continue
		}
		if e&(flagEOB|flagInvalid) != 0 {
			if e&flagInvalid != 0 {
				err = errors.New("invalid literal/length code")
				break
			}
			r.state = stateHeader
			break loop
		}
		length := int(e>>16) + int((saved&(1<<t-1))>>((e>>8)&0xf))

		e = dist[bitbuf&(1<<distBits-1)]
		if e&flagSub != 0 {
			bitbuf >>= distBits
			nbits -= distBits
			e = dist[int(e>>16)+int(bitbuf&(1<<((e>>8)&0xf)-1))]
		}
		saved = bitbuf
		t = uint(e & 0xff)
		bitbuf >>= t
		nbits -= t
		if e&flagInvalid != 0 {
			err = errors.New("invalid distance code")
			break
		}
		d := int(e>>16) + int((saved&(1<<t-1))>>((e>>8)&0xf))
		if d > op {
			err = errors.New("distance too far back")
			break
		}
		from := op - d
		switch {
		case d >= 8:
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(out[op+i:], binary.LittleEndian.Uint64(out[from+i:]))
			}
		case d == 1:
			v := uint64(out[from]) * 0x0101010101010101
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(out[op+i:], v)
			}
		default:
			for i := 0; i < length; i++ {
				out[op+i] = out[from+i]
			}
		}
		op += length
		e = lit[bitbuf&(1<<litBits-1)]
	}
	r.bitbuf, r.nbits, r.ip, r.op = bitbuf, nbits, ip, op
	if err != nil {
		return r.corrupt(err.Error())
	}
	if r.overrun() {
		return r.corrupt("unexpected end of input")
	}
	return nil
}
