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
// Scenarios (docs/BENCHMARKS.md): cold (a fresh buildkitd and a new
// repository for every run), change one pin (after a warm build), base
// swap (same Python, another top layer), and an unchanged environment on a
// fresh buildkitd with the image already in the registry. Each figure is
// the median of -n runs; bytes pushed are the sizes of the blobs of the
// pushed image that neither the base image nor the repository held before.
// The table goes to stdout and to -out (docs/BENCH-build.md).
//
//	go run ./bench/build -n 3 -out docs/BENCH-build.md   # or: make bench
//
// It reports figures; it asserts nothing and is not a test. It must not
// touch daemons or registries other than the test bed it starts, and it
// stops that bed (every daemon it started) before it exits.
package main
