// Package index reads Python package indexes: the PEP 503 (HTML) and PEP
// 691 (JSON) "simple" repository API, PEP 658/714 metadata files, PEP 592
// yanking and PEP 700 upload times. It is the one HTTP client of envbuild's
// PyPI locking: every request goes through it, with retries, a bound on
// concurrency and an on-disk HTTP cache.
//
// It answers two questions for a resolver: which files does a project have
// (Client.Project), and what does one file require (Client.Metadata). It
// does not choose files, compare versions or evaluate markers: that is the
// resolver's job (lock/pypi/...). It never writes credentials anywhere.
//
// # Several indexes: first index wins
//
// Options.Indexes are in priority order (--index-url first, then each
// --extra-index-url). A project is taken whole from the first index that
// knows it (answers other than 404/410), and never merged with the files of a
// lower-priority index, the way uv's default "first-index" strategy works.
// A public index therefore cannot shadow a private project by publishing a
// higher version under the same name (dependency confusion). An index that
// fails (5xx, timeout, refused credentials, garbage) stops the lookup with
// an error instead of falling through to the next index, for the same
// reason. A project no index knows is a user error (exit 1) naming every
// index asked; everything else that goes wrong talking to an index is an
// infrastructure error (exit 4).
//
// # Credentials
//
// An index URL may carry user:password@ (or a lone token@). They are
// removed from every URL this package returns (File.URL never has them)
// and sent, as HTTP basic auth, only to that URL's host: files served from
// another host (files.pythonhosted.org behind a private proxy, say) get
// credentials only when that host has its own, from netrc. Credentials an
// index embeds in its own file links are dropped (they would otherwise end
// up in the cache and the lock): give that host's in netrc. A redirect to
// another host drops the Authorization header (and adds that host's own
// credentials, if any). Without credentials in the
// URL, the netrc file (Options.Netrc, $NETRC, ~/.netrc) is read for the
// host. Errors and log lines pass through Redact: a password shows as ****.
//
// # Failures
//
// The retries, timeouts, credentials and cache below are those of
// envbuild's one HTTP client, internal/httpc, which conda channels use
// too; this package adds what is particular to indexes (which index
// answers for a project, the wording of its errors, parsed pages).
//
// Every request is retried (Options.Retries times after the first try,
// jittered exponential backoff, a server's Retry-After honoured up to 10s)
// on 5xx, 429, 408, connection errors and timeouts; Options.Timeout bounds
// each wait for headers or for the next bytes of a body, so a big download
// is not cut off while it progresses. Errors name the index and the
// project ("index https://…/simple/ answered 500 for "requests" after 4
// tries"). 401/403 are not retried: "the index refused the credentials for
// HOST (from the index URL|netrc|the URL)", or, when none were sent, how to
// give some. A page that is neither PEP 691 JSON nor PEP 503 HTML, or HTML
// without links that does not look like a simple page, is an error too.
//
// # Caching
//
// Project pages are kept on disk under Options.CacheDir, keyed by the sha256
// of the URL (without credentials) and the Accept header, already parsed
// (a compact binary list of files), so a warm run neither downloads nor
// parses them: about 4 ms for a 5000-file page (BenchmarkProjectWarm). A page is used
// without asking while it is fresh (Cache-Control max-age; pages without
// Cache-Control count as fresh for 10 minutes, PyPI's own max-age), then
// revalidated with If-None-Match/If-Modified-Since when the server gave an
// ETag/Last-Modified. no-cache forces revalidation, no-store keeps a page
// out of the cache. A 404 is remembered the same way, so --offline can
// tell "not on this index" from "never asked". Options.Offline answers from
// the cache however old it is; Options.Refresh revalidates everything.
// Metadata is cached by file URL and sha256, forever: index files do not
// change under the same URL and hash.
//
// # Metadata, cheapest first
//
//  1. The PEP 658 file URL+".metadata" when the page says it exists, checked
//     against the hash the index gave (a mismatch is an error).
//  2. When the page does not say so, the same URL is tried once per host:
//     some mirrors serve these files without advertising them. The answer
//     is used only if it is core metadata for that very file; a 404 or
//     anything else turns the probe off for the host.
//  3. For a wheel, HTTP range requests: the last 64 KiB, then the rest of
//     the zip central directory if larger (zip64 understood), then the
//     METADATA member — usually two or three small requests. A server that
//     answers a range request with the whole file (200) has that answer
//     used as the download, and is remembered: its next wheels are
//     downloaded without trying ranges.
//  4. A full download, checked against the file's sha256. For an sdist the
//     PKG-INFO is used only when it pins the dependencies (Metadata-Version
//     2.2 or later, Requires-Dist not Dynamic); otherwise ErrDynamicMetadata.
//
// Metadata whose Name or Version contradicts the filename is an error.
//
// # What this machine's index serves (checked 2026-11-26)
//
// pip here is configured with no index-url (pip config list shows only
// cert, timeout and find-links), so the index is https://pypi.org/simple,
// reached directly. It serves PEP 691 JSON (api-version 1.1, with sizes and
// upload times) and PEP 503 HTML, over HTTP/2. Its pages carry no
// Cache-Control, ETag or Last-Modified and are not gzip-encoded (numpy's
// JSON page is 1.9 MB), and it does not advertise core-metadata, yet
// files.pythonhosted.org serves the .metadata files (path 2 above), and it
// answers range requests, suffix ranges included, with 206 (path 3). An
// unknown project is a 404 with an empty body. Every path above has a
// fallback, so a server that lacks any of these still works.
//
// # Must not
//
// Write credentials into errors, logs, the cache or returned URLs; merge
// files of two indexes for one project; fall back to a lower-priority index
// when a higher one fails; depend on the resolver (it uses only the PEP
// 440/508 primitives: name normalisation, version equality).
package index
