// Package envlock locks the conda part of an environment: it reads the
// channel configuration (the spec's channels, else CONDA_CHANNELS, else
// .condarc, else conda-forge), fetches repodata.json of noarch and the
// target's subdir (linux-64 or linux-aarch64) for every channel, builds the
// target image's virtual packages (__glibc from the base's C library,
// __linux, __unix, __archspec, __cuda from Request.Cuda or
// CONDA_OVERRIDE_CUDA), solves the MatchSpecs and returns one
// lockfile.Package per chosen record, with what the installer needs (URL,
// file name, sha256, size, build, subdir, noarch, channel).
//
// Errors are classified for the exit codes: a spec that does
// not parse, a package no channel has and an unsatisfiable request are the
// user's (failure.User, with the solver's explanation); a channel that
// cannot be read, is unknown, errs or hangs is infrastructure
// (failure.Infra).
//
// It must not download packages, install anything or run conda: it reads
// repodata only, and the target image is always described by the caller,
// never probed from the machine envbuild runs on.
package envlock
