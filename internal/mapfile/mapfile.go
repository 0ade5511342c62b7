// Package mapfile maps a file read-only into memory: the installer and
// builder/wheellayer read wheels of a gigabyte in place from the page
// cache, without a copy on the heap.
package mapfile

import "os"

// File is a file mapped into memory (read whole where there is no mmap).
type File struct {
	// Data is the file's bytes; it must not be written to.
	Data   []byte
	mapped bool
}

// Open maps the file at path.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return mapOpen(f, st.Size())
}
