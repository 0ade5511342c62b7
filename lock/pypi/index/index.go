package index

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/pypi/pep508"
)

// Index is one package index, as a PEP 503/691 "simple" root URL.
type Index struct {
	// Name identifies the index in File.Index and in messages: "pypi" for
	// the primary index, "extra-1", "extra-2"… for the others.
	Name string
	// URL is the simple root, e.g. https://pypi.org/simple. It may carry
	// user:password@, which is sent to this host only and printed nowhere.
	URL string
}

// Options configures a Client. The zero value of each field means its
// documented default.
type Options struct {
	// Indexes in priority order: the first is --index-url. Default: one
	// index, DefaultIndexURL.
	Indexes []Index
	// CacheDir holds the on-disk HTTP cache. Default
	// $XDG_CACHE_HOME/envbuild/http, else ~/.cache/envbuild/http.
	CacheDir string
	// Offline answers only from the cache, however old; a miss is an error
	// saying so.
	Offline bool
	// Refresh revalidates every cached page with its index, ignoring
	// max-age (a fresh view of the index at the price of one round trip
	// per project).
	Refresh bool
	// Timeout, Retries and Concurrency (and backoff) are httpc.Options',
	// with its defaults. Deadline is too, but defaults here to
	// httpc.DefaultDeadline (httpc's zero is no deadline).
	//
	// Timeout is how long one request may wait for the server to say
	// something (headers, or the next bytes of a body): an inactivity
	// timeout, so a large download may take as long as it keeps moving.
	// Default 30s.
	Timeout time.Duration
	// Deadline bounds one metadata request (a project page, a metadata
	// file, a range of a wheel), every try and wait between tries
	// included. Default 60s.
	Deadline time.Duration
	// Retries after a first failed try, with jittered exponential backoff,
	// on 5xx, 429, timeouts and connection errors. Default 3; negative
	// means none.
	Retries int
	// Concurrency bounds the requests in flight. Default 16.
	Concurrency int
	// ExcludeNewer hides files uploaded after it (PEP 700 upload-time),
	// and files whose upload time the index does not give. Zero: none.
	ExcludeNewer time.Time
	// Netrc is the netrc file to read credentials from. Default $NETRC,
	// else ~/.netrc; a missing file is no error.
	Netrc string
	// CertFile is a PEM bundle of certificate authorities to trust instead
	// of the system's, as pip's `cert` setting (see PipCert). Default: the
	// system's.
	CertFile string
	// Log receives one line per notable event (a fallback taken, a file
	// downloaded to hash it, a retry). Credentials are never written.
	// Default: discard.
	Log io.Writer

	// backoff is the first retry delay (default 250ms); tests shorten it.
	backoff time.Duration
}

// heuristicFreshness is how long a page that carries no Cache-Control is
// used without asking the index again: the max-age PyPI itself sends for
// simple pages.
const heuristicFreshness = 10 * time.Minute

// Client reads projects and metadata from a list of indexes. It is safe
// for concurrent use; results are remembered for the Client's lifetime.
type Client struct {
	indexes      []indexRef
	f            *httpc.Client
	excludeNewer time.Time
	logMu        sync.Mutex
	logW         io.Writer

	projMu   sync.Mutex
	projects map[string]*call[*Project]
	metaMu   sync.Mutex
	metas    map[string]*call[*Metadata]

	hostMu       sync.Mutex
	noMetaProbe  map[string]bool // hosts that 404 unadvertised .metadata files
	noRangeHosts map[string]bool // hosts that ignore Range
}

// indexRef is an Index with its URL parsed and its credentials removed.
type indexRef struct {
	name string
	root *url.URL // ends with "/"
}

func (r indexRef) String() string { return r.root.String() }

// call is one in-flight or finished computation shared by all callers.
type call[T any] struct {
	done chan struct{}
	val  T
	err  error
}

