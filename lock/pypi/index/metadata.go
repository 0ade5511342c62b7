package index

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// ErrDynamicMetadata is matched (errors.Is) by the error of Metadata for
// an sdist whose PKG-INFO does not pin its dependencies (Metadata-Version
// before 2.2, or Requires-Dist declared Dynamic): only a build could tell.
var ErrDynamicMetadata = errors.New("dependencies are only known after a build")

// Metadata returns the core metadata of f, trying in turn: the PEP 658
// metadata file (checked against its published hash); for a wheel, the
// METADATA member read with HTTP range requests on the zip's central
// directory; a download of the whole file (checked against f's sha256).
// Results are cached on disk by file URL and hash. A file whose metadata
// names another project or version than its filename is an error.
func (c *Client) Metadata(ctx context.Context, f File) (*Metadata, error) {
	key := "metadata-v1 " + f.URL + " sha256=" + f.Hashes["sha256"]
	c.metaMu.Lock()
	cl, ok := c.metas[key]
	if !ok {
		cl = &call[*Metadata]{done: make(chan struct{})}
		c.metas[key] = cl
		c.metaMu.Unlock()
		cl.val, cl.err = c.fetchMetadata(ctx, f, key)
		if cl.err != nil && ctx.Err() != nil {
			c.metaMu.Lock()
			delete(c.metas, key)
			c.metaMu.Unlock()
		}
		close(cl.done)
		return cl.val, cl.err
	}
	c.metaMu.Unlock()
	select {
	case <-cl.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cl.err != nil && ctx.Err() == nil && (errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded)) {
		// The first caller gave up; this one has not.
		return c.Metadata(ctx, f)
	}
	return cl.val, cl.err
}

func (c *Client) fetchMetadata(ctx context.Context, f File, key string) (*Metadata, error) {
	if data, ok := c.f.Cache().GetBlob(key); ok {
		if md, err := parseCoreMetadata(httpc.BlobBody(data)); err == nil {
			return md.metadata(), nil
		}
	}
	if c.f.Offline() {
		return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: %w", f.Filename, httpc.ErrOffline))
	}
	u, err := url.Parse(f.URL)
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: file URL %q: %w", f.Filename, Redact(f.URL), err))
	}
	isWheel := strings.HasSuffix(strings.ToLower(f.Filename), ".whl")

	var raw []byte
	switch {
	case f.CoreMetadata:
		raw, err = c.metadataFile(ctx, f, true)
	case isWheel && !c.hostFlag(c.noMetaProbe, u.Host):
		raw, err = c.metadataFile(ctx, f, false)
	}
	if err != nil {
		return nil, err
	}
	if raw == nil && isWheel {
		raw, err = c.wheelMetadataByRange(ctx, f)
		if err != nil {
			return nil, err
		}
	}
	if raw == nil {
		raw, err = c.metadataByDownload(ctx, f)
		if err != nil {
			return nil, err
		}
	}
	md, err := parseCoreMetadata(raw)
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: %w", f.Filename, err))
	}
	if err := checkIdentity(f, md); err != nil {
		return nil, failure.Infra(err)
	}
	if !isWheel {
		// An sdist's metadata, from PKG-INFO or a PEP 658 file, is only
		// what a build would produce when it says its fields are static.
		if dyn, why := md.dynamic(); dyn {
			return nil, failure.User(&DynamicMetadataError{
				Filename: f.Filename, Why: why, Declared: md.metadata(),
			})
		}
	}
	if err := c.f.Cache().PutBlob(key, raw); err != nil {
		c.logf("not caching the metadata of %s: %v", f.Filename, err)
	}
	return md.metadata(), nil
}

// DynamicMetadataError is the error of Metadata for an sdist whose
// dependencies only a build would tell (it matches ErrDynamicMetadata). It
// carries what the sdist declares anyway, for callers that accept it as a
// best effort (envbuild lock --allow-sdist, which says so).
type DynamicMetadataError struct {
	Filename string
	Why      string
	// Declared is the metadata the sdist's PKG-INFO states.
	Declared *Metadata
}

func (e *DynamicMetadataError) Error() string {
	return fmt.Sprintf("reading the dependencies of %s: %s, so only a build would tell: %v; pick a version with a wheel", e.Filename, e.Why, ErrDynamicMetadata)
}

// Unwrap makes errors.Is(err, ErrDynamicMetadata) hold.
func (e *DynamicMetadataError) Unwrap() error { return ErrDynamicMetadata }

