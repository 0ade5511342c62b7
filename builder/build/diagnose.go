package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/internal/httpc"
	"github.com/envbuild/envbuild/lock/conda/envlock"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
)

// diagnoseFetch tells apart what BuildKit reports alike as a digest
// mismatch of a download: its fetch, once the checksum is pinned, does
// not look at the answer's status, so an index answering 503 during the
// build gives "digest mismatch" just as a file that changed does. The file
// is asked for again: an error status, or no answer, is the index failing
// (exit 4); the right bytes now mean the failure was transient (exit 4:
// run again); other bytes are the mismatch BuildKit saw (exit 1).
func diagnoseFetch(ctx context.Context, err error, env *lockfile.Env, o Options) error {
	var se *engine.StepError
	if !errors.As(err, &se) || !se.Mismatch || !strings.HasPrefix(se.Step, "fetch ") || env == nil {
		return err
	}
	fn := strings.TrimPrefix(se.Step, "fetch ")
	var pkg *lockfile.Package
	for _, t := range env.Targets {
		for i := range t.Packages {
			if t.Packages[i].Filename == fn {
				pkg = &t.Packages[i]
			}
		}
	}
	if pkg == nil || pkg.URL == "" {
		return err
	}
	u, perr := url.Parse(pkg.URL)
	if perr != nil || u.Host == "" {
		return err
	}
	host := u.Host
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client, cerr := indexClient(o, httpc.Options{Retries: -1})
	if cerr != nil {
		return err
	}
	target := pkg.URL
	if pkg.Source == lockfile.SourceConda {
		if chans, cerr := envlock.Channels(o.Spec.Conda.Specs, o.Spec.Conda.Channels, o.Lock.Env); cerr == nil {
			for _, ch := range chans {
				if ch.Auth == "" {
					continue
				}
				client.AddCredentials(ch.Auth, "the channel URL")
				if before, token, _, ok := httpc.SplitToken(ch.Auth); ok && strings.HasPrefix(pkg.URL, ch.URL+"/") {
					at := len(httpc.StripURL(before))
					target = pkg.URL[:at] + "/t/" + token + pkg.URL[at:]
				}
			}
		}
	}
	var status int
	var body []byte
	herr := client.Send(ctx, target, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	}, func(resp *http.Response) error {
		status = resp.StatusCode
		if status >= 400 {
			return nil
		}
		limit := pkg.Size + 1
		if limit <= 1 {
			limit = 4 << 30
		}
		h := sha256.New()
		if _, cerr := io.Copy(h, io.LimitReader(resp.Body, limit)); cerr != nil {
			return fmt.Errorf("reading it again from %s failed (%v)", host, cerr)
		}
		body = h.Sum(nil)
		return nil
	})
	var hse *httpc.StatusError
	var ae *httpc.AuthError
	switch {
	case errors.As(herr, &hse):
		status = hse.Status
	case errors.As(herr, &ae):
		status = ae.Status
	case herr != nil:
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit did not give the bytes of the lock, and asking %s for it again failed (%v): the index is failing or unreachable; run again when it answers", fn, host, failure.ShortenURLs(httpc.Redact(herr.Error()))))
	}
	if status >= 400 {
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit failed: %s answers %d %s for it (BuildKit reports an error answer as a digest mismatch); run again when the index answers", fn, host, status, http.StatusText(status)))
	}
	got := hex.EncodeToString(body)
	if got == pkg.Sha256 {
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit did not give the bytes of the lock, but %s serves the right file now: a transient failure of the index or a proxy; run again", fn, host))
	}
	return wrongBytes(*pkg, host, got)
}

// wrongBytes is the error of an artifact from host whose sha256 (got) is
// not the lock's.
func wrongBytes(pk lockfile.Package, host, got string) error {
	return failure.User(fmt.Errorf("%s from %s has sha256 %s, but the lock says %s: the index now serves other bytes, or the lock was edited; lock again (envbuild lock --upgrade-package %s) if the new file is trusted", pk.Filename, host, got, pk.Sha256, pk.Name))
}

// indexClient is an HTTP client for the artifacts of the spec's indexes,
// with opts and what the lock uses: pip's CA bundle, netrc, and the
// credentials in the index URLs (theirs or pip's configuration).
func indexClient(o Options, opts httpc.Options) (*httpc.Client, error) {
	certFile, err := index.PipCert(o.Lock.Env)
	if err != nil {
		return nil, failure.User(err)
	}
	opts.CertFile, opts.Netrc = certFile, o.Lock.Env["NETRC"]
	client, err := httpc.New(opts)
	if err != nil {
		return nil, failure.User(err)
	}
	indexes, err := index.FromPipConfig(o.Lock.Env, o.Spec.PyPI.IndexURL, o.Spec.PyPI.ExtraIndexURLs)
	if err != nil {
		return nil, failure.User(err)
	}
	for _, ix := range indexes {
		client.AddCredentials(ix.URL, "the index URL")
	}
	return client, nil
}
