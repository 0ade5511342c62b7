#!/usr/bin/env bash
# make bench-build (part of make bench): envbuild build vs a Dockerfile with
# pip install and one with uv pip install --no-deps (cache mount), on the real
# test bed, same buildkitd, base and lock; writes docs/BENCH-build.md. Not a
# test and not run in CI. Arguments go to bench/build (e.g. `-n 5`,
# `-scenarios cold,fresh-pin`). The team layer cache's scenarios (fresh-pin,
# fresh-other-repo, new-binary) run with the others. About 15-30 minutes on
# 2 shared cores with the default -n 3.
set -euo pipefail
cd "$(dirname "$0")/.."

# uv for the uv peer: the uv wheel carries the uv binary, which is copied
# into that peer's build context. Installed once into .cache (gitignored).
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
bench_uv

if [ ! -x bin/envbuild ]; then
  echo "bench: bin/envbuild is missing; run make build (make bench-build does)" >&2
  exit 1
fi

go run ./bench/build -uv "$uvdir/bin/uv" -envbuild bin/envbuild -out docs/BENCH-build.md "$@"
