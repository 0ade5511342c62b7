package httpc

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// Options configure a Client. Zero values take the defaults named.
type Options struct {
	// CacheDir holds the HTTP cache ("" : no cache).
	CacheDir string
	// Offline answers from the cache alone (GetCached); a miss is
	// ErrOffline.
	Offline bool
	// Refresh revalidates every cached entry, fresh or not.
	Refresh bool
	// Heuristic is how long an entry without Cache-Control is used without
	// asking the server (0: always ask).
	Heuristic time.Duration
	// Timeout is how long a try may go without a byte: the wait for the
	// answer, then every silence in its body (default 30s). It is not a
	// total deadline: a big body takes as long as it keeps arriving.
	Timeout time.Duration
	// Deadline bounds a metadata request (SendMeta, GetCached), tries
	// included (0: none).
	Deadline time.Duration
	// NoDeadlineForCached makes GetCached a download (Send): for cached
	// bodies that can be big, such as a conda channel's repodata.
	NoDeadlineForCached bool
	// Retries is how many times a transient failure (connection error,
	// silence, 408, 429, 5xx, a body that broke off) is tried again
	// (default 3; negative: none).
	Retries int
	// Backoff is the first retry delay (default 250ms), doubled after each
	// try and jittered; a longer Retry-After (up to 10s) wins.
	Backoff time.Duration
	// Concurrency bounds the requests in flight (default 16).
	Concurrency int
	// CertFile is a PEM CA bundle to trust instead of the system's.
	CertFile string
	// Netrc is the netrc file to read credentials from (default $NETRC,
	// else ~/.netrc).
	Netrc string
	// Noun names the servers in messages to the user ("index", "conda
	// channel").
	Noun string
	// Log receives notable events (retries, cache write failures), with
	// credentials redacted. Default: discard.
	Log func(format string, args ...any)
}

// Client is the HTTP client of envbuild's lock side. It is safe for
// concurrent use.
type Client struct {
	client    *http.Client
	cache     *Cache
	offline   bool
	refresh   bool
	timeout   time.Duration // inactivity, per try
	deadline  time.Duration // a metadata request, all tries included
	retries   int
	backoff   time.Duration // first retry delay; doubles each time
	heuristic time.Duration // freshness of responses without Cache-Control
	sem       chan struct{}
	log       func(format string, args ...any)
	noun      string

	noDeadlineForCached bool

	credMu    sync.Mutex
	creds     map[string]credential // host → credentials given by URLs
	netrcPath string
	netrc     *netrc
	netrcErr  error
	netrcOnce sync.Once
}

// credential is a user name and password for one host, and where it came
// from (for error messages; never the password itself).
type credential struct{ user, pass, source string }

// New returns a Client for opts. A CA bundle that cannot be read is an
// error.
func New(opts Options) (*Client, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	switch {
	case opts.Retries == 0:
		opts.Retries = 3
	case opts.Retries < 0:
		opts.Retries = 0
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 16
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 250 * time.Millisecond
	}
	var tlsConfig *tls.Config
	if opts.CertFile != "" {
		pem, err := os.ReadFile(opts.CertFile)
		if err != nil {
			return nil, fmt.Errorf("reading the CA bundle %q: %w", opts.CertFile, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("reading the CA bundle %q: no PEM certificate in it", opts.CertFile)
		}
		tlsConfig = &tls.Config{RootCAs: pool}
	}
	transport := &http.Transport{
		TLSClientConfig: tlsConfig,
		Proxy:           http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   opts.Timeout,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4 * opts.Concurrency,
		MaxIdleConnsPerHost:   opts.Concurrency,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   opts.Timeout,
		ExpectContinueTimeout: time.Second,
	}
	log := opts.Log
	if log == nil {
		log = func(string, ...any) {}
	}
	f := &Client{
		cache:               &Cache{dir: opts.CacheDir},
		offline:             opts.Offline,
		refresh:             opts.Refresh,
		timeout:             opts.Timeout,
		deadline:            opts.Deadline,
		retries:             opts.Retries,
		backoff:             opts.Backoff,
		heuristic:           opts.Heuristic,
		sem:                 make(chan struct{}, opts.Concurrency),
		log:                 log,
		noun:                opts.Noun,
		noDeadlineForCached: opts.NoDeadlineForCached,
		creds:               map[string]credential{},
		netrcPath:           NetrcPath(opts.Netrc),
	}
	f.client = &http.Client{
		Transport: transport,
		// Credentials follow a redirect only to a host that has its own.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				req.Header.Del("Authorization")
				if cr, ok := f.credentialsFor(req.URL.Host); ok {
					req.SetBasicAuth(cr.user, cr.pass)
				}
			}
			return nil
		},
	}
	return f, nil
}

// AddCredentials remembers the userinfo of rawURL for its host, source
// naming where it came from in messages ("the index URL"). A URL without
// userinfo adds nothing. Two URLs of one host with different credentials:
// the first wins, and ok is false.
func (f *Client) AddCredentials(rawURL, source string) (ok bool) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || u.User == nil || u.Host == "" {
		return true
	}
	_, user, pass, _ := StripCredentials(u)
	f.credMu.Lock()
	defer f.credMu.Unlock()
	if prev, dup := f.creds[u.Host]; dup {
		return prev.user == user && prev.pass == pass
	}
	f.creds[u.Host] = credential{user: user, pass: pass, source: source}
	return true
}

// credentialsFor returns the credentials to send to host: those of a URL
// given to AddCredentials on that host, else netrc's entry for it.
func (f *Client) credentialsFor(host string) (credential, bool) {
	f.credMu.Lock()
	c, ok := f.creds[host]
	f.credMu.Unlock()
	if ok {
		return c, true
	}
	f.netrcOnce.Do(func() {
		if f.netrc, f.netrcErr = readNetrc(f.netrcPath); f.netrcErr != nil {
			f.logf("ignoring netrc: %v", f.netrcErr)
		}
	})
	if e, ok := f.netrc.lookup(host); ok {
		return credential{user: e.login, pass: e.password, source: "netrc"}, true
	}
	return credential{}, false
}

// Offline reports Options.Offline.
func (f *Client) Offline() bool { return f.offline }

// Cache is the client's HTTP cache.
func (f *Client) Cache() *Cache { return f.cache }

// logf writes one redacted line to Options.Log.
func (f *Client) logf(format string, args ...any) {
	f.log("%s", Redact(fmt.Sprintf(format, args...)))
}
