// Package plan turns a lock and its base images into what BuildKit will
// build, without talking to BuildKit: the env id and tag (CONTRACT §3), the
// layers (one per package, grouped within a layer budget), the image config
// built from the base's own config, and the LLB definition that installs
// every layer and merges them onto the base (Lower).
//
// Everything here is a pure function of its inputs, tested without a
// daemon. It must not open network connections or read the registry; the
// builder's engine package does that.
package plan
