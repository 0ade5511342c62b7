#!/usr/bin/env python3
"""Time py-rattler's read+solve one run at a time, on request.

The conda benchmark (compare_test.go) starts this once and sends one line
per run: a JSON array of match specs. For each line it opens the repodata
with rattler.SparseRepoData (which reads records lazily), solves with
rattler.solve_with_sparse_repodata, and answers one JSON line:

  {"solve_ms": S, "total_ms": T, "records": [[name, version, build], ...]}
  {"error": "..."}      # when the solve fails

So the benchmark can take turns with envbuild run by run, and both see the
same load on a shared machine.

Usage: rattler_serve.py REPODATA_JSON SUBDIR
"""
import asyncio
import json
import os
import sys
import time

import rattler


def run(path, subdir, specs):
    t0 = time.perf_counter()
    repo = rattler.SparseRepoData(rattler.Channel("defaults"), subdir, path)
    t1 = time.perf_counter()
    records = asyncio.run(rattler.solve_with_sparse_repodata(
        specs, [repo], virtual_packages=[],
        channel_priority=rattler.ChannelPriority.Strict))
    t2 = time.perf_counter()
    return {"solve_ms": (t2 - t1) * 1000, "total_ms": (t2 - t0) * 1000,
            "records": sorted([r.name.normalized, str(r.version), str(r.build)] for r in records)}


def main():
    path, subdir = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        try:
            out = run(path, subdir, json.loads(line))
        except Exception as e:  # the solver's message is the answer
            out = {"error": str(e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()
    # py-rattler's runtime threads can crash at interpreter teardown; every
    # answer is written, so leave without tearing down.
    os._exit(0)


if __name__ == "__main__":
    main()
