#!/usr/bin/env bash
# Runs every fuzz target of the repository for FUZZTIME each (default 30s),
# one at a time on one worker (FUZZPARALLEL), and prints a table of targets,
# executions and the outcome. A crash leaves its input in the package's
# testdata/fuzz/FUZZNAME, where `go test` replays it from then on.
set -uo pipefail
cd "$(dirname "$0")/.."
budget=${FUZZTIME:-30s}
parallel=${FUZZPARALLEL:-1}
status=0
printf '| package | target | budget | executions | result | crash inputs kept in testdata (found and fixed) |\n| --- | --- | --- | --- | --- | --- |\n'
for pkg in $(go list ./... ); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    out=$(ENVBUILD_SKIP_INTEGRATION=1 go test -run '^$' -fuzz "^${target}\$" -fuzztime "$budget" -fuzzminimizetime 5s -parallel "$parallel" "$pkg" 2>&1)
    rc=$?
    execs=$(printf '%s\n' "$out" | grep -o 'execs: [0-9]*' | tail -1 | awk '{print $2}')
    result=ok
    if [ $rc -ne 0 ]; then
      result="FAILED (input in testdata/fuzz/$target)"
      status=1
      printf '%s\n' "$out" | tail -30 >&2
    fi
    kept=$(find "$dir/testdata/fuzz/$target" -type f ! -name 'seed-*' 2>/dev/null | wc -l)
    printf '| %s | %s | %s | %s | %s | %s |\n' "${pkg#github.com/envbuild/envbuild/}" "$target" "$budget" "${execs:-?}" "$result" "$kept"
  done
done
exit $status
