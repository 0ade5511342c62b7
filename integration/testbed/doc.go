// Package testbed starts the real components envbuild's integration tests
// and benchmarks run against: a BuildKit daemon (bin/buildkitd, built from
// this module's go.mod by scripts/setup.sh), two CNCF Distribution
// registries on 127.0.0.1 (one open, one behind htpasswd basic auth) and a
// set of locally bootstrapped Debian base images pushed to the open registry;
// on demand (StartDocker), a Docker daemon with a BuildKit image made in it
// without any registry.
//
// Every process runs under one state directory, logs to a file there and is
// stopped by its PID. Base images are built once with debootstrap and cached
// as compressed layer tarballs in $ENVBUILD_TESTBED_CACHE (default
// $HOME/.cache/envbuild-testbed), so a warm start only pushes them.
//
// Main is the TestMain of integration test packages; Require gives a test the
// running bed or skips it with the reason the machine cannot run one.
// (*Bed).Run executes a command in an image through the bed's buildkitd (no
// Docker engine is needed for it); ReadFile and ListFiles read an image's flattened
// file system from the registry, for images whose binaries cannot run here.
//
// The package must not be imported by envbuild's own (non-test) code, must
// not listen anywhere but 127.0.0.1, and must not stop any process it did not
// start.
package testbed
