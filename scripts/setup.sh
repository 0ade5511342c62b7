#!/usr/bin/env bash
# setup.sh prepares a machine to run envbuild's integration tests and demo:
# the Debian packages the test bed starts (runc, a CNCF Distribution registry,
# debootstrap, htpasswd, zstd, pigz (make bench-big's floor), busybox-static; gcc, libc6-dev and bzip2 for
# the conda tests' static test program and .tar.bz2 archives; openssh for the
# ssh:// builder test; docker.io for the Docker tests' dockerd) and
# bin/buildkitd and bin/buildctl, built from this
# module's go.mod so the daemon and the client are the same version.
#
# Idempotent: apt runs only when a command is missing; buildkitd and buildctl
# are rebuilt only when go.mod is newer than them.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

log() { printf 'setup: %s\n' "$*" >&2; }

# runc and debootstrap live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# Test packages run this script concurrently (each TestMain calls it): one
# at a time, so apt and the buildkitd build run once.
mkdir -p bin
exec 9>bin/.setup.lock
flock 9

# command -> Debian package that provides it.
declare -A needs=(
	[runc]=runc
	[docker-registry]=docker-registry
	[debootstrap]=debootstrap
	[htpasswd]=apache2-utils
	[zstd]=zstd
	[pigz]=pigz
	[dpkg-deb]=dpkg
	[gcc]=gcc
	[bzip2]=bzip2
	[sshd]=openssh-server
	[ssh-keygen]=openssh-client
	[dockerd]=docker.io
)
missing=()
for cmd in "${!needs[@]}"; do
	if ! command -v "$cmd" >/dev/null 2>&1; then
		missing+=("${needs[$cmd]}")
	fi
done
# busybox-static is checked by file: a dynamic busybox on PATH would not do.
if [[ ! -x /bin/busybox ]] || ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
	missing+=(busybox-static)
fi

if ((${#missing[@]} > 0)); then
	if [[ $(id -u) -ne 0 ]]; then
		log "missing packages: ${missing[*]}; run this script as root (it calls apt-get)"
		exit 1
	fi
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y runc docker-registry debootstrap apache2-utils zstd pigz busybox-static gcc libc6-dev bzip2 openssh-server openssh-client docker.io
else
	log "Debian packages present"
fi

if ! command -v go >/dev/null 2>&1; then
	if [[ -x /usr/local/go/bin/go ]]; then
		export PATH="/usr/local/go/bin:$PATH"
	else
		log "go is not on PATH; install Go (see go.mod for the version) and retry"
		exit 1
	fi
fi

# Stamped with go.mod's BuildKit version, as BuildKit's releases are (an
# unstamped build reports v0.0.0+unknown, which envbuild points out).
bk_version="$(go list -m -f '{{.Version}}' github.com/moby/buildkit)"
bk_ldflags="-X github.com/moby/buildkit/version.Version=$bk_version"
# stamped BIN: BIN --version names go.mod's BuildKit version.
stamped() { "$1" --version 2>/dev/null | grep -qF " $bk_version"; }

if [[ -x bin/buildkitd && bin/buildkitd -nt go.mod ]] && stamped bin/buildkitd; then
	log "bin/buildkitd is up to date"
else
	log "building bin/buildkitd from go.mod (takes a few minutes cold)"
	# cgo when a C compiler is there (as BuildKit's own builds), else a
	# static build; a caller's CGO_ENABLED=0 (the Makefile's) must not decide.
	cgo=0
	if command -v gcc >/dev/null 2>&1; then cgo=1; fi
	CGO_ENABLED=$cgo go build -ldflags "$bk_ldflags" -o bin/buildkitd.tmp github.com/moby/buildkit/cmd/buildkitd
	mv bin/buildkitd.tmp bin/buildkitd
	log "built bin/buildkitd"
fi

# buildctl: the remote end of BuildKit's ssh://, kube-pod:// and
# docker-container:// helpers runs `buildctl dial-stdio`; static, so it also
# goes into the test bed's BuildKit image.
if [[ -x bin/buildctl && bin/buildctl -nt go.mod ]] && stamped bin/buildctl; then
	log "bin/buildctl is up to date"
else
	log "building bin/buildctl from go.mod"
	CGO_ENABLED=0 go build -ldflags "$bk_ldflags" -o bin/buildctl.tmp github.com/moby/buildkit/cmd/buildctl
	mv bin/buildctl.tmp bin/buildctl
	log "built bin/buildctl"
fi

# Python tools the tests compare with or load flows with: metaflow (the flow
# reader's tests check envbuild's view against Metaflow's own) and uv (the
# lock's versions are compared with `uv pip compile`); for the test of
# Metaflow tasks running in their images, moto's S3 server (the datastore)
# and the kubernetes client (Metaflow builds its job spec with its models;
# no cluster is contacted). Pinned; pip checks each file against the sha256
# the index lists.
py_tools=()
python3 -c 'import metaflow' 2>/dev/null || py_tools+=("metaflow==2.19.39")
python3 -c 'import moto.server, flask' 2>/dev/null || py_tools+=("moto[server]==5.2.1")
python3 -c 'import kubernetes' 2>/dev/null || py_tools+=("kubernetes==31.0.0")
command -v uv >/dev/null 2>&1 || py_tools+=("uv==0.13.9")
# check-jsonschema checks examples/ci against GitHub's and GitLab's workflow schemas.
command -v check-jsonschema >/dev/null 2>&1 || py_tools+=("check-jsonschema==0.39.0")
# spdx-tools validates the SBOM envbuild attaches to its images.
command -v pyspdxtools >/dev/null 2>&1 || py_tools+=("spdx-tools==0.8.5")
# ruff and pytest check the Metaflow helper (make python-check).
python3 -m ruff --version >/dev/null 2>&1 || py_tools+=("ruff==0.17.5")
python3 -c 'import pytest' 2>/dev/null || py_tools+=("pytest==9.2.0")
if ((${#py_tools[@]} > 0)); then
	log "installing Python tools: ${py_tools[*]}"
	python3 -m pip install --quiet "${py_tools[@]}"
else
	log "Python tools present"
fi
