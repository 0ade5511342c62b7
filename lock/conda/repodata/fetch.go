package repodata

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/envbuild/envbuild/internal/httpc"
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

// Fetcher downloads repodata.json for channels through envbuild's HTTP
// client (internal/httpc), caching it on disk.
type Fetcher struct {
	cacheDir string
	timeout  time.Duration
	retries  int
	backoff  time.Duration
	netrc    string
	log      func(format string, args ...any)

	once   sync.Once
	client *httpc.Client
	err    error
}

// Option configures a Fetcher.
type Option func(*Fetcher)

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

// WithNetrc sets the netrc file credentials for a channel's host come
// from when its URL carries none (default: $NETRC, else ~/.netrc).
func WithNetrc(path string) Option { return func(f *Fetcher) { f.netrc = path } }

// WithLog receives retries and cache failures, credentials redacted.
func WithLog(log func(format string, args ...any)) Option {
	return func(f *Fetcher) { f.log = log }
}

// NewFetcher returns a Fetcher caching under cacheDir ("" disables the
// cache).
func NewFetcher(cacheDir string, opts ...Option) *Fetcher {
	f := &Fetcher{
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

// httpClient is the fetcher's client, made on first use.
func (f *Fetcher) httpClient() (*httpc.Client, error) {
	f.once.Do(func() {
		retries := f.retries
		if retries == 0 {
			retries = -1 // httpc: none
		}
		f.client, f.err = httpc.New(httpc.Options{
			CacheDir: f.cacheDir,
			Timeout:  f.timeout,
			// A channel's repodata can be hundreds of megabytes: only
			// silence ends a transfer, never its length.
			NoDeadlineForCached: true,
			Retries:             retries,
			Backoff:             f.backoff,
			Netrc:               f.netrc,
			Noun:                "conda channel",
			Log:                 f.log,
		})
	})
	return f.client, f.err
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
	client, err := f.httpClient()
	if err != nil {
		return nil, &ChannelError{Channel: ch.Name, URL: base, Err: err}
	}
	// The request goes to the URL the user gave (its /t/<token>, its
	// credentials as basic auth for its host); errors and records name
	// the URL without them.
	reqBase := base
	if ch.Auth != "" {
		if !client.AddCredentials(ch.Auth, "the channel URL") {
			return nil, &ChannelError{Channel: ch.Name, URL: base, Err: fmt.Errorf("two conda channels on %s carry different credentials; give one (or put them in ~/.netrc)", hostOf(ch.URL))}
		}
		u, err := url.Parse(ch.Auth)
		if err != nil {
			return nil, &ChannelError{Channel: ch.Name, URL: base, Err: fmt.Errorf("the channel URL does not parse")}
		}
		u.User = nil
		reqBase = strings.TrimRight(u.String(), "/") + "/" + subdir + "/"
	}
	for _, name := range []string{"repodata.json.zst", "repodata.json"} {
		body, ok, err := f.get(ctx, client, ch.Name, reqBase+name, base+name)
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

// get returns the body at u (shown as shown), from the cache when it is
// fresh or the server answers 304; ok is false on 404.
func (f *Fetcher) get(ctx context.Context, client *httpc.Client, channel, u, shown string) (body []byte, ok bool, err error) {
	pu, err := url.Parse(u)
	if err != nil {
		return nil, false, &ChannelError{Channel: channel, URL: shown, Err: errors.New("the URL does not parse")}
	}
	e, err := client.GetCached(ctx, pu, "", "repodata", func(b []byte, _ string, _ *url.URL) ([]byte, error) { return b, nil })
	if err != nil {
		var ae *httpc.AuthError
		if errors.As(err, &ae) && ae.Source == "" && u != shown {
			if _, _, _, tok := httpc.SplitToken(u); tok {
				err = fmt.Errorf("the channel refused the token in its URL (/t/…/): %d %s; check the token", ae.Status, http.StatusText(ae.Status))
			}
		}
		return nil, false, &ChannelError{Channel: channel, URL: shown, Err: channelCause(err, ctx)}
	}
	if e.Status != http.StatusOK {
		return nil, false, nil
	}
	return e.Body, true, nil
}

// channelCause words an error of the HTTP client for a channel.
func channelCause(err error, ctx context.Context) error {
	var se *httpc.StatusError
	var te *httpc.TransportError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &se):
		return fmt.Errorf("server answered %d %s after %d %s", se.Status, http.StatusText(se.Status), se.Tries, httpc.Plural(se.Tries, "attempt", "attempts"))
	case errors.As(err, &te) && te.Timeout > 0 && !te.Total:
		return silenceError{host: hostOf(te.URL), d: te.Timeout, tries: te.Tries}
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return ""
}

// silenceError is a fetch given up on because the host sent nothing for
// d; it is a context.DeadlineExceeded.
type silenceError struct {
	host  string
	d     time.Duration
	tries int
}

func (e silenceError) Error() string {
	return fmt.Sprintf("host %s sent nothing for %s (%d %s; ENVBUILD_DOWNLOAD_TIMEOUT sets this limit)", e.host, e.d, e.tries, httpc.Plural(e.tries, "try", "tries"))
}

func (e silenceError) Is(target error) bool { return target == context.DeadlineExceeded }