// checkIdentity refuses metadata that names another project or version
// than the file it came from.
func checkIdentity(f File, md coreMetadata) error {
	name, version, ok := distInfo(f.Filename)
	if !ok {
		return nil
	}
	gotName, gotVersion := md.first("name"), md.first("version")
	if pep508.NormalizeName(gotName) != name || !sameVersion(gotVersion, version) {
		return fmt.Errorf("the metadata of %s says it is %s %s, which contradicts the file name; the index serves inconsistent files", f.Filename, gotName, gotVersion)
	}
	return nil
}

// newHash returns a hash.Hash for a PEP 503 hash name, or nil.
func newHash(name string) hash.Hash {
	switch name {
	case "sha256":
		return sha256.New()
	case "sha384":
		return sha512.New384()
	case "sha512":
		return sha512.New()
	case "sha224":
		return sha256.New224()
	case "sha1":
		return sha1.New()
	case "md5":
		return md5.New()
	}
	return nil
}

// checkHashes verifies data against every hash in want this package knows;
// it reports whether at least one was checked.
func checkHashes(data []byte, want map[string]string) (checked bool, err error) {
	for name, hexWant := range want {
		h := newHash(name)
		if h == nil {
			continue
		}
		h.Write(data)
		got := hex.EncodeToString(h.Sum(nil))
		if got != hexWant {
			return true, fmt.Errorf("its %s is %s, the index published %s", name, got, hexWant)
		}
		checked = true
	}
	return checked, nil
}

// metadataFile fetches f.URL+".metadata". advertised: the index said it
// exists (PEP 658), so a hash mismatch is an error and a 404 is logged;
// otherwise this is a probe (some mirrors serve the files without saying
// so), and anything but a valid file for f turns probing off for the host.
func (c *Client) metadataFile(ctx context.Context, f File, advertised bool) ([]byte, error) {
	mu := f.URL + ".metadata"
	host := hostOf(f.URL)
	var body []byte
	status := 0
	err := c.f.SendMeta(ctx, mu, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, mu, nil)
	}, func(resp *http.Response) error {
		status = resp.StatusCode
		if resp.StatusCode != http.StatusOK {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			return nil
		}
		b, err := httpc.ReadBody(resp)
		body = b
		return err
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		var ae *httpc.AuthError
		if errors.As(err, &ae) {
			return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: %w", f.Filename, err))
		}
		c.logf("metadata file of %s unavailable (%v); reading the wheel instead", f.Filename, err)
		return nil, nil
	}
	if status != http.StatusOK {
		if advertised {
			c.logf("index lists a metadata file for %s but answered %d for it; reading the wheel instead", f.Filename, status)
		} else {
			c.noMetadataFiles(host, fmt.Sprintf("answered %d", status))
		}
		return nil, nil
	}
	if !advertised {
		md, err := parseCoreMetadata(body)
		if err != nil || checkIdentity(f, md) != nil {
			c.noMetadataFiles(host, "answered something else than core metadata")
			return nil, nil
		}
		return body, nil
	}
	checked, err := checkHashes(body, f.CoreMetadataHashes)
	if err != nil {
		return nil, failure.User(fmt.Errorf("the metadata file of %s from %s does not match the hash the index published: %w", f.Filename, Redact(mu), err))
	}
	if !checked && len(f.CoreMetadataHashes) > 0 {
		c.logf("cannot check the metadata file of %s: no supported hash among those the index gave", f.Filename)
	}
	return body, nil
}

