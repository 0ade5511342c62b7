package installer

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"sort"
	"strconv"
	"strings"
)

// recordRow is one line of a RECORD file.
type recordRow struct {
	path string // relative to the directory that holds .dist-info, slash separated
	hash string // "sha256=..." or "" for RECORD itself
	size int64  // -1 for no size
}

// recordHash formats a sha256 digest as RECORD wants it.
func recordHash(sum []byte) string {
	return "sha256=" + base64.RawURLEncoding.EncodeToString(sum)
}

// writeRecord formats rows sorted by path, as CSV with "\n" line ends.
func writeRecord(rows []recordRow) ([]byte, error) {
	sort.Slice(rows, func(i, j int) bool { return rows[i].path < rows[j].path })
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	for _, r := range rows {
		size := ""
		if r.size >= 0 {
			size = strconv.FormatInt(r.size, 10)
		}
		if err := w.Write([]string{r.path, r.hash, size}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	return b.Bytes(), w.Error()
}

// wantHash is a digest a wheel's RECORD promises for one file.
type wantHash struct {
	algo   string
	digest []byte
}

func (w wantHash) new() hash.Hash {
	switch w.algo {
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	}
	return sha256.New()
}

// readRecord parses a wheel's RECORD into the promised hash of each path
// (paths without a hash are left out).
func readRecord(data []byte) (map[string]wantHash, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	out := map[string]wantHash{}
	for line := 1; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) == 0 || rec[0] == "" {
			continue
		}
		if len(rec) < 2 || rec[1] == "" {
			continue
		}
		algo, enc, ok := strings.Cut(rec[1], "=")
		if !ok {
			return nil, fmt.Errorf("line %d: hash %q of %q is not ALGORITHM=DIGEST", line, rec[1], rec[0])
		}
		switch algo {
		case "sha256", "sha384", "sha512":
		case "md5", "sha1":
			return nil, fmt.Errorf("line %d: %q is hashed with %s, which wheels may not use", line, rec[0], algo)
		default:
			return nil, fmt.Errorf("line %d: unknown hash algorithm %q for %q", line, algo, rec[0])
		}
		digest, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(enc, "="))
		if err != nil {
			return nil, fmt.Errorf("line %d: hash of %q is not urlsafe base64: %w", line, rec[0], err)
		}
		out[rec[0]] = wantHash{algo: algo, digest: digest}
	}
}

// verifySHA256 checks the sha256 of data, the file at src, against want
// (hex).
func verifySHA256(src string, data []byte, want string) error {
	want = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(want), "sha256:"))
	if _, err := hex.DecodeString(want); err != nil || len(want) != 64 {
		return fmt.Errorf("checking %q: sha256 %q is not 64 hex digits", src, want)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want {
		return fmt.Errorf("checking %q: sha256 is %s, the lock says %s; the download is corrupt or the artifact changed, lock again", src, got, want)
	}
	return nil
}
