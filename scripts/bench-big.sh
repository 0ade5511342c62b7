#!/usr/bin/env bash
# make bench-big (not in CI): a big ML environment (torch with its CUDA
# wheels, numpy, pandas; about 3 GB of wheels) built by envbuild and by a
# Dockerfile with `uv pip install` on the same kind of buildkitd, base, lock
# and compression, against the physical floor measured with plain tools;
# peak memory; pull and first import with dockerd. Writes docs/BENCH-big.md.
#
# The locked wheels are fetched once from the package index into a loopback
# mirror (.cache/bench-big/mirror, gitignored; PEP 503 with PEP 658 metadata,
# served by scripts/bench-mirror-serve.py), so that every build reads the same files
# from loopback. Each cold build runs on a buildkitd of its own started empty,
# and each round pushes to a registry of its own started empty (removed after
# the round: the pushes of every round would not fit the disk).
#
# Rounds alternate the compressions (ROUNDS, default "gzip zstd gzip zstd
# gzip zstd"), and within a round the two tools alternate who goes first.
# Every image is pulled and imported by dockerd and (CONTAINERD=1, the
# default) by a fresh containerd too: Debian's dockerd 20.10 refuses zstd
# layers, containerd unpacks them. Each cold build also records the CPU time
# the whole machine spent during it (cpu_s).
# EB_ARGS are flags added to every envbuild build (EB_ARGS=--layers-from-wheels
# with ROUNDS of gzip only: the flag refuses zstd).
# DEADLINE (seconds since the epoch) stops starting new rounds after it; the
# report says how many runs each figure is the median of. Results are also
# kept in .cache/bench-big/results-TIME.tsv (RESULTS names another file,
# appended to; RUN_BASE then numbers the new runs after the earlier ones).
set -euo pipefail
# The whole script is one compound command, read before it runs: editing
# the file during a run (an hour) does not change the run.
{
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$HOME/.local/bin:$PATH:/usr/local/sbin:/usr/sbin:/sbin"

spec=${SPEC:-"torch==2.5.1 numpy==2.1.3 pandas==2.2.3"}
pin=${PIN:-tzdata}
from=${FROM:-2024.2}
to=${TO:-2024.1}
rounds=${ROUNDS:-"gzip zstd gzip zstd gzip zstd"}
deadline=${DEADLINE:-0}
# The uv peer's warm pin change redoes its whole install step; measured in
# the first UV_PIN_RUNS rounds of each compression only.
uv_pin_runs=${UV_PIN_RUNS:-1}
# The physical floor is measured in the first round of these compressions.
# (FLOORS=none: no floor).
floors=${FLOORS:-"gzip zstd"}
out=${OUT:-docs/BENCH-big.md}
import_mods=${IMPORT:-"torch, numpy, pandas"}
cache=$root/.cache/bench-big
mirror=$cache/mirror
results=${RESULTS:-$cache/results-$(date -u +%Y%m%dT%H%M%S).tsv}

avail=$(df --output=avail -BG "$root" | tail -1 | tr -dc 0-9)
if ((avail < 40)); then
  echo "bench-big: ${avail} GB free; this benchmark needs about 40 GB (3 GB of mirror, a buildkitd's state of about 13 GB, a registry and dockerd of about 10 GB each)" >&2
  exit 1
fi
[[ -x bin/envbuild && -x bin/buildkitd && -x bin/buildctl ]] || { echo "bench-big: run make build and make setup first" >&2; exit 1; }
for cmd in pigz zstd unzip curl docker dockerd docker-registry containerd ctr; do
  command -v "$cmd" >/dev/null || { echo "bench-big: $cmd is missing; run make setup" >&2; exit 1; }
done
# shellcheck source=scripts/bench-common.sh
. scripts/bench-common.sh
bench_uv

mkdir -p "$cache"
bench_workdir envbuild-bench-big
trap 'exit 143' INT TERM
log() { printf 'bench-big: %s\n' "$*" >&2; }
now() { date +%s.%N; }
# jiffies: the CPU time every core has spent busy since boot (USER_HZ ticks)
jiffies() { awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat; }
cpusince() { echo $((($(jiffies) - $1) / $(getconf CLK_TCK))); }
since() { python3 -c 'import sys; print(f"{float(sys.argv[2])-float(sys.argv[1]):.1f}")' "$1" "$(now)"; }
# record COMPRESSION SCENARIO TOOL ROUND SECONDS [KEY=VALUE...]
record() { local IFS=$'\t'; echo "$*" >>"$results"; log "$*"; }

log "test bed (with dockerd) in $work/bed"
go run ./integration/testbed/cmd/testbed up -state "$work/bed" -docker=true >"$work/bed.log" 2>&1 || { cat "$work/bed.log" >&2; exit 1; }
# shellcheck disable=SC1091
. "$work/bed/env.sh"
base=$ENVBUILD_TEST_BASE
export DOCKER_HOST=$ENVBUILD_TEST_DOCKER_HOST
unset BUILDKIT_HOST
[[ -n $DOCKER_HOST ]] || { echo "bench-big: the test bed has no dockerd (see $work/bed.log)" >&2; exit 1; }
dockerd_version=$(docker version --format '{{.Server.Version}}')
containerd_version=$(containerd --version | awk '{print $3}')

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The lock, from the package index, for both pins; then the mirror.
specargs() { for r in $spec "$pin==$1"; do printf -- '--pypi\n%s\n' "$r"; done; }
lockdir() { # lockdir NAME VERSION ARGS...: envbuild.lock in $work/NAME
  local name=$1 version=$2; shift 2
  mkdir -p "$work/$name"
  mapfile -t a < <(specargs "$version")
  (cd "$work/$name" && XDG_CACHE_HOME=$work/lockcache "$root/bin/envbuild" lock "${a[@]}" "$@" >/dev/null 2>"$work/$name/lock.log")
}
lockdir pypi-from "$from" --python 3.11 --platform linux/amd64
lockdir pypi-to "$to" --python 3.11 --platform linux/amd64
t0=$(now)
python3 scripts/bench-big-mirror.py "$mirror" "$work/pypi-from/envbuild.lock" "$work/pypi-to/envbuild.lock" 2>"$work/mirror.log"
log "mirror filled in $(since "$t0") s ($(tail -1 "$work/mirror.log"))"
port=$(freeport)
python3 scripts/bench-mirror-serve.py "$mirror" "$port" >"$work/http.log" 2>&1 &
pids+=($!)
index=http://127.0.0.1:$port/simple
for _ in $(seq 50); do curl -sf "$index/" >/dev/null && break; sleep 0.1; done

# The builds' locks, from the mirror (same pins: the mirror holds only them),
# and the uv peer's requirements exported from them.
lockdir from "$from" --base "$base" --index-url "$index"
lockdir to "$to" --base "$base" --index-url "$index"
for v in from to; do
  ver=$from; [[ $v == to ]] && ver=$to
  mapfile -t a < <(specargs "$ver")
  (cd "$work/$v" && XDG_CACHE_HOME=$work/lockcache "$root/bin/envbuild" lock "${a[@]}" --base "$base" --index-url "$index" --export requirements >requirements.txt 2>/dev/null)
done
read -r npkg gb < <(python3 - "$work/from/envbuild.lock" <<'PY'
import sys, tomllib
pk = tomllib.load(open(sys.argv[1], "rb"))["env"][0]["target"][0]["package"]
print(len(pk), f"{sum(p.get('size', 0) for p in pk)/1e9:.2f}")
PY
)

# The uv peer: the fairest Dockerfile (uv pip install --no-deps of the same
# lock, a cache mount, bytecode compiled), from the same mirror.
mkdir -p "$work/uvctx"
cp "$uvdir/bin/uv" "$work/uvctx/uv"
cat >"$work/uvctx/Dockerfile" <<EOF
FROM $base
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:\$PATH
COPY requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/uv \\
    --mount=type=bind,source=uv,target=/usr/local/bin/uv \\
    UV_LINK_MODE=copy uv pip install --no-deps --compile-bytecode --index-url $index \\
    --python /opt/venv/bin/python -r /tmp/requirements.txt
EOF

bkpid=
freshbk() { bench_buildkitd "$1"; } # sets addr, bkpid
stopbk() { # stopbk NAME PID: prints its peak memory (VmHWM, kB), removes its state
  local hwm
  hwm=$(awk '/VmHWM/ {print $2}' "/proc/$2/status" 2>/dev/null || echo 0)
  kill "$2" 2>/dev/null || true
  wait "$2" 2>/dev/null || true
  rm -rf "$work/bk-$1"
  echo "${hwm:-0}"
}
regpid=
freshreg() { # freshreg DIR: an empty registry; sets reg, regpid
  local d=$1 p
  p=$(freeport)
  mkdir -p "$d/storage"
  cat >"$d/config.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $d/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$p
EOF
  docker-registry serve "$d/config.yml" >"$d/log" 2>&1 &
  regpid=$!
  pids+=("$regpid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$p/v2/" >/dev/null && break; sleep 0.1; done
  reg=127.0.0.1:$p
}
stopreg() { kill "$regpid" 2>/dev/null || true; wait "$regpid" 2>/dev/null || true; rm -rf "$1"; }

# EB_ARGS is split into flags on purpose.
# shellcheck disable=SC2086
envbuild_build() { # envbuild_build NAME LOCKDIR ADDR COMP REPO [ARGS...]: sets secs, rss, json
  local name=$1 lock=$2 a=$3 comp=$4 repo=$5; shift 5
  local dir=$work/run-$name ver=$from
  [[ $lock == to ]] && ver=$to
  rm -rf "$dir"; mkdir -p "$dir"
  cp "$work/$lock/envbuild.lock" "$dir/"
  mapfile -t sa < <(specargs "$ver")
  local t0 j0; t0=$(now); j0=$(jiffies)
  (cd "$dir" && XDG_CACHE_HOME=$dir/xdg /usr/bin/time -v -o "$dir/time" "$root/bin/envbuild" build --locked --json --progress plain \
    "${sa[@]}" --index-url "$index" --base "$base" --buildkit-addr "$a" \
    --compression "$comp" --registry "$repo" ${EB_ARGS:-} "$@" >"$dir/result.json" 2>"$dir/log") || { log "envbuild $name failed: $(tail -5 "$dir/log")"; return 1; }
  secs=$(since "$t0")
  cpu=$(cpusince "$j0")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$dir/time")
  json=$(cat "$dir/result.json")
}
jf() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2"; }

uv_build() { # uv_build NAME LOCKDIR ADDR COMP REF: sets secs, digest
  local name=$1 lock=$2 a=$3 comp=$4 ref=$5
  cp "$work/$lock/requirements.txt" "$work/uvctx/requirements.txt"
  local t0 j0; t0=$(now); j0=$(jiffies)
  bin/buildctl --addr "$a" build --progress plain --frontend dockerfile.v0 \
    --local context="$work/uvctx" --local dockerfile="$work/uvctx" \
    --output "type=image,name=$ref,push=true,registry.insecure=true,compression=$comp,oci-mediatypes=true" \
    --metadata-file "$work/uv-$name.json" >"$work/uv-$name.log" 2>&1 || { log "uv $name failed: $(tail -5 "$work/uv-$name.log")"; return 1; }
  secs=$(since "$t0")
  cpu=$(cpusince "$j0")
  digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["containerimage.digest"])' "$work/uv-$name.json")
}
# The compressed bytes of an image's layers (all of them, base included).
imagebytes() { # imagebytes REPO DIGEST
  python3 - "http://${1%%/*}/v2/${1#*/}/manifests/" "$2" <<'PY'
import json, sys, urllib.request
accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json"
def get(ref):
    return json.load(urllib.request.urlopen(urllib.request.Request(sys.argv[1] + ref, headers={"Accept": accept})))
m = get(sys.argv[2])
if "manifests" in m:  # an index: the linux/amd64 image
    m = get(next(d["digest"] for d in m["manifests"] if d.get("platform", {}).get("architecture") == "amd64"))
print(len(m["layers"]), sum(l["size"] for l in m["layers"]))
PY
}

pull_import() { # pull_import IMAGE: sets pull_s, import_s (or pull_err)
  docker rm -f $(docker ps -aq) >/dev/null 2>&1 || true
  docker image prune -af >/dev/null 2>&1 || true
  local t0; t0=$(now)
  pull_err=
  if ! docker pull -q "$1" >"$work/pull.log" 2>&1; then
    pull_err=$(tail -1 "$work/pull.log" | tr '\t' ' ')
    return 0
  fi
  pull_s=$(since "$t0")
  t0=$(now)
  docker run --rm --network none "$1" python3 -c "import $import_mods" >"$work/import.log" 2>&1 || { pull_err="import failed: $(tail -1 "$work/import.log")"; return 0; }
  import_s=$(since "$t0")
  docker image prune -af >/dev/null 2>&1 || true
}
# ctr_pull_import IMAGE: a fresh containerd (its own root, started empty)
# pulls and unpacks IMAGE, then runs the import once: sets pull_s,
# import_s (or pull_err). containerd unpacks zstd layers, which Debian's
# dockerd 20.10 refuses.
ctr_pull_import() {
  local d=$work/ctd pid t0
  rm -rf "$d"; mkdir -p "$d"
  printf '%s\n' 'version = 2' "root = \"$d/root\"" "state = \"$d/state\"" \
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]' \
    '[grpc]' "  address = \"$d/sock\"" '[ttrpc]' "  address = \"$d/sock.ttrpc\"" >"$d/config.toml"
  containerd --config "$d/config.toml" >"$d/log" 2>&1 &
  pid=$!
  pids+=("$pid")
  for _ in $(seq 100); do [[ -S $d/sock ]] && break; sleep 0.1; done
  pull_err=
  t0=$(now)
  if ! ctr -a "$d/sock" -n bench images pull --plain-http --platform linux/amd64 "$1" >"$work/ctr-pull.log" 2>&1; then
    pull_err=$(tail -1 "$work/ctr-pull.log" | tr '\t' ' ')
  else
    pull_s=$(since "$t0")
    t0=$(now)
    if ctr -a "$d/sock" -n bench run --rm "$1" bench-import python3 -c "import $import_mods" >"$work/ctr-import.log" 2>&1; then
      import_s=$(since "$t0")
    else
      pull_err="import failed: $(tail -1 "$work/ctr-import.log" | tr '\t' ' ')"
    fi
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$d"
}
# pull_record TOOL IMAGE: pulls and imports IMAGE with dockerd (pull_import)
# and, unless CONTAINERD=0, with containerd (ctr_pull_import), and records
# each pull, or the error that refused it.
pull_record() {
  pull_import "$2"
  if [[ -n $pull_err ]]; then
    record "$comp" pull "$1" "$r" 0 "error=$pull_err"
  else
    record "$comp" pull "$1" "$r" "$pull_s" "import=$import_s"
  fi
  [[ ${CONTAINERD:-1} == 1 ]] || return 0
  ctr_pull_import "$2"
  if [[ -n $pull_err ]]; then
    record "$comp" pull-containerd "$1" "$r" 0 "error=$pull_err"
  else
    record "$comp" pull-containerd "$1" "$r" "$pull_s" "import=$import_s"
  fi
}

