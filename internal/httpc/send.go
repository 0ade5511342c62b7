package httpc

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
	"sync/atomic"
	"time"
)

// StatusError is an HTTP status the caller did not expect, after retries.
type StatusError struct {
	URL        string // may carry credentials: printed through Redact
	Status     int
	Tries      int
	RetryAfter time.Duration // the server's Retry-After, if any
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s answered %d %s after %d %s", Redact(e.URL), e.Status, http.StatusText(e.Status), e.Tries, Plural(e.Tries, "try", "tries"))
}

// DefaultDeadline is the metadata deadline callers use when they have none
// of their own (ENVBUILD_INDEX_TIMEOUT).
const DefaultDeadline = 60 * time.Second

// TransportError is a connection failure or timeout, after retries.
type TransportError struct {
	URL string
	// Timeout is non-zero when the server stopped answering.
	Timeout time.Duration
	// Total says Timeout was the request's deadline (every try), not the
	// silence of one try.
	Total bool
	Tries int
	Err   error
}

func (e *TransportError) Error() string {
	host := hostOf(e.URL)
	switch {
	case e.Timeout > 0 && e.Total:
		return fmt.Sprintf("host %s did not answer within %s, %d %s included (ENVBUILD_INDEX_TIMEOUT sets this limit), for %s", host, e.Timeout, e.Tries, Plural(e.Tries, "try", "tries"), Redact(e.URL))
	case e.Timeout > 0:
		return fmt.Sprintf("host %s sent nothing for %s (%d %s; ENVBUILD_DOWNLOAD_TIMEOUT sets this limit), for %s", host, e.Timeout, e.Tries, Plural(e.Tries, "try", "tries"), Redact(e.URL))
	}
	return fmt.Sprintf("reaching %s failed after %d %s: %s", Redact(e.URL), e.Tries, Plural(e.Tries, "try", "tries"), Redact(e.Err.Error()))
}

// Unwrap gives the connection error; a timeout has none to give (its
// cause is this package's own cancellation, not the caller's).
func (e *TransportError) Unwrap() error {
	if e.Timeout > 0 {
		return nil
	}
	return e.Err
}

// AuthError is a 401 or 403. It names the host and where the credentials
// came from, never the credentials.
type AuthError struct {
	Host   string
	Status int
	// Source is where the credentials sent came from ("the index URL",
	// "netrc"); "" when none were sent.
	Source string
	// Noun names the server for the user ("index", "conda channel").
	Noun string
}

func (e *AuthError) Error() string {
	noun := e.Noun
	if noun == "" {
		noun = "server"
	}
	if e.Source == "" {
		return fmt.Sprintf("%s answered %d %s and no credentials are known for it; put them in the %s URL (https://USER:PASSWORD@%s/…) or in ~/.netrc", e.Host, e.Status, http.StatusText(e.Status), noun, e.Host)
	}
	return fmt.Sprintf("the %s refused the credentials for %s (from %s): %d %s", noun, e.Host, e.Source, e.Status, http.StatusText(e.Status))
}

// Plural is one or many, by n.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// Retryable marks an error from a response handler (a body that broke off)
// as worth another try.
type Retryable struct{ Err error }

func (r Retryable) Error() string { return r.Err.Error() }
func (r Retryable) Unwrap() error { return r.Err }

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

// Send performs one logical request for a download: no total deadline,
// each try bounded by the inactivity timeout alone, so a big body takes as
// long as it keeps arriving. mk builds the request (it is called for every
// try, with headers the caller needs); handle consumes a response whose
// status is not a transient failure and returns the caller's error, or a
// Retryable one when the body broke off. Credentials for the request's
// host are added here (userinfo in the request's URL is taken out of it
// and sent as basic auth); a 401/403 becomes an *AuthError.
func (f *Client) Send(ctx context.Context, rawURL string, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	return f.sendWithin(ctx, 0, rawURL, mk, handle)
}

// SendMeta is Send for a metadata request (a page, a metadata file, a
// range of a file): small answers, so the request as a whole, tries
// included, is bounded by Options.Deadline.
func (f *Client) SendMeta(ctx context.Context, rawURL string, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	return f.sendWithin(ctx, f.deadline, rawURL, mk, handle)
}

// sendWithin is Send with a total deadline (0: none; each try is still
// bounded by the inactivity timeout).
func (f *Client) sendWithin(parent context.Context, total time.Duration, rawURL string, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
	ctx := parent
	if total > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, total)
		defer cancel()
	}
	tries := f.retries + 1
	var lastErr error
	overdue := func(attempt int) error {
		return &TransportError{URL: rawURL, Timeout: total, Total: true, Tries: attempt}
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
		var se *StatusError
		var te *TransportError
		var re Retryable
		switch {
		case ctx.Err() != nil && parent.Err() == nil:
			return overdue(attempt)
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &se):
			se.Tries = attempt
			if !retryableStatus(se.Status) {
				return se
			}
			lastErr = se
		case errors.As(err, &te):
			te.Tries = attempt
			lastErr = te
		case errors.As(err, &re):
			lastErr = &TransportError{URL: rawURL, Tries: attempt, Err: re.Err}
		default:
			return err
		}
		if attempt < tries {
			f.logf("retrying %s: %v", Redact(rawURL), lastErr)
		}
	}
	return lastErr
}

