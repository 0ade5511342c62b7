package repodata

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// This file finds the records of repodata.json's "packages" and
// "packages.conda" objects: each record's file name (its key), package name
// and bytes, without decoding the rest. It is the part of reading a channel
// that touches every byte, so it is written for speed:
//
//   - one loop per record that looks only at quotes and brackets (a
//     256-entry table says which bytes matter) and jumps over strings with
//     bytes.IndexByte;
//   - no allocation per record: file and package names are strings that
//     share the repodata's bytes (which the Index keeps and never changes),
//     records go into one slice;
//   - on a machine with more than one core, the object is cut into pieces
//     read at once. A piece starts at a guess (a '}' ',' '"' sequence, which
//     is how one record ends and the next key begins) and its result is used
//     only when the reader before it ends exactly there, so a wrong guess
//     (the bytes inside a string, say) costs time, never a wrong answer.

// entry is one record found by the scan.
type entry struct {
	fn, name   string
	start, end int // the record object's bytes
}

// bytesString is b as a string without copying. Callers pass bytes that are
// never written again (the Index's body).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// structural marks the bytes a record scan stops at.
var structural = func() (t [256]uint8) {
	t['"'] = 1
	t['{'], t['['] = 2, 2
	t['}'], t[']'] = 3, 3
	return t
}()

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Eight bytes at a time: quoteIn has the top bit of each byte of w that is
// a '"' set (the lowest one exactly; higher ones may be false after a true
// one), so its trailing zeros locate the first quote.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func quoteIn(w uint64) uint64 {
	y := w ^ (ones * '"')
	return (y - ones) &^ y & highs
}

// stringAt returns the end (after the closing quote) of the string whose
// opening quote is b[i], and whether it holds a backslash.
func stringAt(b []byte, i int) (int, bool, error) {
	j := i + 1
	escaped := false
	for {
		// Most strings in repodata are short: look eight bytes at a
		// time before handing a long one to IndexByte.
		for n := 0; n < 4 && j+8 <= len(b); n++ {
			if m := quoteIn(binary.LittleEndian.Uint64(b[j:])); m != 0 {
				j += bits.TrailingZeros64(m) / 8
				goto found
			}
			j += 8
		}
		if k := bytes.IndexByte(b[j:], '"'); k >= 0 {
			j += k
		} else {
			return 0, false, fmt.Errorf("at byte %d: unterminated string", i)
		}
	found:
		if b[j-1] != '\\' {
			return j + 1, escaped, nil
		}
		escaped = true
		n := 0
		for m := j - 1; m > i && b[m] == '\\'; m-- {
			n++
		}
		if n%2 == 0 {
			return j + 1, true, nil
		}
		j++
	}
}

// stringValue is the string b[i:end] (quotes included) as Go text: shared
// with b when it has no escapes.
func stringValue(b []byte, i, end int, escaped bool) (string, error) {
	if !escaped {
		return bytesString(b[i+1 : end-1]), nil
	}
	var v string
	if err := json.Unmarshal(b[i:end], &v); err != nil {
		return "", fmt.Errorf("at byte %d: bad string: %v", i, err)
	}
	return v, nil
}

// skipRecord reads the record object starting at b[i] and returns the index
// after it and its top-level "name".
func skipRecord(b []byte, i int) (int, string, error) {
	if i >= len(b) || b[i] != '{' {
		return 0, "", fmt.Errorf("at byte %d: want a record object", i)
	}
	depth := 0
	name := ""
	haveName := false
	for i < len(b) {
		switch structural[b[i]] {
		case 0:
			i++
		case 1:
			end, _, err := stringAt(b, i)
			if err != nil {
				return 0, "", err
			}
			if depth == 1 && !haveName && end-i == 6 && string(b[i+1:end-1]) == "name" {
				k := skipSpace(b, end)
				if k < len(b) && b[k] == ':' {
					// The "name" key: its value must be a string.
					k = skipSpace(b, k+1)
					if k >= len(b) || b[k] != '"' {
						return 0, "", fmt.Errorf("at byte %d: name is not a string", k)
					}
					vend, vesc, err := stringAt(b, k)
					if err != nil {
						return 0, "", err
					}
					if name, err = stringValue(b, k, vend, vesc); err != nil {
						return 0, "", fmt.Errorf("bad name: %w", err)
					}
					haveName = true
					end = vend
				}
			}
			i = end
		case 2:
			depth++
			i++
		case 3:
			depth--
			i++
			if depth == 0 {
				if name == "" {
					return 0, "", fmt.Errorf("no name")
				}
				return i, name, nil
			}
		}
	}
	return 0, "", fmt.Errorf("at byte %d: unexpected end of input in a record", i)
}

// scanResult is what scanEntries found.
type scanResult struct {
	ents []entry
	// pos is where scanning stopped: after the object's '}' when done,
	// else at the key that starts at or after stop.
	pos  int
	done bool
	err  error
}

