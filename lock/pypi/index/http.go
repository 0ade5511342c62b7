package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// credential is a user name and password for one host, and where it came
// from (for error messages; never the password itself).
type credential struct{ user, pass, source string }

// fetcher is the one HTTP client of this package: every request goes
// through send, which adds credentials, bounds concurrency, times out idle
// transfers and retries transient failures with jittered exponential
// backoff. getCached adds the on-disk HTTP cache on top.
type fetcher struct {
	client    *http.Client
	cache     *diskCache
	offline   bool
	refresh   bool
	timeout   time.Duration // inactivity, per try
	deadline  time.Duration // a metadata request, all tries included
	retries   int
	backoff   time.Duration // first retry delay; doubles each time
	heuristic time.Duration // freshness of responses without Cache-Control
	sem       chan struct{}
	log       func(format string, args ...any)

	credMu    sync.Mutex
	creds     map[string]credential // host → credentials from index URLs
	netrcPath string
	netrc     *netrc
	netrcOnce sync.Once
}

// credentialsFor returns the credentials to send to host: those of an index
// URL on that host, else netrc's entry for it.
func (f *fetcher) credentialsFor(host string) (credential, bool) {
	f.credMu.Lock()
	c, ok := f.creds[host]
	f.credMu.Unlock()
	if ok {
		return c, true
	}
	f.netrcOnce.Do(func() {
		var err error
		if f.netrc, err = readNetrc(f.netrcPath); err != nil {
			f.log("ignoring netrc: %v", err)
		}
	})
	if e, ok := f.netrc.lookup(host); ok {
		return credential{user: e.login, pass: e.password, source: "netrc"}, true
	}
	return credential{}, false
}

// statusError is an HTTP status the caller did not expect, after retries.
type statusError struct {
	url        string
	status     int
	tries      int
	retryAfter time.Duration // the server's Retry-After, if any
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s answered %d %s after %d %s", Redact(e.url), e.status, http.StatusText(e.status), e.tries, plural(e.tries, "try", "tries"))
}

// DefaultDeadline is Options.Deadline when it is zero.
const DefaultDeadline = 60 * time.Second

// transportError is a connection failure or timeout, after retries.
type transportError struct {
	url     string
	timeout time.Duration // non-zero when the server stopped answering
	// total says timeout was the request's deadline (every try), not the
	// silence of one try.
	total bool
	tries int
	err   error
}

func (e *transportError) Error() string {
	host := hostOf(e.url)
	switch {
	case e.timeout > 0 && e.total:
		return fmt.Sprintf("host %s did not answer within %s, %d %s included (ENVBUILD_INDEX_TIMEOUT sets this limit), for %s", host, e.timeout, e.tries, plural(e.tries, "try", "tries"), Redact(e.url))
	case e.timeout > 0:
		return fmt.Sprintf("host %s sent nothing for %s (%d %s; ENVBUILD_DOWNLOAD_TIMEOUT sets this limit), for %s", host, e.timeout, e.tries, plural(e.tries, "try", "tries"), Redact(e.url))
	}
	return fmt.Sprintf("reaching %s failed after %d %s: %s", Redact(e.url), e.tries, plural(e.tries, "try", "tries"), Redact(e.err.Error()))
}

// Unwrap gives the connection error; a timeout has none to give (its
// cause is this package's own cancellation, not the caller's).
func (e *transportError) Unwrap() error {
	if e.timeout > 0 {
		return nil
	}
	return e.err
}

// authError is a 401 or 403.
type authError struct {
	host   string
	status int
	source string // "" when no credentials were sent
}

func (e *authError) Error() string {
	if e.source == "" {
		return fmt.Sprintf("%s answered %d %s and no credentials are known for it; put them in the index URL (https://USER:PASSWORD@%s/…) or in ~/.netrc", e.host, e.status, http.StatusText(e.status), e.host)
	}
	return fmt.Sprintf("the index refused the credentials for %s (from %s): %d %s", e.host, e.source, e.status, http.StatusText(e.status))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// retryable marks an error from a response handler (a body that broke off)
// as worth another try.
type retryable struct{ err error }

func (r retryable) Error() string { return r.err.Error() }
func (r retryable) Unwrap() error { return r.err }

func retryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
}

