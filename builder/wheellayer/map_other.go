//go:build !unix

package wheellayer

import (
	"io"
	"os"
)

// mapping holds a wheel read whole into memory where mmap is not at hand.
type mapping struct {
	data []byte
}

func mapFile(f *os.File, size int64) (*mapping, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f, 0, size), b); err != nil {
		return nil, err
	}
	return &mapping{data: b}, nil
}

func (m *mapping) release(from, to int) int { return from }

func (m *mapping) close() { m.data = nil }
