package repodata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// ChannelError is a channel that could not be read: unreachable, timing
// out, answering with a server error or with repodata that does not
// decode. Callers map it to "infrastructure" (exit code 4).
type ChannelError struct {
	Channel string
	URL     string
	Err     error
}

func (e *ChannelError) Error() string {
	return fmt.Sprintf("fetching repodata of conda channel %q from %q: %v", e.Channel, e.URL, e.Err)
}

func (e *ChannelError) Unwrap() error { return e.Err }

// ErrChannelNotFound is wrapped by Fetch when a channel has none of the
// requested subdirs (every repodata.json answered 404 or is missing): most
// often a misspelt channel name, which is the user's to fix.
var ErrChannelNotFound = errors.New("conda channel not found")

// Fetcher downloads repodata.json for channels, caching it on disk.
type Fetcher struct {
	client   *http.Client
	cacheDir string
	timeout  time.Duration
	retries  int
	backoff  time.Duration
}

// Option configures a Fetcher.
type Option func(*Fetcher)

// WithHTTPClient sets the HTTP client. The default is a client whose
// transport comes from http.DefaultTransport (proxy settings from the
// environment).
func WithHTTPClient(c *http.Client) Option { return func(f *Fetcher) { f.client = c } }

// WithTimeout bounds how long an HTTP attempt may go without a byte: the
// wait for the answer, then every silence in its body. A large repodata
// takes as long as it keeps arriving. The default is 30s.
func WithTimeout(d time.Duration) Option { return func(f *Fetcher) { f.timeout = d } }

// WithRetries sets how many times a failed attempt (network error, timeout,
// 429 or 5xx) is retried. The default is 3.
func WithRetries(n int) Option { return func(f *Fetcher) { f.retries = n } }

// WithBackoff sets the wait before the first retry; it doubles after each.
// The default is 500ms.
func WithBackoff(d time.Duration) Option { return func(f *Fetcher) { f.backoff = d } }

// NewFetcher returns a Fetcher caching under cacheDir ("" disables the
// cache).
func NewFetcher(cacheDir string, opts ...Option) *Fetcher {
	f := &Fetcher{
		client:   &http.Client{},
		cacheDir: cacheDir,
		timeout:  30 * time.Second,
		retries:  3,
		backoff:  500 * time.Millisecond,
	}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Fetch reads the records of ch for each subdir (typically "noarch" and the
// target's, like "linux-64"), in that order. A missing subdir is empty, but
// a channel where every subdir is missing is ErrChannelNotFound. Failures
// of the channel are *ChannelError.
func (f *Fetcher) Fetch(ctx context.Context, ch Channel, subdirs ...string) ([]Record, error) {
	idx, err := f.FetchIndexes(ctx, ch, subdirs...)
	if err != nil {
		return nil, err
	}
	var all []Record
	for _, x := range idx {
		recs, err := x.All()
		if err != nil {
			return nil, &ChannelError{Channel: ch.Name, URL: ch.URL, Err: err}
		}
		all = append(all, recs...)
	}
	return all, nil
}

// FetchIndexes is Fetch returning one lazy Index per subdir found, for a
// solver that decodes only the records it reaches.
func (f *Fetcher) FetchIndexes(ctx context.Context, ch Channel, subdirs ...string) ([]*Index, error) {
	var out []*Index
	for _, sub := range subdirs {
		x, err := f.fetchSubdir(ctx, ch, sub)
		if err != nil {
			return nil, err
		}
		if x != nil {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("reading conda channel %q at %q: no repodata.json for %s; check the channel's name or URL: %w",
			ch.Name, ch.URL, strings.Join(subdirs, " or "), ErrChannelNotFound)
	}
	return out, nil
}

// fetchSubdir returns nil when the channel has no such subdir.
func (f *Fetcher) fetchSubdir(ctx context.Context, ch Channel, subdir string) (*Index, error) {
	src := Source{Channel: ch.Name, BaseURL: ch.URL, Subdir: subdir}
	base := strings.TrimRight(ch.URL, "/") + "/" + subdir + "/"
	if strings.HasPrefix(base, "file://") {
		u, err := url.Parse(base)
		if err != nil {
			return nil, &ChannelError{Channel: ch.Name, URL: base, Err: err}
		}
		for _, name := range []string{"repodata.json.zst", "repodata.json"} {
			p := filepath.Join(filepath.FromSlash(u.Path), name)
			if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
				continue
			}
			x, err := ReadIndexFile(p, src)
			if err != nil {
				return nil, &ChannelError{Channel: ch.Name, URL: base + name, Err: err}
			}
			return x, nil
		}
		return nil, nil
	}
	for _, name := range []string{"repodata.json.zst", "repodata.json"} {
		body, ok, err := f.get(ctx, ch.Name, base+name)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		// body is this call's own: the Index reads it in place.
		body, err = unzstd(body)
		var x *Index
		if err == nil {
			x, err = indexBytes(body, src)
		}
		if err != nil {
			return nil, &ChannelError{Channel: ch.Name, URL: base + name, Err: err}
		}
		return x, nil
	}
	return nil, nil
}

// get returns the body at u, from the cache when the server answers 304;
// ok is false on 404.
func (f *Fetcher) get(ctx context.Context, channel, u string) (body []byte, ok bool, err error) {
	var bodyPath, etagPath string
	var etag string
	if f.cacheDir != "" {
		sum := sha256.Sum256([]byte(u))
		key := hex.EncodeToString(sum[:12])
		bodyPath = filepath.Join(f.cacheDir, key+".body")
		etagPath = filepath.Join(f.cacheDir, key+".etag")
		if b, err := os.ReadFile(etagPath); err == nil {
			if _, err := os.Stat(bodyPath); err == nil {
				etag = strings.TrimSpace(string(b))
			}
		}
	}
	wait := f.backoff
	var last error
	for attempt := 0; attempt <= f.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, false, &ChannelError{Channel: channel, URL: u, Err: ctx.Err()}
			case <-time.After(wait):
			}
			wait *= 2
		}
		status, b, respETag, err := f.attempt(ctx, u, etag)
		switch {
		case err != nil:
			last = err
			if ctx.Err() != nil {
				return nil, false, &ChannelError{Channel: channel, URL: u, Err: ctx.Err()}
			}
			continue
		case status == http.StatusNotModified && etag != "":
			cached, err := os.ReadFile(bodyPath)
			if err != nil {
				return nil, false, &ChannelError{Channel: channel, URL: u, Err: fmt.Errorf("reading cached copy: %w", err)}
			}
			return cached, true, nil
		case status == http.StatusOK:
			if bodyPath != "" {
				if err := writeCache(f.cacheDir, bodyPath, etagPath, b, respETag); err != nil {
					return nil, false, fmt.Errorf("caching repodata of conda channel %q: %w", channel, err)
				}
			}
			return b, true, nil
		case status == http.StatusNotFound:
			return nil, false, nil
		case status == http.StatusTooManyRequests || status >= 500:
			last = fmt.Errorf("server answered %d %s", status, http.StatusText(status))
			continue
		default:
			return nil, false, &ChannelError{Channel: channel, URL: u, Err: fmt.Errorf("server answered %d %s", status, http.StatusText(status))}
		}
	}
	return nil, false, &ChannelError{Channel: channel, URL: u, Err: fmt.Errorf("after %d attempts: %w", f.retries+1, last)}
}

