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

	sum, n, err := c.f.Download(ctx, target, func(req *http.Request) {
		if hasCreds {
			req.SetBasicAuth(user, pass)
		}
	}, w)
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
	return sum, n, nil
}