// New returns a Client for opts.
func New(opts Options) (*Client, error) {
	if len(opts.Indexes) == 0 {
		opts.Indexes = []Index{{Name: "pypi", URL: DefaultIndexURL}}
	}
	if opts.Deadline <= 0 {
		opts.Deadline = httpc.DefaultDeadline
	}
	if opts.CacheDir == "" {
		d, err := httpc.DefaultCacheDir()
		if err != nil {
			return nil, failure.Infra(err)
		}
		opts.CacheDir = d
	}
	if err := httpc.EnsureDir(opts.CacheDir); err != nil {
		return nil, failure.Infra(fmt.Errorf("preparing the HTTP cache %q: %w; pick another with --cache-dir or XDG_CACHE_HOME", opts.CacheDir, err))
	}
	c := &Client{
		excludeNewer: opts.ExcludeNewer,
		logW:         opts.Log,
		projects:     map[string]*call[*Project]{},
		metas:        map[string]*call[*Metadata]{},
		noMetaProbe:  map[string]bool{},
		noRangeHosts: map[string]bool{},
	}
	var urls []string
	for i, ix := range opts.Indexes {
		if err := checkIndexURL(ix.URL); err != nil {
			return nil, failure.User(fmt.Errorf("index %d (%q): %w", i+1, ix.Name, err))
		}
		u, _ := url.Parse(strings.TrimSpace(ix.URL))
		clean, _, _, _ := httpc.StripCredentials(u)
		clean.Fragment, clean.RawQuery = "", ""
		if !strings.HasSuffix(clean.Path, "/") {
			clean.Path += "/"
			clean.RawPath = ""
		}
		urls = append(urls, ix.URL)
		name := ix.Name
		if name == "" {
			name = fmt.Sprintf("index-%d", i+1)
		}
		c.indexes = append(c.indexes, indexRef{name: name, root: clean})
	}
	f, err := httpc.New(httpc.Options{
		CacheDir:    opts.CacheDir,
		Offline:     opts.Offline,
		Refresh:     opts.Refresh,
		Heuristic:   heuristicFreshness,
		Timeout:     opts.Timeout,
		Deadline:    opts.Deadline,
		Retries:     opts.Retries,
		Backoff:     opts.backoff,
		Concurrency: opts.Concurrency,
		CertFile:    opts.CertFile,
		Netrc:       opts.Netrc,
		Noun:        "index",
		Log:         func(format string, args ...any) { c.logf(format, args...) },
	})
	if err != nil {
		return nil, failure.User(err)
	}
	for _, u := range urls {
		if !f.AddCredentials(u, "the index URL") {
			c.logf("two indexes on %s carry different credentials; using those of the first", hostOf(u))
		}
	}
	c.f = f
	return c, nil
}

// logf writes one redacted line to Options.Log.
func (c *Client) logf(format string, args ...any) {
	if c.logW == nil {
		return
	}
	line := Redact(fmt.Sprintf(format, args...))
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintln(c.logW, line)
}

// File is one distribution file a project page lists.
type File struct {
	// Filename is the file's name (a wheel, sdist or other archive).
	Filename string
	// URL is absolute and carries no credentials.
	URL string
	// Index is the Name of the Index the file was listed by.
	Index string
	// Hashes maps a hash name ("sha256") to its lowercase hex digest.
	Hashes map[string]string
	// RequiresPython is the raw PEP 440 specifier, "" if none.
	RequiresPython string
	// Yanked files (PEP 592) are listed; YankedReason may be "".
	Yanked       bool
	YankedReason string
	// UploadTime (PEP 700) is zero when the index does not give it.
	UploadTime time.Time
	// Size in bytes, 0 when unknown.
	Size int64
	// CoreMetadata: the index serves URL+".metadata" (PEP 658/714), with
	// CoreMetadataHashes when it published its hash.
	CoreMetadata       bool
	CoreMetadataHashes map[string]string
}

// Project is a project's files from the one index that answered for it.
type Project struct {
	// Name is the PEP 503 normalised name.
	Name string
	// Index is the Name of the index the files came from.
	Index string
	// Files in the order the index listed them, minus those hidden by
	// Options.ExcludeNewer.
	Files []File
}

// ErrNoSuchProject is matched (errors.Is) by the error of Project when no
// index knows the project.
var ErrNoSuchProject = errors.New("no such project")

// noSuchProject names the project and the indexes asked.
type noSuchProject struct {
	name    string
	indexes []string
}

func (e *noSuchProject) Error() string {
	return fmt.Sprintf("no such project %q on %s; check the name, or add the index that has it with --extra-index-url", e.name, strings.Join(e.indexes, ", "))
}

func (e *noSuchProject) Is(target error) bool { return target == ErrNoSuchProject }

// Project returns the files of the project called name (any spelling: it is
// normalised) from the first index, in priority order, that knows it. Files
// of lower-priority indexes are never merged in (see doc.go). A project
// no index knows is a user error naming the indexes asked (errors.Is
// ErrNoSuchProject); an index that fails, refuses credentials or answers
// garbage is an infrastructure error.
func (c *Client) Project(ctx context.Context, name string) (*Project, error) {
	if !pep508.ValidName(name) {
		return nil, failure.User(fmt.Errorf("looking up project %q: not a valid project name (letters, digits, \".\", \"_\" and \"-\", starting and ending with a letter or digit)", name))
	}
	key := pep508.NormalizeName(name)
	c.projMu.Lock()
	cl, ok := c.projects[key]
	if !ok {
		cl = &call[*Project]{done: make(chan struct{})}
		c.projects[key] = cl
		c.projMu.Unlock()
		cl.val, cl.err = c.fetchProject(ctx, key)
		if cl.err != nil && ctx.Err() != nil {
			// Not the project's fault: let a later caller try again.
			c.projMu.Lock()
			delete(c.projects, key)
			c.projMu.Unlock()
		}
		close(cl.done)
		return cl.val, cl.err
	}
	c.projMu.Unlock()
	select {
	case <-cl.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if cl.err != nil && ctx.Err() == nil && (errors.Is(cl.err, context.Canceled) || errors.Is(cl.err, context.DeadlineExceeded)) {
		// The first caller gave up; this one has not.
		return c.Project(ctx, name)
	}
	return cl.val, cl.err
}

// Prefetch warms the pages of names in parallel (bounded by
// Options.Concurrency) and returns when all are done. Errors are not
// returned here: Project returns them when the name is asked for.
func (c *Client) Prefetch(ctx context.Context, names []string) {
	var wg sync.WaitGroup
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Project(ctx, n)
		}()
	}
	wg.Wait()
}

