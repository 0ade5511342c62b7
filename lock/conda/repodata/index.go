package repodata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Index is a repodata.json read lazily: one pass finds every record's file
// name, package name and bytes; the records of a name are decoded the first
// time Records asks for them. Solving a few specs against a large channel
// then decodes only the packages the solve touches. An Index is safe for
// concurrent use.
type Index struct {
	src     Source
	subdir  string
	base    string
	byName  map[string][]rawRecord
	mu      sync.Mutex
	decoded map[string][]Record
}

type rawRecord struct {
	fn  string
	raw []byte
}

// ReadIndexFile reads a repodata.json or repodata.json.zst file into an
// Index.
func ReadIndexFile(path string, src Source) (*Index, error) {
	body, err := os.ReadFile(path)
	if err == nil {
		body, err = unzstd(body)
	}
	var x *Index
	if err == nil {
		x, err = indexBytes(body, src)
	}
	if err != nil {
		return nil, fmt.Errorf("reading repodata %q: %w", path, err)
	}
	return x, nil
}

// ReadIndex reads repodata.json (plain or zstd-compressed) into an Index.
// The outer JSON structure and each record's name are checked now; the
// rest of a record when its name is first asked for.
func ReadIndex(r io.Reader, src Source) (*Index, error) {
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if body, err = unzstd(body); err != nil {
		return nil, err
	}
	return indexBytes(body, src)
}

// unzstd decompresses body when it is zstd (by its magic number).
func unzstd(body []byte) ([]byte, error) {
	if !bytes.HasPrefix(body, zstdMagic) {
		return body, nil
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, fmt.Errorf("starting zstd decoder: %w", err)
	}
	defer dec.Close()
	out, err := dec.DecodeAll(body, nil)
	if err != nil {
		return nil, fmt.Errorf("decompressing repodata.json.zst: %w", err)
	}
	return out, nil
}

func indexBytes(body []byte, src Source) (*Index, error) {
	x := &Index{src: src, byName: make(map[string][]rawRecord), decoded: make(map[string][]Record)}
	sc := scanner{b: body}
	var info struct {
		Subdir  string `json:"subdir"`
		BaseURL string `json:"base_url"`
	}
	conda := map[string]bool{}
	var tarbz2 []rawRecord
	var tarNames []string
	err := sc.object(func(key []byte) error {
		switch string(key) {
		case "info":
			start := sc.i
			if err := sc.skip(); err != nil {
				return err
			}
			if err := json.Unmarshal(sc.b[start:sc.i], &info); err != nil {
				return fmt.Errorf("decoding info: %w", err)
			}
			return nil
		case "packages", "packages.conda":
			isConda := string(key) == "packages.conda"
			return sc.object(func(fnb []byte) error {
				fn := string(fnb)
				start := sc.i
				name, err := sc.recordFast()
				if err != nil {
					return fmt.Errorf("reading record %q: %w", fn, err)
				}
				rr := rawRecord{fn: fn, raw: sc.b[start:sc.i]}
				if isConda {
					conda[fn] = true
					x.byName[name] = append(x.byName[name], rr)
				} else {
					tarbz2 = append(tarbz2, rr)
					tarNames = append(tarNames, name)
				}
				return nil
			})
		default:
			return sc.skip()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("decoding repodata.json: %w", err)
	}
	for i, rr := range tarbz2 {
		if conda[strings.TrimSuffix(rr.fn, ".tar.bz2")+".conda"] {
			continue
		}
		x.byName[tarNames[i]] = append(x.byName[tarNames[i]], rr)
	}
	x.subdir = src.Subdir
	if x.subdir == "" {
		x.subdir = info.Subdir
	}
	x.base = strings.TrimRight(src.BaseURL, "/")
	if strings.Contains(info.BaseURL, "://") {
		x.base = strings.TrimRight(info.BaseURL, "/")
		x.subdir = ""
	}
	return x, nil
}

// Names returns the package names in the index, sorted.
func (x *Index) Names() []string {
	out := make([]string, 0, len(x.byName))
	for n := range x.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Len is the number of records in the index.
func (x *Index) Len() int {
	n := 0
	for _, rs := range x.byName {
		n += len(rs)
	}
	return n
}

// Records returns the records of one package name, sorted by file name;
// nil when the index has none. The slice is shared: do not modify it. A
// record that does not decode is a *ChannelError (the channel's data is
// broken, not the user's request).
func (x *Index) Records(name string) ([]Record, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if recs, ok := x.decoded[name]; ok {
		return recs, nil
	}
	raws := x.byName[name]
	if len(raws) == 0 {
		return nil, nil
	}
	recs := make([]Record, len(raws))
	for i, rr := range raws {
		r := &recs[i]
		if err := decodeRecord(rr.raw, r); err != nil {
			return nil, &ChannelError{Channel: x.src.Channel, URL: x.src.BaseURL, Err: fmt.Errorf("reading conda record %q: %w", rr.fn, err)}
		}
		r.Fn = rr.fn
		if err := r.Parse(); err != nil {
			return nil, &ChannelError{Channel: x.src.Channel, URL: x.src.BaseURL, Err: err}
		}
		r.Name = name
		r.Channel = x.src.Channel
		if r.Subdir == "" {
			r.Subdir = x.subdir
		}
		if x.base != "" && r.URL == "" {
			if x.subdir != "" {
				r.URL = x.base + "/" + x.subdir + "/" + r.Fn
			} else {
				r.URL = x.base + "/" + r.Fn
			}
		}
	}
	sort.Slice(recs, func(i, j int) bool { return recs[i].Fn < recs[j].Fn })
	x.decoded[name] = recs
	return recs, nil
}

// All decodes every record, sorted by file name.
func (x *Index) All() ([]Record, error) {
	var out []Record
	for _, n := range x.Names() {
		recs, err := x.Records(n)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Fn < out[j].Fn })
	return out, nil
}
