#!/usr/bin/env bash
# with-testbed.sh COMMAND [ARGS...]: runs COMMAND with a test bed's
# variables set (BUILDKIT_HOST, ENVBUILD_TEST_REGISTRY, the bases, ...), so
# that every package's tests that need the bed find it: not only
# integration/'s, whose TestMain starts or attaches to one itself, but also
# builder/registry's and builder/baseimage's tests against real
# registries and bases, which skip without the variables.
#
# A bed already up in $ENVBUILD_TESTBED_STATE is used and left running.
# Otherwise one is started in a state directory of its own and stopped
# when COMMAND ends. When none can start, COMMAND runs without one (the
# integration tests then say why, or fail under CI).
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
testbed() { "$GO" run ./integration/testbed/cmd/testbed "$@"; }

state=""
if [ -n "${ENVBUILD_TESTBED_STATE:-}" ] && testbed env -state "$ENVBUILD_TESTBED_STATE" >/dev/null 2>&1; then
	state=$ENVBUILD_TESTBED_STATE
	echo "with-testbed: using the test bed in $state" >&2
else
	state=$(mktemp -d "${TMPDIR:-/tmp}/envbuild-test-bed.XXXXXX")
	if testbed up -state "$state" >/dev/null; then
		# down stops the daemons; what they left in the directory made
		# here goes with it.
		trap 'testbed down -state "$state" >&2 && rm -rf "$state"' EXIT
	else
		echo "with-testbed: no test bed could start (see above); running without one" >&2
		rm -rf "$state"
		state=""
	fi
fi
if [ -n "$state" ]; then
	# shellcheck disable=SC1091
	. "$state/env.sh"
fi
"$@"
rc=$?
exit $rc
