package httpc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Download streams the file at target to w, as one logical request
// (Send): a body that breaks off is asked for again from where it
// stopped (a Range request; a server that answers 200 instead has the
// bytes w already holds skipped), so w receives every byte once. prepare,
// when set, adds what the caller needs to each try's request
// (credentials). It returns the sha256 (hex) and the size of the bytes.
// A 404 or 410 is an error naming the URL; w's own error is returned
// wrapped, never retried.
func (f *Client) Download(ctx context.Context, target string, prepare func(*http.Request), w io.Writer) (string, int64, error) {
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, h)}
	err := f.Send(ctx, target, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return nil, err
		}
		if prepare != nil {
			prepare(req)
		}
		if cw.n > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", cw.n))
		}
		return req, nil
	}, func(resp *http.Response) error {
		return resumeInto(resp, cw, target)
	})
	if err != nil {
		return "", 0, err
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
				return Retryable{Err: fmt.Errorf("reading %s: %w", Redact(target), err)}
			}
		}
	case http.StatusPartialContent:
		start, _, ok := ParseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != cw.n {
			return fmt.Errorf("downloading %s: the server resumed at the wrong offset (%q, wanted %d)", Redact(target), resp.Header.Get("Content-Range"), cw.n)
		}
	case http.StatusNotFound, http.StatusGone:
		return fmt.Errorf("%s answered %d %s", Redact(target), resp.StatusCode, http.StatusText(resp.StatusCode))
	default:
		return &StatusError{URL: target, Status: resp.StatusCode, Tries: 1}
	}
	if _, err := io.Copy(cw, body); err != nil {
		if cw.werr != nil {
			return cw.werr
		}
		return Retryable{Err: fmt.Errorf("reading %s: %w", Redact(target), err)}
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

// ParseContentRange reads "bytes START-END/TOTAL".
func ParseContentRange(h string) (start, total int64, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !found {
		return 0, 0, false
	}
	span, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	s, _, found := strings.Cut(span, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(s, 10, 64)
	total, err2 := strconv.ParseInt(tot, 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return start, total, true
}
