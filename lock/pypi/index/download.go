package index

import (
	"github.com/envbuild/envbuild/internal/httpc"

	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/envbuild/envbuild/lock/failure"
)

// Download streams the file at rawURL to w and returns its sha256 (hex)
// and size. It is for direct references and for files the index gave no
// hash for, and says so in the log. Credentials: the URL's own userinfo
// (never printed), else those known for its host (an index URL on the same
// host, or netrc). A transfer that breaks off is retried, continuing where
// it stopped when the server does ranges; w receives every byte once.
func (c *Client) Download(ctx context.Context, rawURL string, w io.Writer) (sha256hex string, size int64, err error) {
	sum, n, err := c.download(ctx, rawURL, w)
	if err != nil {
		return "", 0, err
	}
	shown, _, _ := strings.Cut(rawURL, "#")
	c.logf("downloaded %s (%d bytes) to compute its sha256", Redact(shown), n)
	return sum, n, nil
}

func (c *Client) download(ctx context.Context, rawURL string, w io.Writer) (string, int64, error) {
	u, err := url.Parse(strings.TrimSpace(rawURL))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", 0, failure.User(fmt.Errorf("downloading %q: not an http(s) URL", Redact(rawURL)))
	}
	if c.f.Offline() {
		return "", 0, failure.Infra(fmt.Errorf("downloading %s: --offline forbids downloads", Redact(rawURL)))
	}
	clean, user, pass, hasCreds := httpc.StripCredentials(u)
	clean.Fragment, clean.RawFragment = "", ""
	target := clean.String()

	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	err = c.f.Send(ctx, target, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		if hasCreds {
			req.SetBasicAuth(user, pass)
		}
		if cw.n > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", cw.n))
		}
		return req, nil
	}, func(resp *http.Response) error {
		return resumeInto(resp, cw, target)
	})
	if err != nil {
		var ae *httpc.AuthError
		if errors.As(err, &ae) && hasCreds {
			ae.Source = "the URL"
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return "", 0, err
		}
		return "", 0, failure.Infra(fmt.Errorf("downloading %s: %w", Redact(rawURL), err))
	}
	return hex.EncodeToString(h.Sum(nil)), cw.n, nil
}

// resumeInto copies a response into cw, which may already hold the first
// cw.n bytes from an earlier try: a 206 continues from there, a 200 has
// its first cw.n bytes skipped.
func resumeInto(resp *http.Response, cw *countWriter, target string) error {
	body := io.Reader(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
		if cw.n > 0 {
			if _, err := io.CopyN(io.Discard, body, cw.n); err != nil {
				return httpc.Retryable{Err: fmt.Errorf("reading %s: %w", Redact(target), err)}
			}
		}
	case http.StatusPartialContent:
		start, _, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != cw.n {
			return fmt.Errorf("downloading %s: the server resumed at the wrong offset (%q, wanted %d)", Redact(target), resp.Header.Get("Content-Range"), cw.n)
		}
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("%s answered %d %s", Redact(target), resp.StatusCode, http.StatusText(resp.StatusCode))
	default:
		return &httpc.StatusError{URL: target, Status: resp.StatusCode, Tries: 1}
	}
	if _, err := io.Copy(cw, body); err != nil {
		if cw.werr != nil {
			return cw.werr
		}
		return httpc.Retryable{Err: fmt.Errorf("reading %s: %w", Redact(target), err)}
	}
	return nil
}

// countWriter counts what reached w and keeps w's own error apart from
// the network's.
type countWriter struct {
	w    io.Writer
	n    int64
	werr error
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.werr = fmt.Errorf("writing the download: %w", err)
	}
	return n, err
}
