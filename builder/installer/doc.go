// Package installer unpacks one Python wheel or one conda package into a
// layer directory, and writes the small per-environment metadata layer. It is
// the program of DESIGN rule 6: envbuild runs it (as a hidden subcommand of
// its own binary) in a BuildKit exec step on an empty root file system, on the
// build host's platform, with the artifact as a read-only mount and an empty
// output mount that becomes the layer.
//
// Everything is written under ROOT plus the absolute on-image path that
// package layout gives (ROOT/opt/envbuild/env/...). The output is
// byte-reproducible: the same input bytes give the same tree, modes and times
// (files 0644, or 0755 when the archive marks them executable; directories
// 0755; every mtime and atime layout.Epoch; owner 0:0 when run as root), and
// nothing in it depends on the host's umask, clock, user or on the order in
// which parallel writers finish.
//
// It must not: use cgo, run other programs, read anything of the image it runs
// in, touch the network, or write outside ROOT. It never follows a symlink
// while writing: an archive entry that is absolute, has a ".." component, is
// written through a symlink of the same package, or is a symlink or hard link
// whose target leaves the prefix is refused with an error naming the entry.
//
// # Command line
//
// Main(args) takes one of these subcommands (flags may be written -flag or
// --flag; an error is printed to stderr as one line and the exit status is 1,
// or 2 for a usage error):
//
//	wheel --src FILE --root DIR --python 3.11 [--free-threaded] [--sha256 HEX]
//	    Install a wheel (PyPA binary distribution format 1.x): root files and
//	    .data/purelib, .data/platlib into layout.SitePackages, .data/scripts
//	    into layout.BinDir (a first line "#!python" or "#!pythonw" becomes
//	    "#!" + layout.Python), .data/headers into layout.Include(name),
//	    .data/data into the prefix; console_scripts and gui_scripts entry
//	    points as launcher scripts; INSTALLER ("envbuild") and a rewritten
//	    RECORD. Every file's hash is checked against the wheel's RECORD.
//	    REQUESTED and direct_url.json are not written: they differ between
//	    environments and belong to the envmeta layer.
//
//	conda --src FILE --root DIR [--python 3.11] [--free-threaded] [--sha256 HEX] [--filename NAME]
//	    Install a .conda or .tar.bz2 package at layout.Prefix: info/paths.json
//	    (or the legacy info/files and info/has_prefix, or, when a package has
//	    neither, every entry of its payload); prefix placeholders replaced in
//	    text mode (every occurrence) and binary mode (inside each NUL-terminated
//	    string, padded with NULs to keep the length); symlinks and hard links
//	    kept; noarch: python packages relocated (site-packages/ to the
//	    site-packages of --python, python-scripts/ to bin/) with the entry
//	    points of info/link.json; conda-meta/NAME-VERSION-BUILD.json written
//	    without the fields that vary per environment (requested_spec, url,
//	    channel, link), which envmeta adds. --filename is the "fn" of the
//	    record (default: the base name of --src).
//
//	normalize --root DIR
//	    Give every file, directory and symlink under DIR the times
//	    layout.Epoch, drop group and other write permission, chown to 0:0
//	    when run as root, and create the parents of layout.Prefix with mode
//	    0755. wheel, conda and envmeta end with it.
//
//	envmeta --root DIR --json FILE [--packages DIR]
//	    Write the per-environment files that an EnvMeta (JSON) describes:
//	    MetaDir/env.json, REQUESTED markers, pyvenv.cfg and bin/python*
//	    symlinks for a venv-style prefix on the base's interpreter, and
//	    conda-meta records completed with requested_spec, url, channel and
//	    link. --packages is the merged tree of the package layers (read only,
//	    laid out like ROOT); REQUESTED markers use it to find the exact
//	    .dist-info directory and conda records need it to be rewritten.
//	    FILE is EnvMeta as JSON (unknown keys are errors), for example:
//
//	    {"env_id": "3f2a...", "lock_digest": "sha256:...", "python": "3.11",
//	     "venv": {"home": "/usr/bin", "executable": "/usr/bin/python3.11", "version": "3.11.2"},
//	     "requested": [{"name": "pandas", "version": "2.2.2"}],
//	     "conda": [{"name": "numpy", "version": "1.26.4", "build": "py311h_0",
//	                "requested_spec": "numpy=1.26", "url": "https://...", "channel": "https://..."}]}
//
// # Clobbering
//
// Each package is normally installed into its own empty layer, so two
// packages never see each other's files here. When two packages ship the same
// path, the layer that comes later in the merge wins, whole file for whole
// file; the builder orders layers (and so decides clobbering)
// deterministically. Packages grouped into one layer are installed into the
// same ROOT one after the other and stack the same way: a later package's
// file or symlink replaces an earlier one's (never writing through it); a
// directory in the way is an error. Within one package a path written twice
// is an error. conda-meta records are not rewritten when a later package
// clobbers a file, as conda does not either.
//
// # Source file names
//
// conda chooses the archive format from the --src name (.conda or .tar.bz2),
// so the builder must save downloads under a name with that suffix. A wheel's
// name is checked against its .dist-info directory only when it is a full
// wheel file name (NAME-VERSION[-BUILD]-PY-ABI-PLATFORM.whl).
package installer
