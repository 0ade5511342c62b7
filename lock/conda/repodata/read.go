package repodata

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"

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

type rawRepodata struct {
	Info struct {
		Subdir  string `json:"subdir"`
		BaseURL string `json:"base_url"`
	} `json:"info"`
	Packages      map[string]json.RawMessage `json:"packages"`
	PackagesConda map[string]json.RawMessage `json:"packages.conda"`
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
	var raw rawRepodata
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("decoding repodata.json: %w", err)
	}
	subdir := src.Subdir
	if subdir == "" {
		subdir = raw.Info.Subdir
	}
	base := strings.TrimRight(src.BaseURL, "/")
	if raw.Info.BaseURL != "" {
		// CEP-15: artifacts live under base_url (relative to the subdir URL
		// or absolute).
		if strings.Contains(raw.Info.BaseURL, "://") {
			base = strings.TrimRight(raw.Info.BaseURL, "/")
			subdir = ""
		}
	}

	type item struct {
		fn  string
		raw json.RawMessage
	}
	items := make([]item, 0, len(raw.Packages)+len(raw.PackagesConda))
	for fn, m := range raw.PackagesConda {
		items = append(items, item{fn, m})
	}
	for fn, m := range raw.Packages {
		if _, dup := raw.PackagesConda[strings.TrimSuffix(fn, ".tar.bz2")+".conda"]; dup {
			continue
		}
		items = append(items, item{fn, m})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].fn < items[j].fn })

	recs := make([]Record, len(items))
	workers := min(runtime.GOMAXPROCS(0), 4)
	if len(items) < 512 {
		workers = 1
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(items); i += workers {
				rec := &recs[i]
				if err := json.Unmarshal(items[i].raw, rec); err != nil {
					errs[w] = fmt.Errorf("decoding record %q: %w", items[i].fn, err)
					return
				}
				rec.Fn = items[i].fn
				if err := rec.Parse(); err != nil {
					errs[w] = err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	names := make(map[string]string)
	for i := range recs {
		rec := &recs[i]
		if n, ok := names[rec.Name]; ok {
			rec.Name = n
		} else {
			names[rec.Name] = rec.Name
		}
		rec.Channel = src.Channel
		if rec.Subdir == "" {
			rec.Subdir = subdir
		}
		if base != "" && rec.URL == "" {
			if subdir != "" {
				rec.URL = base + "/" + subdir + "/" + rec.Fn
			} else {
				rec.URL = base + "/" + rec.Fn
			}
		}
	}
	return recs, nil
}