// scanEntries reads `"fn": {record}` entries of a packages object from
// b[i], where a key is expected (first: right after the '{', where '}' may
// also close an empty object). It stops after the object's closing '}', or
// at the first key that starts at or after stop (0: never), or when cancel
// is set.
func scanEntries(b []byte, i int, first bool, stop int, cancel *atomic.Bool, ents []entry) scanResult {
	fail := func(err error) scanResult { return scanResult{ents: ents, pos: i, err: err} }
	i = skipSpace(b, i)
	if first && i < len(b) && b[i] == '}' {
		return scanResult{ents: ents, pos: i + 1, done: true}
	}
	for n := 0; ; n++ {
		if stop > 0 && i >= stop {
			return scanResult{ents: ents, pos: i}
		}
		if cancel != nil && n&63 == 63 && cancel.Load() {
			return fail(errCancelled)
		}
		if i >= len(b) || b[i] != '"' {
			return fail(fmt.Errorf("at byte %d: want a file name", i))
		}
		kend, kesc, err := stringAt(b, i)
		if err != nil {
			return fail(err)
		}
		fn, err := stringValue(b, i, kend, kesc)
		if err != nil {
			return fail(err)
		}
		i = skipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return fail(fmt.Errorf("at byte %d: want ':' after a file name", i))
		}
		i = skipSpace(b, i+1)
		start := i
		end, name, err := skipRecord(b, i)
		if err != nil {
			return fail(fmt.Errorf("reading record %q: %w", fn, err))
		}
		ents = append(ents, entry{fn: fn, name: name, start: start, end: end})
		i = skipSpace(b, end)
		if i >= len(b) {
			return fail(fmt.Errorf("at byte %d: unexpected end of input in an object", i))
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return scanResult{ents: ents, pos: i + 1, done: true}
		default:
			return fail(fmt.Errorf("at byte %d: found %q after a value, want ',' or '}'", i, b[i]))
		}
	}
}

var errCancelled = fmt.Errorf("cancelled")

// minPiece is the least number of bytes worth a goroutine of its own, and
// maxPieces the most pieces (0: one per core); tests change them.
var (
	minPiece  = 256 << 10
	maxPieces = 0
)

// speculation is the pieces of a body read ahead at guessed record
// boundaries, for packagesObject to use when a guess proves right.
type speculation struct {
	starts  []int // guessed key positions, ascending
	results []chan scanResult
	cancel  atomic.Bool
	running sync.WaitGroup
}

// speculate starts one reader per extra core at guessed boundaries spread
// over b[from:]; nil when the body is small or there is one core.
func speculate(b []byte, from int) *speculation {
	pieces := maxPieces
	if pieces == 0 {
		pieces = runtime.GOMAXPROCS(0)
	}
	pieces = min(pieces, (len(b)-from)/minPiece)
	if pieces < 2 {
		return nil
	}
	sp := &speculation{}
	last := from
	for k := 1; k < pieces; k++ {
		at := from + (len(b)-from)*k/pieces
		if at <= last {
			continue
		}
		if g := guessKey(b, at); g > last {
			sp.starts = append(sp.starts, g)
			last = g
		}
	}
	for k, s := range sp.starts {
		stop := 0
		if k+1 < len(sp.starts) {
			stop = sp.starts[k+1]
		}
		ch := make(chan scanResult, 1)
		sp.results = append(sp.results, ch)
		sp.running.Add(1)
		go func() {
			defer sp.running.Done()
			ents := make([]entry, 0, max(16, (len(b)-from)/pieces/400))
			ch <- scanEntries(b, s, false, stop, &sp.cancel, ents)
		}()
	}
	return sp
}

// guessKey returns the position of the first '"' at or after at that
// follows '}' and ',' (spaces allowed between): where a record ends and the
// next key starts, if at is not inside a string. -1 when there is none.
func guessKey(b []byte, at int) int {
	for at < len(b) {
		k := bytes.IndexByte(b[at:], '}')
		if k < 0 {
			return -1
		}
		i := skipSpace(b, at+k+1)
		if i < len(b) && b[i] == ',' {
			if j := skipSpace(b, i+1); j < len(b) && b[j] == '"' {
				return j
			}
		}
		at += k + 1
	}
	return -1
}

// next returns the index of the first guess at or after pos, or -1.
func (sp *speculation) next(pos int) int {
	if sp == nil {
		return -1
	}
	for k, s := range sp.starts {
		if s >= pos {
			return k
		}
	}
	return -1
}

// stop tells the readers still running to give up, and waits for them:
// once it returns, no reader looks at the body any more (which may then be
// unmapped).
func (sp *speculation) stop() {
	if sp != nil {
		sp.cancel.Store(true)
		sp.running.Wait()
	}
}

// packagesObject reads a packages object whose '{' is at b[i]: its entries
// appended to ents, and the index after its '}'. Pieces of sp whose guessed
// start the sequential reading reaches exactly are taken as read.
func packagesObject(b []byte, i int, sp *speculation, ents []entry) ([]entry, int, error) {
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != '{' {
		return ents, 0, fmt.Errorf("at byte %d: want an object of records", i)
	}
	i++
	first := true
	used := -1 // the last piece of sp taken
	for {
		k := sp.next(i)
		if k >= 0 && k <= used {
			k = used + 1
			if k >= len(sp.starts) {
				k = -1
			}
		}
		stop := 0
		if k >= 0 {
			stop = sp.starts[k]
		}
		r := scanEntries(b, i, first, stop, nil, ents)
		ents = r.ents
		if r.err != nil {
			return ents, 0, r.err
		}
		if r.done {
			return ents, r.pos, nil
		}
		first = false
		i = r.pos
		if i != stop {
			// Passed the guess: it was not a boundary. Go on alone.
			used = k
			continue
		}
		// Reached a guessed boundary: take the pieces read from it, one
		// after another, while each ends where the next begins.
		for k >= 0 {
			used = k
			pr := <-sp.results[k]
			if pr.err != nil {
				// Read it again here, for the same error or, when it
				// was cancelled, the records.
				break
			}
			ents = append(ents, pr.ents...)
			if pr.done {
				return ents, pr.pos, nil
			}
			i = pr.pos
			if k+1 < len(sp.starts) && sp.starts[k+1] == i {
				k++
				continue
			}
			break
		}
	}
}
