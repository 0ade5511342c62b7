// Package virtual builds conda's virtual packages (__unix, __linux,
// __glibc, __archspec, __cuda) for a TARGET image, never for the machine
// envbuild runs on: a lock made on a laptop for an arm64 image must see the
// image's C library and architecture.
//
// Defaults, when the caller does not know better:
//   - __linux: the kernel of the machine that will run the image is unknown
//     when locking, so its version is "0" unless
//     CONDA_OVERRIDE_LINUX says otherwise; a package that needs
//     "__linux >=X" then fails to solve with a message naming __linux.
//   - __glibc: the target's glibc (target.Target, read from the base
//     image by the caller), else
//     CONDA_OVERRIDE_GLIBC, else 2.28 (docs/reference.md's default target).
//   - __archspec: version 1, build "x86_64" or "aarch64" (the generic
//     micro-architecture of the platform; no CPU of the target is probed).
//   - __cuda: only when a CUDA version is given (the --cuda flag) or
//     CONDA_OVERRIDE_CUDA is set and not empty.
//
// The package reads no files and probes no hardware.
package virtual
