// Package baseimage reads the lock target from a base
// image's files: which Python interpreter the image has (and its standard
// library and site-packages directories), its full version, whether it is
// free-threaded, and the kind and version of the C library, for the
// platform the image config names.
//
// It reads layer tarballs only, top layer first, honouring whiteouts and
// opaque directories and following symlinks across layers (merged /usr
// included). Nothing from the image is ever executed, so an arm64 base is
// read the same way on an amd64 host. Only the few files that can answer
// are read (interpreters, libpython, the C library, dpkg, apk and conda
// records); the walk stops as soon as no lower layer can change the
// answer, and an answer is cached on disk under the image's manifest
// digest so a repeated build reads no layer at all.
//
// It must not talk to a registry itself (it is handed a v1.Image, whose
// layers may be fetched lazily by package registry), run anything from the
// image, or decide what to do with a mismatching target (the builder does).
package baseimage
