//go:build unix

package repodata

import (
	"os"
	"syscall"
)

// mapFile maps a file read-only into memory and returns its bytes and the
// function that unmaps them; files too small to gain from it are read.
// Mapping spares copying the file into the heap (and the heap's zeroing and
// collecting of it): the operating system's cached pages are read in place.
// A mapped file must not be truncated while mapped: the repodata cache
// replaces its files by renaming (the mapping keeps the old file).
func mapFile(path string) ([]byte, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size < 1<<20 || int64(int(size)) != size {
		b, err := os.ReadFile(path)
		return b, func() {}, err
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		b, err := os.ReadFile(path)
		return b, func() {}, err
	}
	return b, func() { syscall.Munmap(b) }, nil
}
