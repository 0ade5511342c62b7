// Package engine is the only package that talks to BuildKit: it connects to
// a daemon (any address BuildKit's client accepts, or the local daemon of
// docs/reference.md, started when needed), asks for the worker's platform, solves
// each layer's LLB through a gateway build function, and exports each
// layer on its own, all at once, as a one-layer image with BuildKit's
// image exporter (push by digest) or OCI exporter (a layout directory):
// envbuild writes the image's manifests itself.
//
// Progress goes through BuildKit's progress UI. Registry credentials reach
// BuildKit through the session's auth provider (Docker config file and
// credential helpers) and index credentials as session secrets: nothing
// secret is put into LLB, a layer or the image config.
//
// Docker (docker.go, dockerendpoint.go, dockerload.go) is driven through
// the docker CLI, as BuildKit's docker-container:// helper drives it: no
// Docker client library. The daemon is the one the CLI would use
// (FindDockerEndpoint); envbuild starts its BuildKit container there when
// it cannot start a local buildkitd, and --load streams images into it
// with `docker load`.
package engine
