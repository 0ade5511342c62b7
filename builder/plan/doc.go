// Package plan turns a lock and its base images into what BuildKit will
// build, without talking to BuildKit: the env id and tag, the
// layers (one per package, grouped within a layer budget), the image config
// built from the base's own config, and the LLB definition that installs
// every layer and merges them onto the base (Lower).
//
// Where the environment's Python comes from changes two
// things. On the base's interpreter, the prefix is a venv (VIRTUAL_ENV in
// the config) and bytecode is compiled with the base's python on the base
// image. With a conda Python, there is no venv, and bytecode of PyPI and
// noarch: python packages is compiled with the environment's own python,
// on the base with the layers of the python package and its conda
// dependencies merged in (only for BuildKit's own platform, like every
// bytecode step). Package layers never hold per-environment files, so
// environments sharing a package share its layer.
//
// Everything here is a pure function of its inputs, tested without a
// daemon. It must not open network connections or read the registry; the
// builder's engine package does that.
package plan
