// Package tomlcheck bounds a TOML file before it is handed to the TOML
// decoder: the decoder recurses once per level of nested arrays and inline
// tables, so a file nesting them a million levels deep would exhaust the
// stack (a fatal error, not an error), and a huge file would be read whole
// into memory. Check refuses both with the file's position.
package tomlcheck

import (
	"fmt"
	"io"
	"os"

	"github.com/envbuild/envbuild/lock/failure"
)

// MaxNesting is how deeply arrays and inline tables may nest. envbuild's
// files nest two or three levels.
const MaxNesting = 32

// Check refuses data larger than maxSize bytes, and arrays or inline
// tables nested more than MaxNesting levels deep, naming the file (and the
// line and column of the bracket that goes too deep). It reads strings and
// comments as TOML does, so brackets inside them do not count; anything
// else it lets through for the decoder to judge.
func Check(name string, data []byte, maxSize int) error {
	if len(data) > maxSize {
		return failure.User(fmt.Errorf("%s: the file is %d bytes; envbuild reads at most %d", name, len(data), maxSize))
	}
	depth, line, col := 0, 1, 1
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch c {
		case '\n':
			line, col = line+1, 1
			continue
		case '#':
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
		case '"', '\'':
			n, lines, lastCol := skipString(data[i:])
			i += n - 1
			if lines > 0 {
				line += lines
				col = lastCol
			} else {
				col += n
			}
			continue
		case '[', '{':
			depth++
			if depth > MaxNesting {
				return failure.User(fmt.Errorf("%s:%d:%d: arrays and tables nested more than %d levels deep", name, line, col, MaxNesting))
			}
		case ']', '}':
			if depth > 0 {
				depth--
			}
		}
		col++
	}
	return nil
}

// skipString returns the length of the string starting data (basic or
// literal, one-line or multi-line; unterminated ones run to the end of
// the line, or of the file when multi-line), the newlines in it and the
// column after it when it spans lines.
func skipString(data []byte) (n, lines, col int) {
	q := data[0]
	triple := len(data) >= 3 && data[1] == q && data[2] == q
	i := 1
	if triple {
		i = 3
	}
	col = 1
	for i < len(data) {
		c := data[i]
		switch {
		case c == '\\' && q == '"':
			if i+1 < len(data) && data[i+1] == '\n' {
				lines++
				col = 0
			}
			i += 2
			col += 2
			continue
		case c == '\n':
			if !triple {
				return i, lines, col
			}
			lines++
			col = 0
		case c == q:
			if !triple {
				return i + 1, lines, col + 1
			}
			if i+2 < len(data) && data[i+1] == q && data[i+2] == q {
				// Up to two more quotes may belong to the string.
				j := i + 3
				for k := 0; k < 2 && j < len(data) && data[j] == q; k++ {
					j++
				}
				return j, lines, col + (j - i)
			}
		}
		i++
		col++
	}
	return len(data), lines, col
}

// ReadFile reads at most maxSize bytes of path: a larger file is refused
// without reading it into memory. Errors opening the file are returned as
// they are (os.ErrNotExist stays testable).
func ReadFile(path string, maxSize int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(maxSize)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, failure.User(fmt.Errorf("%s: the file is larger than the %d bytes envbuild reads", path, maxSize))
	}
	return data, nil
}

// Sizes envbuild reads: envbuild.toml and config.toml are written by hand;
// a lock holds every package of every environment and platform.
const (
	MaxSpecFile = 1 << 20
	MaxLockFile = 64 << 20
)
