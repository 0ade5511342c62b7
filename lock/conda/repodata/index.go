package repodata

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
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
	src    Source
	subdir string
	base   string
	// body is the repodata; raw records and the names below share its
	// bytes, so it is never written.
	body []byte
	// names maps a package name to its records: recs[groups[g]:groups[g+1]].
	names   map[string]int32
	groups  []int32
	recs    []rawRecord
	mu      sync.Mutex
	decoded map[string][]Record
}

type rawRecord struct {
	fn         string
	start, end int
}

// ReadIndexFile reads a repodata.json or repodata.json.zst file into an
// Index. A large plain file is mapped into memory rather than copied: the
// Index reads it in place and unmaps it once the Index itself is garbage
// (nothing it hands out shares the mapped bytes).
func ReadIndexFile(path string, src Source) (*Index, error) {
	body, unmap, err := mapFile(path)
	if err == nil && bytes.HasPrefix(body, zstdMagic) {
		var plain []byte
		plain, err = unzstd(body)
		unmap()
		body, unmap = plain, func() {}
	}
	var x *Index
	if err == nil {
		x, err = indexBytes(body, src)
		if err != nil {
			unmap()
		} else {
			runtime.AddCleanup(x, func(unmap func()) { unmap() }, unmap)
		}
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
	x := &Index{src: src, body: body, decoded: make(map[string][]Record)}
	sc := scanner{b: body}
	var info struct {
		Subdir  string `json:"subdir"`
		BaseURL string `json:"base_url"`
	}
	sp := speculate(body, 0)
	defer sp.stop()
	var tarbz2, conda []entry
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
			into := &tarbz2
			if string(key) == "packages.conda" {
				into = &conda
			}
			if *into == nil {
				*into = make([]entry, 0, len(body)/500)
			}
			ents, next, err := packagesObject(body, sc.i, sp, *into)
			*into = ents
			if err != nil {
				return err
			}
			sc.i = next
			return nil
		default:
			return sc.skip()
		}
	})
	if err != nil {
		return nil, fmt.Errorf("decoding repodata.json: %w", err)
	}
	x.group(conda, tarbz2)
	x.subdir = src.Subdir
	if x.subdir == "" {
		x.subdir = info.Subdir
	}
	x.base = strings.TrimRight(src.BaseURL, "/")
	if strings.Contains(info.BaseURL, "://") {
		x.base = strings.TrimRight(httpc.StripURL(info.BaseURL), "/")
		x.subdir = ""
	}
	return x, nil
}

// group files the entries by package name: every .conda record, and each
// .tar.bz2 record without a .conda twin (same file name but the extension).
func (x *Index) group(conda, tarbz2 []entry) {
	var twins map[string]bool
	if len(conda) > 0 && len(tarbz2) > 0 {
		twins = make(map[string]bool, len(conda))
		for _, e := range conda {
			twins[e.fn] = true
		}
	}
	ents := conda
	if len(ents) == 0 {
		ents = tarbz2
	} else {
		for _, e := range tarbz2 {
			if !twins[strings.TrimSuffix(e.fn, ".tar.bz2")+".conda"] {
				ents = append(ents, e)
			}
		}
	}
	x.names = make(map[string]int32, len(ents)/4+1)
	ids := make([]int32, len(ents))
	var counts []int32
	last, g := "", int32(-1)
	for i, e := range ents {
		// Records sorted by file name come a name at a time.
		if g < 0 || e.name != last {
			var ok bool
			if g, ok = x.names[e.name]; !ok {
				g = int32(len(counts))
				x.names[e.name] = g
				counts = append(counts, 0)
			}
			last = e.name
		}
		ids[i] = g
		counts[g]++
	}
	x.groups = make([]int32, len(counts)+1)
	for g, n := range counts {
		x.groups[g+1] = x.groups[g] + n
	}
	fill := append([]int32(nil), x.groups[:len(counts)]...)
	x.recs = make([]rawRecord, len(ents))
	for i, e := range ents {
		g := ids[i]
		x.recs[fill[g]] = rawRecord{fn: e.fn, start: e.start, end: e.end}
		fill[g]++
	}
}

// Names returns the package names in the index, sorted.
func (x *Index) Names() []string {
	out := make([]string, 0, len(x.names))
	for n := range x.names {
		out = append(out, strings.Clone(n))
	}
	sort.Strings(out)
	return out
}

// Len is the number of records in the index.
func (x *Index) Len() int {
	return len(x.recs)
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
	g, ok := x.names[name]
	if !ok {
		return nil, nil
	}
	raws := x.recs[x.groups[g]:x.groups[g+1]]
	recs := make([]Record, len(raws))
	for i, rr := range raws {
		r := &recs[i]
		if err := decodeRecord(x.body[rr.start:rr.end], r); err != nil {
			return nil, &ChannelError{Channel: x.src.Channel, URL: x.src.BaseURL, Err: fmt.Errorf("reading conda record %q: %w", rr.fn, err)}
		}
		r.Fn = strings.Clone(rr.fn)
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
