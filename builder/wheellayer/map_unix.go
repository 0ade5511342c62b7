//go:build unix

package wheellayer

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapping is a wheel mapped read-only into memory. The pages a layer has
// been written from are dropped as it goes (release), so that the
// process's resident memory stays small while a wheel of a gigabyte is
// read; the page cache keeps them.
type mapping struct {
	data []byte
}

func mapFile(f *os.File, size int64) (*mapping, error) {
	if size == 0 {
		return &mapping{}, nil
	}
	if int64(int(size)) != size {
		return nil, &os.PathError{Op: "mmap", Path: f.Name(), Err: unix.EFBIG}
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: f.Name(), Err: err}
	}
	return &mapping{data: b}, nil
}

// releaseStep is how much is read before pages are dropped.
const releaseStep = 16 << 20

// release drops the whole pages of data[from:to] once they add up to
// releaseStep or more (or to reaches the end), and returns where the next
// release starts.
func (m *mapping) release(from, to int) int {
	page := os.Getpagesize()
	lo := (from + page - 1) / page * page
	hi := to / page * page
	if to == len(m.data) {
		hi = to
	}
	if hi-lo < releaseStep && to != len(m.data) {
		return from
	}
	if hi > lo {
		_ = unix.Madvise(m.data[lo:hi], unix.MADV_DONTNEED)
	}
	return max(from, hi)
}

func (m *mapping) close() {
	if m.data != nil {
		_ = unix.Munmap(m.data)
		m.data = nil
	}
}
