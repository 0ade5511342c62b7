package build

import (
	"os"
	"strings"

	"github.com/moby/buildkit/client/llb"

	"github.com/envbuild/envbuild/builder/engine"
	"github.com/envbuild/envbuild/builder/plan"
	"github.com/envbuild/envbuild/frontends/spec"
	"github.com/envbuild/envbuild/internal/httpc"
	"github.com/envbuild/envbuild/lock/conda/envlock"
	"github.com/envbuild/envbuild/lock/failure"
	"github.com/envbuild/envbuild/lock/lockfile"
	"github.com/envbuild/envbuild/lock/pypi/index"
)

// credentials is what lets BuildKit fetch artifacts from private indexes
// and conda channels with the lock's own credentials, none of it in the
// LLB, the lock or the image.
type credentials struct {
	// secrets are the build's session secrets: HTTP_AUTH_HEADER_<host>
	// (engine.HTTPAuthSecrets) for the hosts of indexes and channels
	// with credentials in their URLs or in netrc, which BuildKit's HTTP
	// source sends by itself, and one secret per token channel.
	secrets map[string][]byte
	// tokenChannels are the conda channels whose URLs carry a token
	// (/t/<token>/): their artifacts are fetched by the installer with
	// the token as a secret (plan.LowerOptions.TokenChannels).
	tokenChannels []plan.TokenChannel
	// fetchCA is the CA bundle those fetch steps trust, fetchProxy the
	// client's proxies for them.
	fetchCA    []byte
	fetchProxy *llb.ProxyEnv
}

// buildCredentials reads the credentials of the spec's indexes (the
// index URLs, pip's configuration) and conda channels (the spec's,
// CONDA_CHANNELS, .condarc; when the lock has conda packages), from the
// URLs and netrc.
func buildCredentials(s spec.Spec, env map[string]string, conda bool) (credentials, error) {
	indexes, err := index.FromPipConfig(env, s.PyPI.IndexURL, s.PyPI.ExtraIndexURLs)
	if err != nil {
		return credentials{}, failure.User(err)
	}
	var urls []string
	for _, ix := range indexes {
		urls = append(urls, ix.URL)
	}
	var c credentials
	c.secrets = map[string][]byte{}
	if conda {
		chans, err := envlock.Channels(s.Conda.Specs, s.Conda.Channels, env)
		if err != nil {
			return credentials{}, err
		}
		for _, ch := range chans {
			if ch.Auth == "" {
				urls = append(urls, ch.URL) // netrc's, if any
				continue
			}
			if before, token, after, ok := httpc.SplitToken(ch.Auth); ok {
				tc := plan.TokenChannel{URL: ch.URL, At: len(httpc.StripURL(before)), SecretID: plan.TokenSecretID(ch.URL)}
				if httpc.StripURL(before)+after != ch.URL {
					continue // not the shape SplitToken promises; never guess
				}
				c.secrets[tc.SecretID] = []byte(token)
				c.tokenChannels = append(c.tokenChannels, tc)
				urls = append(urls, before+after) // its userinfo, or netrc's
				continue
			}
			urls = append(urls, ch.Auth)
		}
	}
	headers, err := httpc.AuthHeaders(urls, env["NETRC"])
	if err != nil {
		return credentials{}, failure.User(err)
	}
	for k, v := range engine.HTTPAuthSecrets(headers) {
		c.secrets[k] = v
	}
	if len(c.tokenChannels) > 0 {
		c.fetchCA = systemCABundle(env)
		c.fetchProxy = proxyEnv(env)
	}
	return c, nil
}

// systemCABundle is the CA bundle the installer's fetch steps trust:
// pip's (caBundle), else SSL_CERT_FILE, else the system's; nil when none
// is found (plain-HTTP channels need none).
func systemCABundle(env map[string]string) []byte {
	if ca := caBundle(env); ca != nil {
		return ca
	}
	paths := []string{env["SSL_CERT_FILE"], "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/cert.pem"}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if data, err := os.ReadFile(p); err == nil && len(data) > 0 {
			return data
		}
	}
	return nil
}

// hasConda reports whether the plan installs a conda package.
func hasConda(pl *plan.Plan) bool {
	for _, pp := range pl.Platforms {
		for _, pk := range pp.Target.Packages {
			if pk.Source == lockfile.SourceConda {
				return true
			}
		}
	}
	return false
}

// proxyEnv is the client's proxy configuration (HTTP_PROXY, HTTPS_PROXY,
// NO_PROXY, ALL_PROXY, upper or lower case), nil when it has none.
func proxyEnv(env map[string]string) *llb.ProxyEnv {
	get := func(k string) string {
		if v := env[k]; v != "" {
			return v
		}
		return env[strings.ToLower(k)]
	}
	p := llb.ProxyEnv{HTTPProxy: get("HTTP_PROXY"), HTTPSProxy: get("HTTPS_PROXY"), NoProxy: get("NO_PROXY"), AllProxy: get("ALL_PROXY")}
	if p == (llb.ProxyEnv{}) {
		return nil
	}
	return &p
}