// noMetadataFiles turns probing for unadvertised metadata files off for
// host, and says so once.
func (c *Client) noMetadataFiles(host, why string) {
	if !c.setHostFlag(c.noMetaProbe, host) {
		return
	}
	c.logf("%s has no metadata files for wheels the index does not list them for (a probe %s); reading wheel metadata with range requests", host, why)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// tailSize is how much of a wheel's end the first range request asks for:
// enough for the central directory of most wheels.
const tailSize = 64 << 10

// readAhead is the least a later range request asks for.
const readAhead = 64 << 10

// errRangeIgnored: the server answered a range request with the whole file.
var errRangeIgnored = errors.New("the server ignores Range requests")

// rangeReader is an io.ReaderAt over a remote file, fetching missing
// parts with range requests and keeping what it fetched.
type rangeReader struct {
	ctx    context.Context
	c      *Client
	url    string
	size   int64
	mu     sync.Mutex
	chunks []chunk
	reqs   int
}

type chunk struct {
	off  int64
	data []byte
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= r.size {
		return 0, io.EOF
	}
	want := int64(len(p))
	if off+want > r.size {
		want = r.size - off
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ch := range r.chunks {
		if off >= ch.off && off+want <= ch.off+int64(len(ch.data)) {
			n := copy(p, ch.data[off-ch.off:off-ch.off+want])
			if int64(n) < int64(len(p)) {
				return n, io.EOF
			}
			return n, nil
		}
	}
	end := off + max(want, readAhead)
	if end > r.size {
		end = r.size
	}
	data, _, _, err := r.c.fetchRange(r.ctx, r.url, fmt.Sprintf("bytes=%d-%d", off, end-1))
	r.reqs++
	if err != nil {
		return 0, err
	}
	if int64(len(data)) < want {
		return 0, fmt.Errorf("range request for %d bytes at %d of %s returned %d", want, off, Redact(r.url), len(data))
	}
	r.add(chunk{off: off, data: data})
	n := copy(p, data[:want])
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// add keeps ch, merged with the chunks it touches or overlaps, so that a
// read across the boundary of two fetches is served from memory.
func (r *rangeReader) add(ch chunk) {
	kept := r.chunks[:0]
	for _, o := range r.chunks {
		oEnd, chEnd := o.off+int64(len(o.data)), ch.off+int64(len(ch.data))
		if o.off > chEnd || ch.off > oEnd {
			kept = append(kept, o)
			continue
		}
		start, end := min(o.off, ch.off), max(oEnd, chEnd)
		merged := make([]byte, end-start)
		copy(merged[o.off-start:], o.data)
		copy(merged[ch.off-start:], ch.data)
		ch = chunk{off: start, data: merged}
	}
	r.chunks = append(kept, ch)
}

// fetchRange asks for one range of url. It returns the bytes, their offset
// and the file's total size; errRangeIgnored (with the body unread) when
// the server answered 200 instead of 206.
func (c *Client) fetchRange(ctx context.Context, u, rng string) (data []byte, start, total int64, err error) {
	err = c.f.SendMeta(ctx, u, rangeRequest(u, rng), func(resp *http.Response) error {
		switch resp.StatusCode {
		case http.StatusPartialContent:
			s, t, b, err := readPartial(resp, u)
			if err != nil {
				return err
			}
			data, start, total = b, s, t
			return nil
		case http.StatusOK, http.StatusRequestedRangeNotSatisfiable:
			return errRangeIgnored
		}
		return &httpc.StatusError{URL: u, Status: resp.StatusCode, Tries: 1}
	})
	return data, start, total, err
}

// wheelMetadataByRange reads METADATA from the wheel's zip directory with
// range requests. It returns nil, nil when the server does not do ranges
// (the caller then downloads the file).
func (c *Client) wheelMetadataByRange(ctx context.Context, f File) ([]byte, error) {
	host := hostOf(f.URL)
	if c.hostFlag(c.noRangeHosts, host) {
		return nil, nil
	}
	rng := fmt.Sprintf("bytes=-%d", tailSize)
	if f.Size > 0 && f.Size <= tailSize {
		rng = "bytes=0-"
	}
	var tail []byte
	var start, total int64
	// A server that ignores Range sends the whole file: keep it, rather
	// than asking again.
	var whole *os.File
	var wholeSum string
	var wholeSize int64
	defer func() {
		if whole != nil {
			whole.Close()
			os.Remove(whole.Name())
		}
	}()
	err := c.f.SendMeta(ctx, f.URL, rangeRequest(f.URL, rng), func(resp *http.Response) error {
		switch resp.StatusCode {
		case http.StatusPartialContent:
			s, t, b, err := readPartial(resp, f.URL)
			if err != nil {
				return err
			}
			tail, start, total = b, s, t
			return nil
		case http.StatusOK:
			if whole == nil {
				tmp, err := c.tempFile(f)
				if err != nil {
					return err
				}
				whole = tmp
			}
			if err := whole.Truncate(0); err != nil {
				return err
			}
			if _, err := whole.Seek(0, io.SeekStart); err != nil {
				return err
			}
			h := sha256.New()
			n, err := io.Copy(io.MultiWriter(whole, h), resp.Body)
			if err != nil {
				return httpc.Retryable{Err: fmt.Errorf("reading %s: %w", Redact(f.URL), err)}
			}
			wholeSum, wholeSize = hex.EncodeToString(h.Sum(nil)), n
			return errRangeIgnored
		case http.StatusRequestedRangeNotSatisfiable:
			return errRangeIgnored
		}
		return &httpc.StatusError{URL: f.URL, Status: resp.StatusCode, Tries: 1}
	})
	if errors.Is(err, errRangeIgnored) {
		if c.setHostFlag(c.noRangeHosts, host) {
			c.logf("%s ignores range requests; downloading whole wheels to read their metadata", host)
		}
		if whole == nil {
			return nil, nil
		}
		return c.metadataFromFile(f, whole, wholeSize, wholeSum)
	}
	if err != nil {
		return nil, c.fileError(f, err)
	}
	r := &rangeReader{ctx: ctx, c: c, url: f.URL, size: total, chunks: []chunk{{off: start, data: tail}}}
	// Fetch the whole central directory in one request rather than in the
	// small reads archive/zip makes.
	if off, _, ok := centralDirectory(tail, start, total); ok && off < start {
		buf := make([]byte, start-off)
		if _, err := r.ReadAt(buf, off); err != nil {
			return nil, c.fileError(f, err)
		}
	}
	zr, err := zip.NewReader(r, total)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var se *httpc.StatusError
		var te *httpc.TransportError
		if errors.As(err, &se) || errors.As(err, &te) {
			return nil, c.fileError(f, err)
		}
		return nil, failure.Infra(fmt.Errorf("reading the zip directory of %s: %w", f.Filename, err))
	}
	data, err := wheelMetadata(zr, f.Filename)
	if err != nil {
		return nil, failure.Infra(err)
	}
	return data, nil
}

// fileError words a failed file fetch.
func (c *Client) fileError(f File, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return failure.Infra(fmt.Errorf("reading %s from %s: %w", f.Filename, Redact(f.URL), err))
}

// centralDirectory finds the zip central directory's offset and size
// from the end of the file (tail starts at tailStart), zip64 included.
func centralDirectory(tail []byte, tailStart, total int64) (off, size int64, ok bool) {
	const eocdLen = 22
	if tailStart+int64(len(tail)) != total || len(tail) < eocdLen {
		return 0, 0, false
	}
	i := -1
	for j := len(tail) - eocdLen; j >= 0; j-- {
		if binary.LittleEndian.Uint32(tail[j:]) == 0x06054b50 {
			i = j
			break
		}
	}
	if i < 0 {
		return 0, 0, false
	}
	size = int64(binary.LittleEndian.Uint32(tail[i+12:]))
	off = int64(binary.LittleEndian.Uint32(tail[i+16:]))
	if off != 0xffffffff && size != 0xffffffff {
		return off, size, true
	}
	// zip64: a 20-byte locator precedes the end record and points at the
	// zip64 end record, which holds the real size (at 40) and offset (at 48).
	if i < 20 || binary.LittleEndian.Uint32(tail[i-20:]) != 0x07064b50 {
		return 0, 0, false
	}
	rec := int64(binary.LittleEndian.Uint64(tail[i-20+8:])) - tailStart
	if rec < 0 || rec+56 > int64(len(tail)) || binary.LittleEndian.Uint32(tail[rec:]) != 0x06064b50 {
		return 0, 0, false
	}
	size = int64(binary.LittleEndian.Uint64(tail[rec+40:]))
	off = int64(binary.LittleEndian.Uint64(tail[rec+48:]))
	return off, size, true
}

// wheelMetadata reads NAME-VERSION.dist-info/METADATA from a wheel,
// preferring the .dist-info directory that matches the filename.
func wheelMetadata(zr *zip.Reader, filename string) ([]byte, error) {
	name, _, _ := distInfo(filename)
	var candidates []*zip.File
	for _, zf := range zr.File {
		dir, base := path.Split(zf.Name)
		if base != "METADATA" || strings.Count(zf.Name, "/") != 1 || !strings.HasSuffix(dir, ".dist-info/") {
			continue
		}
		candidates = append(candidates, zf)
	}
	var pick *zip.File
	for _, zf := range candidates {
		dirName := strings.TrimSuffix(path.Dir(zf.Name), ".dist-info")
		if i := strings.LastIndexByte(dirName, '-'); i > 0 && pep508.NormalizeName(dirName[:i]) == name {
			pick = zf
			break
		}
	}
	if pick == nil && len(candidates) == 1 {
		pick = candidates[0]
	}
	if pick == nil {
		return nil, fmt.Errorf("reading the metadata of %s: the wheel has no single NAME-VERSION.dist-info/METADATA (found %d)", filename, len(candidates))
	}
	rc, err := pick.Open()
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", pick.Name, filename, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("reading %s from %s: %w", pick.Name, filename, err)
	}
	return data, nil
}

// metadataByDownload downloads the whole file (checking its sha256 when the
// index gave one) and reads the metadata from it: a wheel's METADATA, or
// an sdist's PKG-INFO when that pins the dependencies.
func (c *Client) metadataByDownload(ctx context.Context, f File) ([]byte, error) {
	tmp, err := c.tempFile(f)
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	c.logf("downloading all of %s to read its metadata", f.Filename)
	sum, size, err := c.download(ctx, f.URL, tmp)
	if err != nil {
		return nil, err
	}
	return c.metadataFromFile(f, tmp, size, sum)
}

// tempFile is a scratch file in the cache directory for a download.
func (c *Client) tempFile(f File) (*os.File, error) {
	tmpDir := filepath.Join(c.f.Cache().Dir(), "tmp")
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: %w", f.Filename, err))
	}
	tmp, err := os.CreateTemp(tmpDir, "download-*")
	if err != nil {
		return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: %w", f.Filename, err))
	}
	return tmp, nil
}

