#!/usr/bin/env bash
# make bench-torch-layercache (not in CI): the team layer cache on a big ML
# environment. A teammate builds torch (with its CUDA wheels), numpy and
# pandas on a fresh buildkitd; CI then builds the same environment with one
# small pin changed on another fresh buildkitd, reusing the teammate's
# layers from the registry; for comparison, the same change on a third
# fresh buildkitd with --layer-cache off. One run each (each cold build
# fetches about 3 GB from the package index); writes
# docs/BENCH-torch-layercache.md.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=${OUT:-docs/BENCH-torch-layercache.md}
spec=${SPEC:-"torch==2.5.1 numpy==2.1.3 pandas==2.2.3"}
pin=${PIN:-tzdata}
from=${FROM:-2024.2}
to=${TO:-2024.1}

avail=$(df --output=avail -BG / | tail -1 | tr -dc 0-9)
if ((avail < 30)); then
  echo "bench: ${avail} GB free on /; this benchmark needs about 30 GB" >&2
  exit 1
fi
[[ -x bin/envbuild && -x bin/buildkitd ]] || { echo "bench: run make build and make setup first" >&2; exit 1; }

# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
bench_workdir envbuild-torch-bench

go run ./integration/testbed/cmd/testbed up -state "$work/bed" -docker=false >"$work/bed.log" 2>&1
# shellcheck disable=SC1091
. "$work/bed/env.sh"
reg=$ENVBUILD_TEST_REGISTRY
base=$ENVBUILD_TEST_BASE
unset BUILDKIT_HOST

fresh() { bench_buildkitd "$1"; }

build() { # build NAME ADDR VERSION ARGS...: prints seconds and the JSON
  local name=$1 addr=$2 version=$3; shift 3
  local dir=$work/$name
  mkdir -p "$dir"
  local args=()
  for r in $spec "$pin==$version"; do args+=(--pypi "$r"); done
  local t0 t1
  t0=$(date +%s.%N)
  (cd "$dir" && XDG_CACHE_HOME=$work/cache-$name "$root/bin/envbuild" build --json --progress plain "${args[@]}" \
    --base "$base" --buildkit-addr "$addr" "$@" >"$dir/result.json" 2>"$dir/log")
  t1=$(date +%s.%N)
  printf '%s %.1f %s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$(cat "$dir/result.json")"
}

fresh teammate; a=$addr
fresh ci; b=$addr
fresh nocache; c=$addr
team=$(build teammate "$a" "$from" --registry "$reg/team/torch")
ci=$(build ci "$b" "$to" --registry "$reg/team/torch")
off=$(build nocache "$c" "$to" --registry "$reg/other/torch" --layer-cache off)

field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",2)[2]).get(sys.argv[2], 0))' "$1" "$2"; }
secs() { echo "$1" | cut -d' ' -f2; }
mb() { python3 -c 'import sys; print(f"{int(sys.argv[1])/1e6:.1f}")' "$1"; }
size=$(python3 - "$work/teammate/envbuild.lock" <<'PY'
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
pk = d["env"][0]["target"][0]["package"]
print(len(pk), f"{sum(p.get('size', 0) for p in pk)/1e9:.2f}")
PY
)
{
  echo "# The team layer cache on a big ML environment"
  echo
  echo "Written by \`make bench-torch-layercache\` (scripts/bench-torch-layercache.sh); one run each on a shared 2-core machine."
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); checkout $(git describe --always --dirty)"
  echo "- spec: \`$spec $pin\`; $(echo "$size" | cut -d' ' -f1) locked packages, $(echo "$size" | cut -d' ' -f2) GB of wheels; base: the test bed's Debian bookworm (Python 3.11)"
  echo "- each build on a buildkitd of its own, started empty; one loopback registry"
  echo
  echo "| build | buildkitd | seconds | layers built | layers reused | pushed |"
  echo "| --- | --- | ---: | ---: | ---: | ---: |"
  echo "| teammate: \`$pin==$from\`, cold | fresh | $(secs "$team") | $(field "$team" layers_built) | $(field "$team" layers_reused) | $(mb "$(field "$team" pushed_bytes)") MB |"
  echo "| CI: \`$pin==$to\`, layer cache (write) | fresh | $(secs "$ci") | $(field "$ci" layers_built) | $(field "$ci" layers_reused) | $(mb "$(field "$ci" pushed_bytes)") MB |"
  echo "| CI: \`$pin==$to\`, \`--layer-cache off\`, another repository | fresh | $(secs "$off") | $(field "$off" layers_built) | $(field "$off" layers_reused) | $(mb "$(field "$off" pushed_bytes)") MB |"
  echo
  echo "CI with the layer cache / without: $(python3 -c "import sys; print(f'{float(sys.argv[1])/float(sys.argv[2]):.3f}')" "$(secs "$ci")" "$(secs "$off")")x."
} >"$out"
cat "$out"
