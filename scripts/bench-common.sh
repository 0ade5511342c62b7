# Sourced by the benchmark scripts (bench.sh, bench-big.sh,
# bench-torch-layercache.sh): what they share. Run from the repository root.

# bench_uv: uv for the uv peers, installed once with pip into
# .cache/bench-uv (gitignored); sets uvdir.
bench_uv() {
  uvdir=.cache/bench-uv
  if [[ ! -x $uvdir/bin/uv ]]; then
    echo "bench: installing uv into $uvdir with pip" >&2
    python3 -m pip install --quiet --disable-pip-version-check --target "$uvdir" uv
  fi
}

# bench_workdir PREFIX: a working directory /tmp/PREFIX.XXXXXX (sets work)
# and, on exit, the daemons in pids stopped, the test bed in $work/bed
# brought down and the directory removed.
bench_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
}
bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  go run ./integration/testbed/cmd/testbed down -state "$work/bed" >/dev/null 2>&1 || true
  rm -rf "$work"
}

# bench_buildkitd NAME: a buildkitd of bin/ with its own empty state in
# $work/bk-NAME; sets addr and bkpid (not in a subshell, so that the
# cleanup knows its pid).
bench_buildkitd() {
  local d=$work/bk-$1
  mkdir -p "$d"
  bin/buildkitd --addr "unix://$d/sock" --root "$d/root" --oci-worker=true --containerd-worker=false >"$d/log" 2>&1 &
  bkpid=$!
  pids+=("$bkpid")
  for _ in $(seq 100); do [[ -S $d/sock ]] && break; sleep 0.2; done
  addr="unix://$d/sock"
}
