//go:build unix

package mapfile

import (
	"os"

	"golang.org/x/sys/unix"
)

func mapOpen(f *os.File, size int64) (*File, error) {
	if size == 0 {
		return &File{}, nil
	}
	if int64(int(size)) != size {
		return nil, &os.PathError{Op: "mmap", Path: f.Name(), Err: unix.EFBIG}
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, &os.PathError{Op: "mmap", Path: f.Name(), Err: err}
	}
	return &File{Data: b, mapped: true}, nil
}

// ReleaseStep is how much is read before Release drops pages.
const ReleaseStep = 16 << 20

// Release drops from the process's memory the whole pages of
// Data[from:to] once they add up to ReleaseStep or more (or to reaches
// the end), and returns where the next release starts. The page cache
// keeps them: reading them again is correct, only slower. A reader of a
// big file calls it as it goes, so that its resident memory stays small.
func (m *File) Release(from, to int) int {
	if !m.mapped {
		return from
	}
	page := os.Getpagesize()
	lo := (from + page - 1) / page * page
	hi := to / page * page
	if to == len(m.Data) {
		hi = to
	}
	if hi-lo < ReleaseStep && to != len(m.Data) {
		return from
	}
	if hi > lo {
		_ = unix.Madvise(m.Data[lo:hi], unix.MADV_DONTNEED)
	}
	return max(from, hi)
}

// Close unmaps the file.
func (m *File) Close() error {
	if !m.mapped {
		m.Data = nil
		return nil
	}
	err := unix.Munmap(m.Data)
	m.Data, m.mapped = nil, false
	return err
}
