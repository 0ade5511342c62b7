#!/usr/bin/env python3
"""The loopback mirror of make bench-big (scripts/bench-big.sh).

    bench-big-mirror.py DIR LOCK...

downloads every file the envbuild.lock files LOCK... name into DIR/files
(once: a file already there with the locked sha256 is kept; every download
is checked against the lock's sha256 before it is kept), and writes a PEP 503
simple index of exactly those files in DIR/simple, with each wheel's METADATA
served beside it as PEP 658/714 FILE.metadata, so that a resolver reads
metadata without fetching a 900 MB wheel. Serve DIR with any static HTTP
server (python3 -m http.server) and point --index-url / uv at
http://127.0.0.1:PORT/simple.
"""

import concurrent.futures
import hashlib
import html
import json
import os
import re
import sys
import tomllib
import urllib.request
import zipfile


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def packages(lock_path):
    with open(lock_path, "rb") as f:
        doc = tomllib.load(f)
    for env in doc.get("env", []):
        for target in env.get("target", []):
            for p in target.get("package", []):
                if p.get("url") and p.get("sha256"):
                    yield p


def sha256_of(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(p, files):
    dest = os.path.join(files, p["filename"])
    if os.path.exists(dest) and sha256_of(dest) == p["sha256"]:
        return dest, False
    tmp = dest + ".part"
    h = hashlib.sha256()
    with urllib.request.urlopen(p["url"], timeout=300) as r, open(tmp, "wb") as out:
        for chunk in iter(lambda: r.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
    if h.hexdigest() != p["sha256"]:
        os.unlink(tmp)
        raise SystemExit(f"mirror: {p['filename']}: sha256 {h.hexdigest()}, the lock says {p['sha256']}")
    os.replace(tmp, dest)
    return dest, True


def metadata(wheel):
    with zipfile.ZipFile(wheel) as z:
        for n in z.namelist():
            parts = n.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return z.read(n)
    raise SystemExit(f"mirror: {wheel} has no .dist-info/METADATA")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    root, locks = sys.argv[1], sys.argv[2:]
    files = os.path.join(root, "files")
    os.makedirs(files, exist_ok=True)
    pkgs = {}
    for lock in locks:
        for p in packages(lock):
            pkgs[p["filename"]] = p
    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        futs = {ex.submit(fetch, p, files): p for p in pkgs.values()}
        for fut in concurrent.futures.as_completed(futs):
            dest, fetched = fut.result()
            if fetched:
                print(f"mirror: fetched {os.path.basename(dest)}", file=sys.stderr)
    by_project = {}
    for p in pkgs.values():
        by_project.setdefault(normalize(p["name"]), []).append(p)
    simple = os.path.join(root, "simple")
    os.makedirs(simple, exist_ok=True)
    for project, ps in sorted(by_project.items()):
        d = os.path.join(simple, project)
        os.makedirs(d, exist_ok=True)
        links = []
        jfiles = []
        for p in sorted(ps, key=lambda p: p["filename"]):
            attrs = ""
            jf = {"filename": p["filename"], "url": f"../../files/{p['filename']}", "hashes": {"sha256": p["sha256"]}}
            if p.get("size"):
                jf["size"] = p["size"]
            if p["filename"].endswith(".whl"):
                meta_path = os.path.join(files, p["filename"] + ".metadata")
                if not os.path.exists(meta_path):
                    with open(meta_path, "wb") as f:
                        f.write(metadata(os.path.join(files, p["filename"])))
                mh = sha256_of(meta_path)
                attrs = f' data-dist-info-metadata="sha256={mh}" data-core-metadata="sha256={mh}"'
                jf["core-metadata"] = {"sha256": mh}
            jfiles.append(jf)
            href = f"../../files/{html.escape(p['filename'])}#sha256={p['sha256']}"
            links.append(f'<a href="{href}"{attrs}>{html.escape(p["filename"])}</a><br/>')
        with open(os.path.join(d, "index.html"), "w") as f:
            f.write("<!DOCTYPE html>\n<html><body>\n" + "\n".join(links) + "\n</body></html>\n")
        # PEP 691 JSON with PEP 700 sizes, as PyPI serves it
        # (bench-mirror-serve.py answers with it when asked).
        with open(os.path.join(d, "index.json"), "w") as f:
            json.dump({"meta": {"api-version": "1.1"}, "name": project, "files": jfiles}, f)
    with open(os.path.join(simple, "index.html"), "w") as f:
        f.write("<!DOCTYPE html>\n<html><body>\n")
        for project in sorted(by_project):
            f.write(f'<a href="{project}/">{project}</a><br/>\n')
        f.write("</body></html>\n")
    total = sum(p.get("size", 0) for p in pkgs.values())
    print(f"mirror: {len(pkgs)} files, {total / 1e9:.2f} GB in {files}", file=sys.stderr)


if __name__ == "__main__":
    main()
