// Package httpc is the one HTTP client of envbuild's lock side: the PyPI
// index client (lock/pypi/index), the conda repodata fetcher
// (lock/conda/repodata) and the client-side downloads of artifacts
// (hashing a direct reference, diagnosing a failed build download) all go
// through it, so retries, caching, timeouts and credentials behave the
// same for every server envbuild reads.
//
// What it owns:
//
//   - Retries: a connection failure or reset, a silence, 408, 429 and 5xx
//     are tried again with jittered exponential backoff, honouring a
//     Retry-After up to 10s; 401/403 are not (an *AuthError).
//   - Timeouts: every try is bounded by an inactivity timeout (no byte for
//     Options.Timeout), never by a total deadline, so a big body takes as
//     long as it keeps arriving; a metadata request (SendMeta) is also
//     bounded as a whole, tries included, by Options.Deadline.
//   - A disk cache of responses (GetCached): one file per URL and variant,
//     named by a hash; fresh entries are used as they are (Cache-Control,
//     or a heuristic freshness), stale ones revalidated with ETag and
//     Last-Modified and reused on 304.
//   - Credentials, per host: the userinfo of the URLs the caller names
//     (AddCredentials, or a request URL's own), else the netrc file
//     ($NETRC, else ~/.netrc). They go only to their own host (a redirect
//     elsewhere drops them), and are never logged, cached or put in an
//     error: Redact hides userinfo and conda's "/t/<token>" segments,
//     StripURL removes both.
//   - The CA bundle (Options.CertFile, else the system's) and proxies from
//     the environment.
//
// It is our own code on net/http rather than a retrying client library
// because what envbuild needs is the combination: an inactivity timeout
// per try instead of a total one, a cache whose entries store a parsed
// body, netrc and per-host credentials with redaction in every message,
// and errors that say which limit was hit and which setting changes it.
// On the build side BuildKit downloads artifacts itself, with the
// credentials AuthHeaders gives it as session secrets; the one exception,
// a package of a conda channel whose token is in its path, is downloaded
// inside the build by the installer's fetch step (builder/step), with this
// client.
package httpc