func (f *Fetcher) attempt(ctx context.Context, u, etag string) (int, []byte, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var silent atomic.Bool
	timer := time.AfterFunc(f.timeout, func() { silent.Store(true); cancel() })
	defer timer.Stop()
	status, body, tag, err := f.attemptWith(ctx, u, etag, timer)
	if err != nil && silent.Load() {
		host := u
		if pu, perr := url.Parse(u); perr == nil {
			host = pu.Host
		}
		return 0, nil, "", silenceError{host, f.timeout}
	}
	return status, body, tag, err
}

// silenceError is an attempt given up on because the host sent nothing
// for d; it is a context.DeadlineExceeded.
type silenceError struct {
	host string
	d    time.Duration
}

func (e silenceError) Error() string {
	return fmt.Sprintf("host %s sent nothing for %s (ENVBUILD_DOWNLOAD_TIMEOUT sets this limit)", e.host, e.d)
}

func (e silenceError) Is(target error) bool { return target == context.DeadlineExceeded }

// resetReader restarts timer on every read that brings bytes.
type resetReader struct {
	r       io.Reader
	timer   *time.Timer
	timeout time.Duration
}

func (r *resetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.timer.Reset(r.timeout)
	}
	return n, err
}

func (f *Fetcher) attemptWith(ctx context.Context, u, etag string, timer *time.Timer) (int, []byte, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, nil, "", err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		return resp.StatusCode, nil, "", nil
	}
	b, err := io.ReadAll(&resetReader{r: resp.Body, timer: timer, timeout: f.timeout})
	if err != nil {
		return 0, nil, "", fmt.Errorf("reading the response: %w", err)
	}
	if resp.ContentLength >= 0 && int64(len(b)) != resp.ContentLength {
		return 0, nil, "", fmt.Errorf("response truncated: %d of %d bytes", len(b), resp.ContentLength)
	}
	return resp.StatusCode, b, resp.Header.Get("ETag"), nil
}

func writeCache(dir, bodyPath, etagPath string, body []byte, etag string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".repodata-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(body); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), bodyPath); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if etag == "" {
		os.Remove(etagPath)
		return nil
	}
	return os.WriteFile(etagPath, []byte(etag+"\n"), 0o644)
}