func (c *Client) fetchProject(ctx context.Context, name string) (*Project, error) {
	var asked []string
	for _, ix := range c.indexes {
		u := ix.root.JoinPath(name)
		u.Path += "/"
		u.RawPath = ""
		asked = append(asked, ix.String())
		e, files, err := c.fetchPage(ctx, u)
		var pe *pageError
		if errors.As(err, &pe) {
			return nil, failure.Infra(fmt.Errorf("reading project %q from index %s: %w", name, ix, pe.err))
		}
		if err != nil {
			return nil, c.indexError(ix, name, err)
		}
		if e.Status == http.StatusNotFound {
			continue
		}
		return c.project(name, ix, files), nil
	}
	return nil, failure.User(&noSuchProject{name: name, indexes: asked})
}

// fetchPage gets one project page through the cache, stored parsed. An
// entry that does not decode (written by another version, damaged) is
// dropped and fetched again.
func (c *Client) fetchPage(ctx context.Context, u *url.URL) (*httpc.Entry, []File, error) {
	parse := func(body []byte, contentType string, final *url.URL) ([]byte, error) {
		files, err := parseProjectPage(body, contentType, final)
		if err != nil {
			return nil, &pageError{err}
		}
		return encodeFiles(files), nil
	}
	for try := 0; ; try++ {
		e, err := c.f.GetCached(ctx, u, acceptIndex, pageFormat, parse)
		if err != nil || e.Status == http.StatusNotFound {
			return e, nil, err
		}
		files, err := decodeFiles(e.Body)
		if err == nil {
			return e, files, nil
		}
		c.f.Cache().Remove(httpc.CacheKey(u, acceptIndex, pageFormat))
		if try > 0 || c.f.Offline() {
			return nil, nil, fmt.Errorf("the cached copy of %s is damaged (%v) and was removed", u, err)
		}
		c.logf("the cached copy of %s is damaged (%v); fetching it again", u, err)
	}
}

// pageError is a page that could not be read, as opposed to fetched.
type pageError struct{ err error }

func (e *pageError) Error() string { return e.err.Error() }

// project applies ExcludeNewer and stamps the index name.
func (c *Client) project(name string, ix indexRef, files []File) *Project {
	p := &Project{Name: name, Index: ix.name, Files: make([]File, 0, len(files))}
	undated := 0
	for _, f := range files {
		f.Index = ix.name
		if !c.excludeNewer.IsZero() {
			if f.UploadTime.IsZero() {
				undated++
				continue
			}
			if f.UploadTime.After(c.excludeNewer) {
				continue
			}
		}
		p.Files = append(p.Files, f)
	}
	if undated > 0 {
		c.logf("index %s gives no upload time for %d file(s) of %q; --exclude-newer hides them", ix, undated, name)
	}
	return p
}

// indexError words a failed page fetch for the user.
func (c *Client) indexError(ix indexRef, name string, err error) error {
	var se *httpc.StatusError
	var te *httpc.TransportError
	var ae *httpc.AuthError
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &se):
		return failure.Infra(fmt.Errorf("index %s answered %d for %q after %d %s", ix, se.Status, name, se.Tries, httpc.Plural(se.Tries, "try", "tries")))
	case errors.As(err, &te) && te.Timeout > 0:
		return failure.Infra(fmt.Errorf("index %s, asked for %q: %w", ix, name, err))
	case errors.As(err, &te):
		return failure.Infra(fmt.Errorf("reaching index %s for %q: %w", ix, name, err))
	case errors.As(err, &ae):
		return failure.Infra(fmt.Errorf("fetching %q: %w", name, err))
	case errors.Is(err, httpc.ErrOffline):
		return failure.Infra(fmt.Errorf("project %q from index %s: %w", name, ix, err))
	}
	return failure.Infra(fmt.Errorf("fetching project %q from index %s: %w", name, ix, err))
}

// hostFlag reads and sets the per-host memory of what a server supports.
func (c *Client) hostFlag(m map[string]bool, host string) bool {
	c.hostMu.Lock()
	defer c.hostMu.Unlock()
	return m[host]
}

// setHostFlag sets the flag and reports whether it was unset before.
func (c *Client) setHostFlag(m map[string]bool, host string) bool {
	c.hostMu.Lock()
	defer c.hostMu.Unlock()
	was := m[host]
	m[host] = true
	return !was
}