// idleBody cancels the request when no byte arrives for the timeout.
type idleBody struct {
	io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.timer.Reset(b.timeout)
	}
	return n, err
}

// send performs one logical request. mk builds the request (it is called
// for every try, with headers the caller needs); handle consumes a response
// whose status is not a transient failure and returns the caller's error,
// or a retryable one when the body broke off. Credentials for the request's
// host are added here; a 401/403 becomes an authError.
func (f *fetcher) send(ctx context.Context, rawURL string, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	return f.sendWithin(ctx, 0, rawURL, mk, handle)
}

// sendMeta is send for a metadata request (a page, a metadata file, a
// range of a file): small answers, so the request as a whole, tries
// included, is bounded by the fetcher's deadline.
func (f *fetcher) sendMeta(ctx context.Context, rawURL string, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	return f.sendWithin(ctx, f.deadline, rawURL, mk, handle)
}

// sendWithin is send with a total deadline (0: none; each try is still
// bounded by the inactivity timeout).
func (f *fetcher) sendWithin(parent context.Context, total time.Duration, rawURL string, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	ctx := parent
	if total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, total)
		defer cancel()
	}
	tries := f.retries + 1
	var lastErr error
	overdue := func(attempt int) error {
		return &transportError{url: rawURL, timeout: total, total: true, tries: attempt}
	}
	for attempt := 1; attempt <= tries; attempt++ {
		if attempt > 1 {
			if err := f.sleep(ctx, attempt-1, lastErr); err != nil {
				if parent.Err() == nil {
					return overdue(attempt - 1)
				}
				return err
			}
		}
		err := f.try(ctx, mk, handle)
		if err == nil {
			return nil
		}
		var se *statusError
		var te *transportError
		var re retryable
		switch {
		case ctx.Err() != nil && parent.Err() == nil:
			return overdue(attempt)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &se):
			se.tries = attempt
			if !retryableStatus(se.status) {
				return se
			}
			lastErr = se
		case errors.As(err, &te):
			te.tries = attempt
			lastErr = te
		case errors.As(err, &re):
			lastErr = &transportError{url: rawURL, tries: attempt, err: re.err}
		default:
			return err
		}
		if attempt < tries {
			f.log("retrying %s: %v", Redact(rawURL), lastErr)
		}
	}
	return lastErr
}

