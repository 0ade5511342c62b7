package repodata

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading repodata %q: %w", path, err)
	}
	defer f.Close()
	recs, err := Read(f, src)
	if err != nil {
		return nil, fmt.Errorf("reading repodata %q: %w", path, err)
	}
	return recs, nil
}

// Read reads repodata.json (plain or zstd-compressed, detected from the
// content) and returns its records sorted by file name. When an artifact
// exists as both .conda and .tar.bz2, only the .conda record is kept.
func Read(r io.Reader, src Source) ([]Record, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(4)
	var body []byte
	var err error
	if bytes.Equal(head, zstdMagic) {
		dec, derr := zstd.NewReader(br, zstd.WithDecoderConcurrency(1))
		if derr != nil {
			return nil, fmt.Errorf("starting zstd decoder: %w", derr)
		}
		body, err = io.ReadAll(dec)
		dec.Close()
		if err != nil {
			return nil, fmt.Errorf("decompressing repodata.json.zst: %w", err)
		}
	} else {
		body, err = io.ReadAll(br)
		if err != nil {
			return nil, err
		}
	}
	return parse(body, src)
}

func parse(body []byte, src Source) ([]Record, error) {
	x, err := indexBytes(body, src)
	if err != nil {
		return nil, err
	}
	return x.All()
}
