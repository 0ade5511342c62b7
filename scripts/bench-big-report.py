#!/usr/bin/env python3
"""Writes docs/BENCH-big.md from the results scripts/bench-big.sh appends.

Each line of RESULTS is tab-separated: compression, scenario, tool, run,
seconds, then KEY=VALUE fields.
"""

import argparse
import statistics


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            comp, scen, tool, run, secs = parts[:5]
            kv = dict(p.split("=", 1) for p in parts[5:] if "=" in p)
            rows.append({"comp": comp, "scen": scen, "tool": tool, "run": run, "secs": float(secs), **kv})
    return rows


def pick(rows, comp, scen, tool=None):
    return [r for r in rows if r["comp"] == comp and r["scen"] == scen and (tool is None or r["tool"] == tool)]


def med(rows, key="secs"):
    vals = [float(r[key]) for r in rows if r.get(key) not in (None, "")]
    if not vals:
        return None, 0
    return statistics.median(vals), len(vals)


def fmt(v, n=None, unit=" s"):
    if v is None:
        return "–"
    s = f"{v:.1f}{unit}"
    if n is not None and n != 3:
        s += f" (n={n})"
    return s


def ratio(a, b):
    if a is None or not b:
        return "–"
    return f"{a / b:.2f}x"


def pull_figures(rows, comp, scen):
    """Each tool's pulls of scenario scen: the median pull, import, their
    sum, and the median of each run's pull + import (with the counts); the
    pull's table cell (the refusal when every run was refused); whether any
    run was made."""
    out = {}
    for tool in ("envbuild", "uv"):
        pr = pick(rows, comp, scen, tool)
        errs = [r["error"] for r in pr if r.get("error")]
        ok = [r for r in pr if not r.get("error")]
        p, n = med(ok)
        i, ni = med(ok, "import")
        total, nt = med([{"secs": r["secs"] + float(r.get("import") or 0)} for r in ok])
        out[tool] = {"pull": p, "import": i, "ni": ni, "sum": None if p is None else p + (i or 0),
                     "total": total, "nt": nt, "tried": bool(pr),
                     "cell": f"refused: {errs[0]}" if errs and p is None else fmt(p, n)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    for k in ("date", "checkout", "spec", "packages", "gb", "dockerd", "containerd", "machine", "envbuild-args"):
        ap.add_argument("--" + k, default="")
    ap.add_argument("--cores", type=int, default=2)
    a = ap.parse_args()
    rows = load(a.results)
    comps = [c for c in ("gzip", "zstd") if any(r["comp"] == c for r in rows)]
    o = []
    w = o.append
    w("# A big ML environment at the physical limit")
    w("")
    w("Written by `make bench-big` (scripts/bench-big.sh); not run in CI.")
    w("")
    w(f"- date: {a.date}; checkout {a.checkout}; machine: {a.machine}, shared with other work (figures are noisy)")
    w(f"- spec: `{a.spec}` for CPython 3.11, linux/amd64: {a.packages} locked packages, {a.gb} GB of wheels; "
      "the base is the test bed's Debian bookworm (Python 3.11)")
    w("- every wheel is read from a loopback mirror filled once from the package index; "
      "each cold build runs on a buildkitd of its own started empty and pushes to a registry started empty; "
      "the two tools alternate who goes first")
    if a.envbuild_args:
        w(f"- every envbuild build ran with `{a.envbuild_args}`")
    w("- figures are medians of the runs made; (n=K) marks a median of K runs instead of 3")
    w("")
    for comp in comps:
        eb, nb = med(pick(rows, comp, "cold", "envbuild"))
        uv, nu = med(pick(rows, comp, "cold", "uv"))
        w(f"## {comp}")
        w("")
        w("| | envbuild | Dockerfile + uv | envbuild / uv |")
        w("| --- | ---: | ---: | ---: |")
        w(f"| cold build and push | {fmt(eb, nb)} | {fmt(uv, nu)} | {ratio(eb, uv)} |")
        pw, npw = med(pick(rows, comp, "pin-warm", "envbuild"))
        uw, nuw = med(pick(rows, comp, "pin-warm", "uv"))
        w(f"| `tzdata` pin changed, warm builder | {fmt(pw, npw)} | {fmt(uw, nuw)} | {ratio(pw, uw)} |")
        pf, npf = med(pick(rows, comp, "pin-fresh", "envbuild"))
        w(f"| `tzdata` pin changed, fresh builder (envbuild: team layer cache; uv: its cold build, see below) "
          f"| {fmt(pf, npf)} | {fmt(uv, nu)} | {ratio(pf, uv)} |")
        ebl = pick(rows, comp, "cold", "envbuild")
        uvl = pick(rows, comp, "cold", "uv")
        bl, _ = med(ebl, "layers")
        ul, _ = med(uvl, "layers")
        bb, _ = med(ebl, "image_bytes")
        ub, _ = med(uvl, "image_bytes")
        w(f"| image: layers, compressed bytes | {bl and int(bl)} layers, {fmt(bb and bb / 1e9, None, ' GB')} "
          f"| {ul and int(ul)} layers, {fmt(ub and ub / 1e9, None, ' GB')} | {ratio(bb, ub)} |")
        fr = pick(rows, comp, "pin-fresh", "envbuild")
        if fr:
            f0 = fr[0]
            w(f"| pin changed, fresh builder: layers built / reused, bytes pushed | {f0.get('built')} / {f0.get('reused')}, "
              f"{int(f0.get('pushed', 0)) / 1e6:.1f} MB | – | |")
        ec, nec = med(ebl, "cpu_s")
        uc, nuc = med(uvl, "cpu_s")
        if ec is not None or uc is not None:
            w(f"| CPU time of the cold build (every core of the machine, from /proc/stat) | {fmt(ec, nec)} | {fmt(uc, nuc)} | {ratio(ec, uc)} |")
            k = a.cores
            w(f"| that CPU time spread over the {k} cores: the fastest cold build it allows | {fmt(ec and ec / k, nec)} | {fmt(uc and uc / k, nuc)} | {ratio(ec and ec / k, uv)} of uv's cold build |")
        rss, nr = med(ebl, "rss_kb")
        w(f"| envbuild's peak memory (max RSS) | {fmt(rss and rss / 1024, nr, ' MB')} | – | |")
        hb, nhb = med(pick(rows, comp, "buildkitd-hwm", "envbuild"), "hwm_kb")
        hu, nhu = med(pick(rows, comp, "buildkitd-hwm", "uv"), "hwm_kb")
        w(f"| buildkitd's peak memory (VmHWM of a fresh buildkitd: the cold build, and for envbuild the warm pin change) | {fmt(hb and hb / 1024, nhb, ' MB')} "
          f"| {fmt(hu and hu / 1024, nhu, ' MB')} | {ratio(hb, hu)} |")
        d = pull_figures(rows, comp, "pull")
        e, u = d["envbuild"], d["uv"]
        w(f"| `docker pull` (dockerd {a.dockerd}) | {e['cell']} | {u['cell']} | {ratio(e['pull'], u['pull'])} |")
        w(f"| first `import torch, numpy, pandas` (`docker run`) | {fmt(e['import'])} | {fmt(u['import'])} "
          f"| {ratio(e['import'], u['import'])} |")
        w(f"| pull + first import | {fmt(e['sum'])} | {fmt(u['sum'])} | {ratio(e['sum'], u['sum'])} |")
        c = pull_figures(rows, comp, "pull-containerd")
        e, u = c["envbuild"], c["uv"]
        if e["tried"] or u["tried"]:
            w(f"| `ctr images pull` (a fresh containerd {a.containerd}, unpacked) | {e['cell']} | {u['cell']} | {ratio(e['pull'], u['pull'])} |")
            w(f"| first `import torch, numpy, pandas` (`ctr run`) | {fmt(e['import'], e['ni'])} | {fmt(u['import'], u['ni'])} "
              f"| {ratio(e['import'], u['import'])} |")
            w(f"| pull + first import (containerd) | {fmt(e['total'], e['nt'])} | {fmt(u['total'], u['nt'])} "
              f"| {ratio(e['total'], u['total'])} |")
        w("")
        stages = [("fetch (curl, 4 at a time, from the mirror)", "floor-fetch", False),
                  ("unpack (unzip, 2 at a time)", "floor-unpack", True),
                  ("compile bytecode (compileall -j2)", "floor-compile", True),
                  ("compress (one tar per package; " + ("pigz -6 -p2" if comp == "gzip" else "zstd -3 -T2") + ")", "floor-compress", True),
                  ("push (curl, 4 blobs at a time)", "floor-push", False)]
        total, cpu, have = 0.0, 0.0, 0
        w("| the physical floor, each stage alone | seconds |")
        w("| --- | ---: |")
        for label, scen, on_cpu in stages:
            v, n = med(pick(rows, comp, scen))
            if v is not None:
                total += v
                have += 1
                if on_cpu:
                    cpu += v
            w(f"| {label} | {fmt(v, n)} |")
        ov, nov = med(pick(rows, comp, "floor-overlapped"))
        full = have == len(stages)
        if full:
            w(f"| serial sum | {total:.1f} s |")
            w(f"| best overlap: unpack + compile + compress back to back (each already keeps both cores busy), fetch and push hidden under them | {cpu:.1f} s |")
        w(f"| measured overlap: two lanes, each package fetched, unpacked, compiled, compressed (one thread), pushed | {fmt(ov, nov)} |")
        w(f"| envbuild cold / best overlap | {ratio(eb, cpu if full else None)} |")
        w(f"| envbuild cold / serial sum | {ratio(eb, total if full else None)} |")
        comp_row = pick(rows, comp, "floor-compress")
        if comp_row and comp_row[0].get("raw") and comp_row[0].get("compressed"):
            w("")
            w(f"Installed size {int(comp_row[0]['raw']) / 1e9:.2f} GB, compressed by the floor's tool to "
              f"{int(comp_row[0]['compressed']) / 1e9:.2f} GB.")
        w("")
    w("## Runs")
    w("")
    w("| compression | scenario | tool | run | seconds | more |")
    w("| --- | --- | --- | ---: | ---: | --- |")
    for r in rows:
        more = ", ".join(f"{k}={v}" for k, v in r.items() if k not in ("comp", "scen", "tool", "run", "secs"))
        w(f"| {r['comp']} | {r['scen']} | {r['tool']} | {r['run']} | {r['secs']:.1f} | {more} |")
    print("\n".join(o))


if __name__ == "__main__":
    main()
