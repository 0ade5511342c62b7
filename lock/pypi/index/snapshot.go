package index

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"time"
)

// pageFormat names the stored form of a project page in cache keys; change
// it whenever encodeFiles changes.
const pageFormat = "files-v1"

// encodeFiles writes files in a compact binary form, so that a warm run
// reads project pages without parsing JSON or HTML or resolving URLs:
// strings are length-prefixed, numbers varints, maps sorted by key.
func encodeFiles(files []File) []byte {
	var b []byte
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	hashes := func(m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(b, uint64(len(keys)))
		for _, k := range keys {
			str(k)
			str(m[k])
		}
	}
	b = binary.AppendUvarint(b, uint64(len(files)))
	for _, f := range files {
		str(f.Filename)
		str(f.URL)
		hashes(f.Hashes)
		str(f.RequiresPython)
		var flags byte
		if f.Yanked {
			flags |= 1
		}
		if f.CoreMetadata {
			flags |= 2
		}
		if !f.UploadTime.IsZero() {
			flags |= 4
		}
		b = append(b, flags)
		str(f.YankedReason)
		if !f.UploadTime.IsZero() {
			b = binary.AppendVarint(b, f.UploadTime.UnixNano())
		}
		b = binary.AppendVarint(b, f.Size)
		hashes(f.CoreMetadataHashes)
	}
	return b
}

var errCorrupt = errors.New("corrupt cache entry")

// decodeFiles reads what encodeFiles wrote. Strings share one copy of the
// data.
func decodeFiles(data []byte) (files []File, err error) {
	s := string(data)
	pos := 0
	fail := false
	uvarint := func() uint64 {
		v, n := binary.Uvarint(data[pos:])
		if n <= 0 {
			fail = true
			return 0
		}
		pos += n
		return v
	}
	varint := func() int64 {
		v, n := binary.Varint(data[pos:])
		if n <= 0 {
			fail = true
			return 0
		}
		pos += n
		return v
	}
	str := func() string {
		n := uvarint()
		if fail || n > uint64(len(s)-pos) {
			fail = true
			return ""
		}
		v := s[pos : pos+int(n)]
		pos += int(n)
		return v
	}
	hashes := func() map[string]string {
		n := uvarint()
		if n > uint64(len(s)-pos) {
			fail = true
		}
		if n == 0 || fail {
			return nil
		}
		m := make(map[string]string, n)
		for i := uint64(0); i < n && !fail; i++ {
			k := str()
			m[k] = str()
		}
		return m
	}
	count := uvarint()
	if fail || count > uint64(len(data)) {
		return nil, errCorrupt
	}
	files = make([]File, count)
	for i := range files {
		f := &files[i]
		f.Filename = str()
		f.URL = str()
		f.Hashes = hashes()
		f.RequiresPython = str()
		if pos >= len(data) {
			return nil, errCorrupt
		}
		flags := data[pos]
		pos++
		f.Yanked, f.CoreMetadata = flags&1 != 0, flags&2 != 0
		f.YankedReason = str()
		if flags&4 != 0 {
			f.UploadTime = time.Unix(0, varint()).UTC()
		}
		f.Size = varint()
		f.CoreMetadataHashes = hashes()
		if fail {
			return nil, errCorrupt
		}
	}
	if pos != len(data) {
		return nil, fmt.Errorf("%w: %d bytes left over", errCorrupt, len(data)-pos)
	}
	return files, nil
}
