package step

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/envbuild/envbuild/builder/installstep"
	"github.com/envbuild/envbuild/internal/httpc"
)

// fetchTimeout is how long the download of a token channel's artifact
// may go without a byte.
const fetchTimeout = 2 * time.Minute

// fetch downloads the artifact of a conda channel whose URL carries a
// token: the token, read from the secret file BuildKit mounts, is put back
// into the URL at s.TokenAt as "/t/<token>", and the file written to
// s.Root/s.Filename only when its sha256 is the lock's. Messages name the
// URL without the token.
func fetch(s installstep.Step, stdout io.Writer) error {
	raw, err := os.ReadFile(s.Secret)
	if err != nil {
		return fmt.Errorf("reading the channel token for %s: %w", s.URL, err)
	}
	token := strings.TrimSpace(string(raw))
	if token == "" || strings.ContainsAny(token, "/?#@ \t\n") {
		return fmt.Errorf("the channel token for %s is empty or not a path segment", s.URL)
	}
	full := s.URL[:s.TokenAt] + "/t/" + token + s.URL[s.TokenAt:]
	client, err := httpc.New(httpc.Options{Timeout: fetchTimeout, Noun: "conda channel", Log: func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format+"\n", args...)
	}})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Root, 0o755); err != nil {
		return err
	}
	out := filepath.Join(s.Root, s.Filename)
	var sum string
	var size int64
	err = client.Send(context.Background(), full, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, full, nil)
	}, func(resp *http.Response) error {
		if resp.StatusCode != http.StatusOK {
			return &httpc.StatusError{URL: full, Status: resp.StatusCode, Tries: 1}
		}
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return httpc.Retryable{Err: fmt.Errorf("downloading %s: %w", httpc.Redact(full), err)}
		}
		sum, size = hex.EncodeToString(h.Sum(nil)), n
		return nil
	})
	if err != nil {
		os.Remove(out)
		var ae *httpc.AuthError
		if errors.As(err, &ae) {
			return fmt.Errorf("fetching %s: the channel refused the token of its URL (/t/…/): %d %s; check the token in the build's channel configuration", s.URL, ae.Status, http.StatusText(ae.Status))
		}
		return fmt.Errorf("fetching %s: %s", s.URL, strings.ReplaceAll(httpc.Redact(err.Error()), token, "****"))
	}
	if !strings.EqualFold(sum, s.SHA256) {
		os.Remove(out)
		return fmt.Errorf("fetching %s: sha256 %s, but the lock says %s", s.URL, sum, s.SHA256)
	}
	fmt.Fprintf(stdout, "fetched %s (%d bytes)\n", s.URL, size)
	return nil
}
