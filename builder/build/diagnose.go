package build

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/envbuild/envbuild/builder/engine"
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
	req, rerr := http.NewRequestWithContext(ctx, http.MethodGet, pkg.URL, nil)
	if rerr != nil {
		return err
	}
	if indexes, ierr := index.FromPipConfig(o.Lock.Env, o.Spec.PyPI.IndexURL, o.Spec.PyPI.ExtraIndexURLs); ierr == nil {
		if headers, herr := index.AuthHeaders(indexes, o.Lock.Env["NETRC"]); herr == nil {
			for h, v := range headers {
				if h == host || strings.SplitN(h, ":", 2)[0] == u.Hostname() {
					req.Header.Set("Authorization", v)
				}
			}
		}
	}
	client := &http.Client{}
	if ca := caBundle(o.Lock.Env); ca != nil {
		pool := x509.NewCertPool()
		if pool.AppendCertsFromPEM(ca) {
			client.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment, TLSClientConfig: &tls.Config{RootCAs: pool}}
		}
	}
	resp, herr := client.Do(req)
	if herr != nil {
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit did not give the bytes of the lock, and asking %s for it again failed (%v): the index is failing or unreachable; run again when it answers", fn, host, failure.ShortenURLs(herr.Error())))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit failed: %s answers %d %s for it (BuildKit reports an error answer as a digest mismatch); run again when the index answers", fn, host, resp.StatusCode, http.StatusText(resp.StatusCode)))
	}
	h := sha256.New()
	limit := pkg.Size + 1
	if limit <= 1 {
		limit = 4 << 30
	}
	if _, cerr := io.Copy(h, io.LimitReader(resp.Body, limit)); cerr != nil {
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit did not give the bytes of the lock, and reading it again from %s failed (%v); run again", fn, host, cerr))
	}
	got := hex.EncodeToString(h.Sum(nil))
	if got == pkg.Sha256 {
		return failure.Infra(fmt.Errorf("downloading %s inside BuildKit did not give the bytes of the lock, but %s serves the right file now: a transient failure of the index or a proxy; run again", fn, host))
	}
	return failure.User(fmt.Errorf("%s from %s has sha256 %s, but the lock says %s: the index now serves other bytes, or the lock was edited; lock again (envbuild lock --upgrade-package %s) if the new file is trusted", fn, host, got, pkg.Sha256, pkg.Name))
}
