#!/usr/bin/env python3
"""Solve conda specs with py-rattler against one local repodata.json.

Used by envbuild's conformance test and benchmark (lock/conda/solve,
build tag `conformance`) to compare envbuild's solver with rattler's on the
same repodata. Prints one JSON object on stdout:

  {"records": [[name, version, build], ...],   # sorted by name
   "solve_ms": [...],   # each run: SparseRepoData already open, solve only
   "total_ms": [...],   # each run: open SparseRepoData + solve
   "error": "..."}      # instead of records when the solve fails

Usage: rattler_solve.py REPODATA_JSON[,REPODATA_JSON...] SUBDIR RUNS SPEC...

Several repodata files (comma separated) are channels in priority order,
named channel0, channel1, ...
"""
import asyncio
import json
import os
import sys
import time

import rattler


def main():
    paths, subdir, runs, specs = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    out = {"solve_ms": [], "total_ms": []}
    records = None
    try:
        for _ in range(runs):
            t0 = time.perf_counter()
            repos = [rattler.SparseRepoData(rattler.Channel("channel%d" % i), subdir, p)
                     for i, p in enumerate(paths)]
            t1 = time.perf_counter()
            records = asyncio.run(rattler.solve_with_sparse_repodata(
                specs, repos, virtual_packages=[],
                channel_priority=rattler.ChannelPriority.Strict))
            t2 = time.perf_counter()
            out["solve_ms"].append((t2 - t1) * 1000)
            out["total_ms"].append((t2 - t0) * 1000)
    except Exception as e:  # the solver's message is the result
        out["error"] = str(e)
    if records is not None:
        out["records"] = sorted(
            [r.name.normalized, str(r.version), str(r.build)] for r in records)
    json.dump(out, sys.stdout)
    sys.stdout.flush()
    # py-rattler's runtime threads can crash at interpreter teardown; the
    # answer is written, so leave without tearing down.
    os._exit(0)


if __name__ == "__main__":
    main()
