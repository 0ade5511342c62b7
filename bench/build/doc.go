// Command build benchmarks `envbuild build` against two Dockerfile peers on
// the real test bed (integration/testbed): the same buildkitd, the same
// Debian base image, the same locked package set, the same layer
// compression (gzip).
//
// The peers are Dockerfiles solved by BuildKit's built-in dockerfile.v0
// frontend and pushed by the image exporter: "pip" (python3 -m venv, then
// pip install -r requirements.txt, what most users write) and "uv" (uv pip
// install --no-deps of the same pins with a BuildKit cache mount).
// requirements.txt holds the pins of envbuild's own lock, so every tool
// installs the same versions. envbuild runs as a subprocess (bin/envbuild
// build --json), on a lock written before any timing.
//
// Scenarios: cold (a fresh buildkitd and a new repository for every run),
// change one pin (after a warm build), base swap (same Python, another top
// layer), an unchanged environment on a fresh buildkitd with the image
// already in the registry, and the team layer cache's (issue 8):
// fresh-pin (a fresh buildkitd, one pin changed from a teammate's image;
// the uv peer imports the teammate's BuildKit registry cache),
// fresh-other-repo (a fresh buildkitd, the teammate's environment into
// another repository, envbuild reading the teammate's layer cache; once
// more with no daemon at all) and new-binary (another envbuild binary,
// one pin changed, on the warm buildkitd). Each figure is the median of
// -n runs; bytes pushed are the sizes of the blobs of the pushed image
// that neither the base image nor the repository held before; install
// steps are envbuild's layers_built and the peers' RUN steps not taken
// from BuildKit's cache; downloads are read from the registry's log.
// The table goes to stdout and to -out (docs/BENCH-build.md).
//
//	go run ./bench/build -n 3 -out docs/BENCH-build.md   # or: make bench
//
// It reports figures; it asserts nothing and is not a test. It must not
// touch daemons or registries other than the test bed it starts, and it
// stops that bed (every daemon it started) before it exits.
package main
