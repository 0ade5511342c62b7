// Package metaflow reads a Metaflow flow file the way Metaflow itself sees it:
// each step's merged @pypi/@conda attributes (flow-level @pypi_base and
// @conda_base included), whether the step is disabled, and the image written
// in its @kubernetes or @batch decorator.
//
// Two readers give the same Flow. LoadWithMetaflow imports the flow with an
// installed metaflow (python/export_decorators.py), so Config values and other
// load-time computations are resolved by Metaflow; LoadStatic parses the
// source in pure Go, accepts literal decorator arguments only and refuses
// anything computed with a positioned error that says how to fix it. Both feed
// the same merge code, which follows Metaflow's pypi_decorator.py,
// conda_decorator.py and conda_environment.py, plus the attributes of the
// metaflow-netflixext extension (channels, extra_indices/sources,
// pip_packages).
//
// The extension/ directory holds metaflow-envbuild, the Metaflow extension
// that runs a flow on the images envbuild built for it.
//
// Step.Spec turns a step into a spec.Spec with frontends/spec's rules for the
// {name: version} dictionaries; this package has no such rules of its own.
//
// This package must not resolve, lock or build anything, nor pick default
// base images or registries (that is configuration, docs/reference.md). It runs
// Python only in LoadWithMetaflow and HasMetaflow, and never the flow's steps.
package metaflow