# The physical floor: each stage alone with plain tools, then all stages
# overlapped in two lanes (largest files first).
floor() { # floor COMP
  local comp=$1 f=$work/floor t0 d
  rm -rf "$f"; mkdir -p "$f/dl" "$f/site" "$f/z"
  python3 - "$work/from/envbuild.lock" "$index" >"$f/list" <<'PY'
import sys, tomllib
pk = tomllib.load(open(sys.argv[1], "rb"))["env"][0]["target"][0]["package"]
for p in sorted(pk, key=lambda p: -p["size"]):
    print(p["name"], sys.argv[2].removesuffix("/simple") + "/files/" + p["filename"], p["filename"])
PY
  local zcmd="pigz -6 -p2" zcmd1="pigz -6 -p1" ext=gz
  if [[ $comp == zstd ]]; then zcmd="zstd -3 -T2 -q -c"; zcmd1="zstd -3 -T1 -q -c"; ext=zst; fi
  t0=$(now)
  awk '{print $2}' "$f/list" | xargs -P4 -n1 curl -sf -O --output-dir "$f/dl"
  record "$comp" floor-fetch curl 1 "$(since "$t0")"
  t0=$(now)
  awk '{print $1, $3}' "$f/list" | xargs -P2 -n2 sh -c 'unzip -q -o -d "$0/site/$1" "$0/dl/$2"' "$f"
  record "$comp" floor-unpack unzip 1 "$(since "$t0")"
  t0=$(now)
  python3 -m compileall -q -j2 "$f/site" >/dev/null 2>&1 || true
  record "$comp" floor-compile compileall 1 "$(since "$t0")"
  local raw; raw=$(du -sb "$f/site" | cut -f1)
  t0=$(now)
  for d in "$f"/site/*; do tar -C "$d" -cf - . | $zcmd >"$f/z/$(basename "$d").tar.$ext"; done
  record "$comp" floor-compress "${zcmd%% *}" 1 "$(since "$t0")" "raw=$raw" "compressed=$(du -scb "$f"/z/* | tail -1 | cut -f1)"
  for z in "$f"/z/*; do sha256sum "$z" | cut -d' ' -f1 >"$z.sha"; done
  freshreg "$work/floorreg"
  t0=$(now)
  ls "$f"/z/*.$ext | REG=$reg xargs -P4 -n1 sh -c 'loc=$(curl -sf -X POST -D - -o /dev/null "http://$REG/v2/floor/blobs/uploads/" | tr -d "\r" | awk -F": " "tolower(\$1)==\"location\" {print \$2}"); case $loc in http*) ;; *) loc="http://$REG$loc";; esac; curl -sf -X PUT -H "Content-Type: application/octet-stream" -T "$0" "$loc&digest=sha256:$(cat "$0.sha")" -o /dev/null'
  record "$comp" floor-push curl 1 "$(since "$t0")"
  stopreg "$work/floorreg"
  # Overlapped: two lanes, each package fetched, unpacked, compiled,
  # compressed and pushed in turn.
  rm -rf "$f/dl" "$f/site" "$f/z"; mkdir -p "$f/dl" "$f/site" "$f/z"
  freshreg "$work/floorreg"
  t0=$(now)
  ZCMD=$zcmd1 EXT=$ext REG=$reg F=$f xargs -P2 -L1 sh -c '
    curl -sf -o "$F/dl/$2" "$1" &&
    unzip -q -o -d "$F/site/$0" "$F/dl/$2" &&
    { python3 -m compileall -q "$F/site/$0" >/dev/null 2>&1 || true; } &&
    tar -C "$F/site/$0" -cf - . | $ZCMD >"$F/z/$0.tar.$EXT" &&
    sum=$(sha256sum "$F/z/$0.tar.$EXT" | cut -d" " -f1) &&
    loc=$(curl -sf -X POST -D - -o /dev/null "http://$REG/v2/floor/blobs/uploads/" | tr -d "\r" | awk -F": " "tolower(\$1)==\"location\" {print \$2}") &&
    case $loc in http*) ;; *) loc="http://$REG$loc";; esac &&
    curl -sf -X PUT -H "Content-Type: application/octet-stream" -T "$F/z/$0.tar.$EXT" "$loc&digest=sha256:$sum" -o /dev/null' <"$f/list"
  record "$comp" floor-overlapped "2 lanes" 1 "$(since "$t0")"
  stopreg "$work/floorreg"
  rm -rf "$f"
}

round=0
declare -A nround=()
for comp in $rounds; do
  if ((deadline > 0)) && (($(date +%s) > deadline)); then
    log "DEADLINE passed: no round after $round"
    break
  fi
  round=$((round + 1))
  nround[$comp]=$((${nround[$comp]:-0} + 1))
  # RUN_BASE numbers the runs of a later invocation after an earlier one's
  # (RESULTS appended to): the floor and the uv pin change go with run 1.
  r=$((${nround[$comp]} + ${RUN_BASE:-0}))
  if ((r == 1)) && [[ " $floors " == *" $comp "* ]]; then floor "$comp"; fi
  freshreg "$work/reg"
  # ORDER is the first round's; ALTERNATE=0 keeps it in every round.
  order=${ORDER:-"envbuild uv"}
  if ((${ALTERNATE:-1} && round % 2 == 0)); then
    order=$(echo "$order" | awk '{print $2, $1}')
  fi
  for tool in $order; do
    if [[ $tool == envbuild ]]; then
      freshbk eb; ebpid=$bkpid; ebaddr=$addr
      if envbuild_build cold from "$ebaddr" "$comp" "$reg/eb/torch"; then
        image=$(jf "$json" image)
        read -r nl bytes < <(imagebytes "$reg/eb/torch" "$(jf "$json" digest)")
        record "$comp" cold envbuild "$r" "$secs" "cpu_s=$cpu" "rss_kb=$rss" "pushed=$(jf "$json" pushed_bytes)" "layers=$nl" "image_bytes=$bytes"
        # A teammate's fresh builder: the team layer cache the cold build
        # wrote (read only, so that the warm run below does not find this
        # run's layers), pushing to another repository.
        freshbk ebf; pid=$bkpid
        if envbuild_build freshpin to "$addr" "$comp" "$reg/eb-ci/torch" --layer-cache read --layer-cache-repo "$reg/eb/torch"; then
          record "$comp" pin-fresh envbuild "$r" "$secs" "rss_kb=$rss" "pushed=$(jf "$json" pushed_bytes)" "built=$(jf "$json" layers_built)" "reused=$(jf "$json" layers_reused)"
        fi
        stopbk ebf "$pid" >/dev/null
        if envbuild_build warmpin to "$ebaddr" "$comp" "$reg/eb/torch"; then
          record "$comp" pin-warm envbuild "$r" "$secs" "rss_kb=$rss" "pushed=$(jf "$json" pushed_bytes)" "built=$(jf "$json" layers_built)"
        fi
        hwm=$(stopbk eb "$ebpid")
        record "$comp" buildkitd-hwm envbuild "$r" 0 "hwm_kb=$hwm"
        pull_record envbuild "$image"
      fi
    else
      freshbk uv; uvpid=$bkpid; uvaddr=$addr
      if uv_build cold from "$uvaddr" "$comp" "$reg/uv/torch:cold"; then
        read -r nl bytes < <(imagebytes "$reg/uv/torch" "$digest")
        record "$comp" cold uv "$r" "$secs" "cpu_s=$cpu" "layers=$nl" "image_bytes=$bytes"
        image=$reg/uv/torch@$digest
        if ((r <= uv_pin_runs)) && uv_build warmpin to "$uvaddr" "$comp" "$reg/uv/torch:pin"; then
          record "$comp" pin-warm uv "$r" "$secs"
        fi
        hwm=$(stopbk uv "$uvpid")
        record "$comp" buildkitd-hwm uv "$r" 0 "hwm_kb=$hwm"
        pull_record uv "$image"
      else
        stopbk uv "$uvpid" >/dev/null
      fi
    fi
  done
  stopreg "$work/reg"
done

python3 scripts/bench-big-report.py "$results" \
  --date "$(date -u '+%Y-%m-%d %H:%M UTC')" --checkout "$(git describe --always --dirty)" \
  --spec "$spec $pin" --packages "$npkg" --gb "$gb" --dockerd "$dockerd_version" --containerd "$containerd_version" \
  --cores "$(nproc)" --envbuild-args="${EB_ARGS:-}" --machine "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1e6}' /proc/meminfo), $(uname -r)" >"$out"
cat "$out"
exit
}
