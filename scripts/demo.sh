#!/usr/bin/env bash
# make demo: start the test bed (buildkitd, a registry, a Debian base image
# with Python), build examples/quickstart onto the base, push it, and run
# `python -c "import requests"` inside the pushed image.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${ENVBUILD_TESTBED_STATE:-/tmp/envbuild-testbed}
if [ ! -f "$state/env.sh" ]; then
  go run ./integration/testbed/cmd/testbed up -state "$state" >/dev/null
fi
# shellcheck disable=SC1091
source "$state/env.sh"
echo "test bed: BuildKit $BUILDKIT_HOST, registry $ENVBUILD_TEST_REGISTRY, base $ENVBUILD_TEST_BASE" >&2
image=$(bin/envbuild build --file examples/quickstart/envbuild.toml \
  --base "$ENVBUILD_TEST_BASE" --registry "$ENVBUILD_TEST_REGISTRY/envs/quickstart" --progress plain)
echo "pushed: $image" >&2
go run ./integration/testbed/cmd/testbed run -state "$state" "$image" -- \
  python -c 'import requests, sys; print("requests", requests.__version__, "from", sys.prefix)'
echo "$image"
echo "stop the test bed with: make testbed-down" >&2