func (f *Client) sleep(ctx context.Context, retry int, last error) error {
	d := f.backoff << (retry - 1)
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	var se *StatusError
	if errors.As(last, &se) && se.RetryAfter > d {
		d = min(se.RetryAfter, maxRetryAfter)
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

// try is one attempt: a transient status becomes a StatusError, a
// connection failure or idle timeout a TransportError.
func (f *Client) try(ctx context.Context, mk func(ctx context.Context) (*http.Request, error), handle func(*http.Response) error) error {
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
	sentFrom := ""
	if req.URL.User != nil {
		clean, user, pass, _ := StripCredentials(req.URL)
		req.URL = clean
		req.Host = ""
		if req.Header.Get("Authorization") == "" {
			req.SetBasicAuth(user, pass)
		}
	}
	target := req.URL.String()
	if req.Header.Get("Authorization") != "" {
		sentFrom = "the URL"
	} else if c, ok := f.credentialsFor(req.URL.Host); ok {
		req.SetBasicAuth(c.user, c.pass)
		sentFrom = c.source
	}
	resp, err := f.client.Do(req)
	if err != nil {
		if timedOut.Load() {
			return &TransportError{URL: target, Timeout: f.timeout, Err: err}
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &TransportError{URL: target, Err: err}
	}
	defer resp.Body.Close()
	timer.Reset(f.timeout)
	resp.Body = &idleBody{ReadCloser: resp.Body, timer: timer, timeout: f.timeout}

	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &AuthError{Host: req.URL.Host, Status: resp.StatusCode, Source: sentFrom, Noun: f.noun}
	case retryableStatus(resp.StatusCode):
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &StatusError{URL: target, Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"))}
	}
	err = handle(resp)
	if err != nil && timedOut.Load() {
		return &TransportError{URL: target, Timeout: f.timeout, Err: err}
	}
	var ne net.Error
	if err != nil && errors.As(err, &ne) && ctx.Err() == nil {
		return Retryable{err}
	}
	return err
}

// ReadBody reads a whole response body, marking a broken transfer retryable.
func ReadBody(resp *http.Response) ([]byte, error) {
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, Retryable{fmt.Errorf("reading the answer of %s: %w", Redact(resp.Request.URL.String()), err)}
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, Retryable{fmt.Errorf("reading the answer of %s: truncated at %d of %d bytes", Redact(resp.Request.URL.String()), len(body), resp.ContentLength)}
	}
	return body, nil
}

// ErrOffline is returned for a cache miss with Options.Offline.
var ErrOffline = errors.New("not in the HTTP cache and --offline forbids asking the index; run once without --offline first")

// CacheKey is the cache's key for a GET of u with an Accept header, the
// body stored in the form kind names. u is hashed into a file name, so
// neither a credential nor an odd character reaches a path.
func CacheKey(u *url.URL, accept, kind string) string {
	return "GET " + kind + " " + accept + " " + u.String()
}

// GetCached fetches u through the on-disk cache: a fresh entry is used as
// it is, a stale one is revalidated with If-None-Match / If-Modified-Since
// and reused on 304. accept is sent as the Accept header and is part of
// the cache key. transform turns a 200's body into what is stored and
// returned as Body (a parsed form, so a warm run does not parse again; it
// is given the content type and final URL, and its error is returned,
// nothing being stored); kind names that form in the cache key. A 404 or
// 410 is returned as an entry with Status 404 (and remembered, for
// --offline); other unexpected statuses are errors. The entry records u
// without credentials or token.
func (f *Client) GetCached(ctx context.Context, u *url.URL, accept, kind string, transform func(body []byte, contentType string, final *url.URL) ([]byte, error)) (*Entry, error) {
	key := CacheKey(u, accept, kind)
	old := f.cache.Get(key)
	if f.offline {
		if old != nil {
			return old, nil
		}
		return nil, fmt.Errorf("%s: %w", Redact(u.String()), ErrOffline)
	}
	now := time.Now()
	if old != nil && !f.refresh && old.fresh(now, f.heuristic) {
		return old, nil
	}
	send := f.SendMeta
	if f.noDeadlineForCached {
		send = f.Send
	}
	var got *Entry
	err := send(ctx, u.String(), func(ctx context.Context) (*http.Request, error) {
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
				return &StatusError{URL: u.String(), Status: resp.StatusCode, Tries: 1}
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
			body, err := ReadBody(resp)
			if err != nil {
				return err
			}
			final, _, _, _ := StripCredentials(resp.Request.URL)
			body, err = transform(body, resp.Header.Get("Content-Type"), final)
			if err != nil {
				return err
			}
			got = &Entry{
				URL:          StripURL(u.String()),
				FinalURL:     StripURL(final.String()),
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
			got = &Entry{
				URL:          StripURL(u.String()),
				FinalURL:     StripURL(u.String()),
				Status:       http.StatusNotFound,
				CacheControl: resp.Header.Get("Cache-Control"),
				Stored:       time.Now().UTC(),
			}
		default:
			return &StatusError{URL: u.String(), Status: resp.StatusCode, Tries: 1}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !parseCacheControl(got.CacheControl).noStore {
		if err := f.cache.Put(key, got); err != nil {
			f.logf("not caching %s: %v", Redact(u.String()), err)
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