func (f *fetcher) sleep(ctx context.Context, retry int, last error) error {
	d := f.backoff << (retry - 1)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	var se *statusError
	if errors.As(last, &se) && se.retryAfter > d {
		d = min(se.retryAfter, maxRetryAfter)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// maxRetryAfter caps how long a server's Retry-After is honoured.
const maxRetryAfter = 10 * time.Second

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 if absent.
func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && n > 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}

// try is one attempt: a transient status becomes a statusError, a
// connection failure or idle timeout a transportError.
func (f *fetcher) try(ctx context.Context, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	select {
	case f.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-f.sem }()

	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	timer := time.AfterFunc(f.timeout, func() { timedOut.Store(true); cancel() })
	defer timer.Stop()

	req, err := mk(actx)
	if err != nil {
		return err
	}
	target := req.URL.String()
	sentFrom := ""
	if req.Header.Get("Authorization") != "" {
		sentFrom = "the URL"
	} else if c, ok := f.credentialsFor(req.URL.Host); ok {
		req.SetBasicAuth(c.user, c.pass)
		sentFrom = c.source
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if timedOut.Load() {
			return &transportError{url: target, timeout: f.timeout, err: err}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &transportError{url: target, err: err}
	}
	defer resp.Body.Close()
	timer.Reset(f.timeout)
	resp.Body = &idleBody{ReadCloser: resp.Body, timer: timer, timeout: f.timeout}

	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &authError{host: req.URL.Host, status: resp.StatusCode, source: sentFrom}
	case retryableStatus(resp.StatusCode):
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &statusError{url: target, status: resp.StatusCode, retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	err = handle(resp)
	if err != nil && timedOut.Load() {
		return &transportError{url: target, timeout: f.timeout, err: err}
	}
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ctx.Err() == nil {
		return retryable{err}
	}
	return err
}

// readBody reads a whole response body, marking a broken transfer retryable.
func readBody(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, retryable{fmt.Errorf("reading the answer of %s: %w", Redact(resp.Request.URL.String()), err)}
	}
	return body, nil
}

// errOffline is returned for a cache miss with Options.Offline.
var errOffline = errors.New("not in the HTTP cache and --offline forbids asking the index; run once without --offline first")

func cacheKey(u *url.URL, accept, kind string) string {
	return "GET " + kind + " " + accept + " " + u.String()
}

// getCached fetches u through the on-disk cache. accept is sent as the
// Accept header and is part of the cache key. transform turns a 200's body
// into what is stored and returned as Body (a parsed form, so a warm run
// does not parse again; it is given the content type and final URL, and
// its error is returned, nothing being stored); kind names that form in the
// cache key. A 404 or 410 is returned as an entry with Status 404 (and
// remembered, for --offline); other unexpected statuses are errors.
func (f *fetcher) getCached(ctx context.Context, u *url.URL, accept, kind string, transform func(body []byte, contentType string, final *url.URL) ([]byte, error)) (*cacheEntry, error) {
	key := cacheKey(u, accept, kind)
	old := f.cache.get(key)
	if f.offline {
		if old != nil {
			return old, nil
		}
		return nil, fmt.Errorf("%s: %w", Redact(u.String()), errOffline)
	}
	now := time.Now()
	if old != nil && !f.refresh && old.fresh(now, f.heuristic) {
		return old, nil
	}
	var got *cacheEntry
	err := f.sendMeta(ctx, u.String(), func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		if old != nil && old.Status == http.StatusOK {
			if old.ETag != "" {
				req.Header.Set("If-None-Match", old.ETag)
			}
			if old.LastModified != "" {
				req.Header.Set("If-Modified-Since", old.LastModified)
			}
		}
		return req, nil
	}, func(resp *http.Response) error {
		switch resp.StatusCode {
		case http.StatusNotModified:
			if old == nil {
				return &statusError{url: u.String(), status: resp.StatusCode, tries: 1}
			}
			e := *old
			e.Stored = receivedAt(resp)
			if v := resp.Header.Get("Cache-Control"); v != "" {
				e.CacheControl = v
			}
			if v := resp.Header.Get("ETag"); v != "" {
				e.ETag = v
			}
			got = &e
		case http.StatusOK:
			body, err := readBody(resp)
			if err != nil {
				return err
			}
			final, _, _, _ := stripCredentials(resp.Request.URL)
			body, err = transform(body, resp.Header.Get("Content-Type"), final)
			if err != nil {
				return err
			}
			got = &cacheEntry{
				URL:          u.String(),
				FinalURL:     final.String(),
				Status:       http.StatusOK,
				ContentType:  resp.Header.Get("Content-Type"),
				ETag:         resp.Header.Get("ETag"),
				LastModified: resp.Header.Get("Last-Modified"),
				CacheControl: resp.Header.Get("Cache-Control"),
				Stored:       receivedAt(resp),
				Body:         body,
			}
		case http.StatusNotFound, http.StatusGone:
			io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			got = &cacheEntry{
				URL:          u.String(),
				FinalURL:     u.String(),
				Status:       http.StatusNotFound,
				CacheControl: resp.Header.Get("Cache-Control"),
				Stored:       time.Now().UTC(),
			}
		default:
			return &statusError{url: u.String(), status: resp.StatusCode, tries: 1}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !parseCacheControl(got.CacheControl).noStore {
		if err := f.cache.put(key, got); err != nil {
			f.log("not caching %s: %v", Redact(u.String()), err)
		}
	}
	return got, nil
}

// receivedAt is when the response was generated, as far as freshness is
// concerned: now, minus the Age a shared cache (PyPI's CDN) says it held it.
func receivedAt(resp *http.Response) time.Time {
	now := time.Now().UTC()
	if age, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Age"))); err == nil && age > 0 {
		return now.Add(-time.Duration(age) * time.Second)
	}
	return now
}
