// Package registry is envbuild's only door to an OCI registry (DESIGN:
// "only the registry package to a registry"). It parses image references
// the way Docker does (a loopback registry is spoken to over plain HTTP,
// other hosts only when named with --insecure-registry), resolves a base
// image to its per-platform manifests and configs, answers the cache
// question ("is env-<id> there, with every platform?") and
// checks which blobs a repository already holds.
//
// Its answers are exact: a tag is reported absent only when the registry
// says so (404, MANIFEST_UNKNOWN, NAME_UNKNOWN); a refusal (401/403), a
// server error, a timeout or an unreachable host is an error classified as
// failure.Infra, never "not cached" and never "cached". Errors name the
// reference and the host, and say where credentials are read from without
// ever printing one.
//
// It also writes what envbuild assembles itself: the team layer cache's
// records (records.go) and the image (assemble.go), whose layers BuildKit
// pushed by digest or the registry already holds, so that one code path
// writes every image whether BuildKit built any layer or none. It must not
// read layer contents (package baseimage does), or decide which registry or
// repository to use (configuration does).
package registry