// metadataFromFile checks a downloaded file against the sha256 the index
// published and reads its metadata.
func (c *Client) metadataFromFile(f File, tmp *os.File, size int64, sum string) ([]byte, error) {
	if want := f.Hashes["sha256"]; want != "" && want != sum {
		return nil, failure.User(fmt.Errorf("the sha256 of %s from %s is %s, the index published %s; the file changed or was corrupted", f.Filename, Redact(f.URL), sum, want))
	}
	lower := strings.ToLower(f.Filename)
	switch {
	case strings.HasSuffix(lower, ".whl"):
		zr, err := zip.NewReader(tmp, size)
		if err != nil {
			return nil, failure.Infra(fmt.Errorf("reading the wheel %s: %w", f.Filename, err))
		}
		data, err := wheelMetadata(zr, f.Filename)
		if err != nil {
			return nil, failure.Infra(err)
		}
		return data, nil
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".zip"):
		if _, err := tmp.Seek(0, io.SeekStart); err != nil {
			return nil, failure.Infra(err)
		}
		data, err := sdistPKGInfo(tmp, size, lower)
		if err != nil {
			return nil, failure.Infra(fmt.Errorf("reading the metadata of %s: %w", f.Filename, err))
		}
		return data, nil
	}
	return nil, failure.User(fmt.Errorf("reading the metadata of %s: not a wheel (.whl) or sdist (.tar.gz, .zip)", f.Filename))
}

