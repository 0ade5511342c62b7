// Package repodata reads conda channel indexes: the records of
// repodata.json (both "packages", the .tar.bz2 artifacts, and
// "packages.conda"), plain or zstd-compressed (repodata.json.zst), from a
// file, a reader or a channel over HTTP.
//
// Read decodes every record; ReadIndex makes an Index that finds each
// record's name in one pass and decodes the records of a name only when
// asked for them (what a solver touching a few hundred of a channel's
// records wants). Both use a small JSON scanner written for repodata's
// shape, checked against encoding/json on real repodata. The pass that
// finds names allocates nothing per record, and on a machine with several
// cores reads pieces of the file at once (a piece starts at a guessed
// record boundary and counts only when the reading before it ends there);
// ReadIndexFile maps a large file into memory instead of copying it.
//
// Channels: a name such as "conda-forge" or "pkgs/main" resolves against a
// channel alias (default https://conda.anaconda.org/); a URL (http, https
// or file) is used as given. Channels are read from a spec, the
// CONDA_CHANNELS environment variable (comma separated) and .condarc.
//
// .condarc support is a small YAML subset, enough for the keys envbuild
// reads: top-level "channels:" as a block list ("- name" lines) or a flow
// list ("[a, b]"), and "channel_alias: URL"; values may be quoted; "#"
// comments and blank lines are skipped; every other key is ignored
// (including nested maps), and "defaults" in the list is kept as a channel
// name.
//
// The fetcher reads channels through envbuild's HTTP client
// (internal/httpc): each repodata file is cached on disk and revalidated
// with its ETag / Last-Modified (used without asking while the channel's
// Cache-Control max-age holds), transient failures are retried, and a
// transfer ends only when the channel stops sending, never for its
// length. A channel URL may carry credentials ("https://user:pass@host/c",
// or netrc for its host) or an anaconda-style token
// ("https://host/t/TOKEN/c"): requests use them, but Channel.Name and
// Channel.URL, every record's URL and every error are without them.
// Network, server and credential failures are *ChannelError, so a caller
// can map them to exit code 4.
//
// The package does not solve, download packages or install anything.
package repodata
