package repodata

import (
	"fmt"
	"io"
)

// zstdMagic starts every zstd frame.
var zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}

// Source says where records come from; Read copies it into every record.
type Source struct {
	// Channel is the channel's name or URL as configured ("conda-forge").
	Channel string
	// BaseURL is the channel's URL without the subdir; artifact URLs are
	// BaseURL/Subdir/Fn. Empty leaves Record.URL empty unless
	// repodata.json's info.base_url says otherwise.
	BaseURL string
	// Subdir is used for records that do not name their own.
	Subdir string
}

// ReadFile reads a repodata.json or repodata.json.zst file.
func ReadFile(path string, src Source) ([]Record, error) {
	x, err := ReadIndexFile(path, src)
	if err != nil {
		return nil, err
	}
	recs, err := x.All()
	if err != nil {
		return nil, fmt.Errorf("reading repodata %q: %w", path, err)
	}
	return recs, nil
}

// Read reads repodata.json (plain or zstd-compressed, detected from the
// content) and returns its records sorted by file name. When an artifact
// exists as both .conda and .tar.bz2, only the .conda record is kept.
func Read(r io.Reader, src Source) ([]Record, error) {
	x, err := ReadIndex(r, src)
	if err != nil {
		return nil, err
	}
	return x.All()
}
