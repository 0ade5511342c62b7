// Package condachannel writes a local conda channel for tests: packages in
// either archive format (.conda: a zip of zstd-compressed tars; .tar.bz2:
// one bzip2-compressed tar), each with info/index.json, info/paths.json
// (prefix placeholders in text or binary mode), info/files and, for
// noarch: python packages, info/link.json with entry points; and
// repodata.json per subdir with every record's sha256, md5 and size.
// Serve puts the channel on an httptest server on 127.0.0.1.
//
// It is test support: it writes only under the directory it is given and
// needs the bzip2 program for .tar.bz2 packages (the standard library
// reads bzip2 but does not write it). It must not be imported by
// envbuild's own packages.
package condachannel
