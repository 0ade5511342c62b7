#!/usr/bin/env python3
"""Write a wheel of envbuild for one platform: the envbuild binary, a
console script that runs it, and the metaflow-envbuild extension.

    python3 packaging/wheel.py --binary dist/envbuild-linux-amd64 \
        --platform linux/amd64 --version 0.1.0 --out dist/

Standard library only, so `make dist` needs nothing but Python. The wheel
format (PEP 427/491): a zip with NAME-VERSION.dist-info/{METADATA, WHEEL,
entry_points.txt, RECORD}; RECORD lists each file's urlsafe-base64 sha256
and size. Entries are sorted and dated 1980-01-01, so the same inputs give
the same wheel bytes.
"""
import argparse
import base64
import hashlib
import io
import os
import re
import sys
import zipfile

# Platform tags: the oldest glibc/macOS the Go binaries run on (Go's own
# minimums), so pip takes them on any current system.
TAGS = {
    "linux/amd64": "manylinux_2_17_x86_64.manylinux2014_x86_64",
    "linux/arm64": "manylinux_2_17_aarch64.manylinux2014_aarch64",
    "darwin/amd64": "macosx_11_0_x86_64",
    "darwin/arm64": "macosx_11_0_arm64",
}

LAUNCHER = '''"""envbuild, installed with pip: the binary beside this file."""
import os
import sys


def binary():
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "envbuild")


def main():
    exe = binary()
    try:
        os.execv(exe, [exe] + sys.argv[1:])
    except OSError as e:
        sys.stderr.write("envbuild: cannot run %s: %s\\n" % (exe, e))
        return 126
'''


def record_hash(data):
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build(binary, platform, version, out, extension):
    if platform not in TAGS:
        sys.exit("wheel.py: unknown platform %r; want one of %s" % (platform, ", ".join(sorted(TAGS))))
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*([ab]|rc|\.dev)?[0-9]*(\+[A-Za-z0-9.]+)?", version):
        sys.exit("wheel.py: %r is not a PEP 440 version" % version)
    tag = "py3-none-" + TAGS[platform]
    distinfo = "envbuild-%s.dist-info" % version
    files = {}  # archive name -> (bytes, executable)
    with open(binary, "rb") as f:
        files["envbuild_bin/envbuild"] = (f.read(), True)
    files["envbuild_bin/__init__.py"] = (LAUNCHER.encode(), False)
    for root, dirs, names in os.walk(extension):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in sorted(names):
            if n.endswith((".pyc", ".pyo")):
                continue
            p = os.path.join(root, n)
            rel = os.path.relpath(p, os.path.dirname(extension)).replace(os.sep, "/")
            with open(p, "rb") as f:
                files[rel] = (f.read(), False)
    files[distinfo + "/METADATA"] = (((
        "Metadata-Version: 2.1\n"
        "Name: envbuild\n"
        "Version: %s\n"
        "Summary: Build the container images Python data and ML workflows run in\n"
        "License: Apache-2.0\n"
        "Requires-Python: >=3.8\n"
        "Provides-Extra: metaflow\n"
        "Requires-Dist: metaflow>=2.12; extra == \"metaflow\"\n"
    ) % version).encode(), False)
    files[distinfo + "/WHEEL"] = (((
        "Wheel-Version: 1.0\nGenerator: envbuild packaging/wheel.py\nRoot-Is-Purelib: false\nTag: %s\n"
    ) % tag).encode(), False)
    files[distinfo + "/entry_points.txt"] = (b"[console_scripts]\nenvbuild = envbuild_bin:main\n", False)
    record = io.StringIO()
    for name in sorted(files):
        data = files[name][0]
        record.write("%s,%s,%d\n" % (name, record_hash(data), len(data)))
    record.write(distinfo + "/RECORD,,\n")
    files[distinfo + "/RECORD"] = (record.getvalue().encode(), False)

    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "envbuild-%s-%s.whl" % (version, tag))
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        # RECORD last, as installers expect the dist-info at the end.
        for name in sorted(files, key=lambda n: (n.startswith(distinfo), n.endswith("/RECORD"), n)):
            data, exe = files[name]
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o755 if exe else 0o644) | 0o100000) << 16
            z.writestr(info, data)
    os.replace(tmp, path)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", required=True)
    ap.add_argument("--platform", required=True, help="linux/amd64, linux/arm64, darwin/amd64 or darwin/arm64")
    ap.add_argument("--version", required=True)
    ap.add_argument("--out", default="dist")
    ap.add_argument("--extension", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "frontends", "metaflow", "extension", "metaflow_extensions"))
    a = ap.parse_args()
    print(build(a.binary, a.platform, a.version, a.out, os.path.normpath(a.extension)))


if __name__ == "__main__":
    main()