// sdistPKGInfo returns the top-level PKG-INFO of an sdist: the file
// NAME-VERSION/PKG-INFO.
func sdistPKGInfo(f *os.File, size int64, lower string) ([]byte, error) {
	isTop := func(name string) bool {
		name = strings.TrimPrefix(name, "./")
		dir, base := path.Split(name)
		return base == "PKG-INFO" && strings.Count(strings.TrimSuffix(dir, "/"), "/") == 0 && dir != ""
	}
	if strings.HasSuffix(lower, ".zip") {
		zr, err := zip.NewReader(f, size)
		if err != nil {
			return nil, err
		}
		for _, zf := range zr.File {
			if isTop(zf.Name) {
				rc, err := zf.Open()
				if err != nil {
					return nil, err
				}
				defer rc.Close()
				return io.ReadAll(io.LimitReader(rc, 32<<20))
			}
		}
		return nil, errors.New("no NAME-VERSION/PKG-INFO in the archive")
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil, errors.New("no NAME-VERSION/PKG-INFO in the archive")
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg && isTop(h.Name) {
			var buf bytes.Buffer
			_, err := io.Copy(&buf, io.LimitReader(tr, 32<<20))
			return buf.Bytes(), err
		}
	}
}

// rangeRequest makes the GET of one byte range of u.
func rangeRequest(u, rng string) func(context.Context) (*http.Request, error) {
	return func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Range", rng)
		return req, nil
	}
}

// readPartial reads a 206 answer: the range's offset, the file's total
// size and the bytes.
func readPartial(resp *http.Response, u string) (start, total int64, data []byte, err error) {
	cr := resp.Header.Get("Content-Range")
	start, total, ok := httpc.ParseContentRange(cr)
	if !ok {
		return 0, 0, nil, fmt.Errorf("range request on %s: unreadable Content-Range %q", Redact(u), cr)
	}
	data, err = httpc.ReadBody(resp)
	return start, total, data, err
}
