// Command testbed starts and stops envbuild's test bed (buildkitd, two
// registries, the base images) outside `go test`, for the demo and for
// running integration tests against a bed that stays up:
//
//	testbed up     start it, print `export NAME=value` lines, write STATE/env.sh
//	testbed env    print the export lines of the running bed
//	testbed logs   print the end of every daemon's log
//	testbed down   stop it (by the PIDs in STATE/bed.json) and remove STATE
//
// STATE is -state, else $ENVBUILD_TESTBED_STATE, else /tmp/envbuild-testbed.
//
// It only drives package testbed: it must not start, stop or configure
// anything itself, and `down` stops only the PIDs its bed recorded.
package main
