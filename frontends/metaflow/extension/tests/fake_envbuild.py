"""A stand-in for the envbuild binary in the extension's tests: records its
arguments in $FAKE_ENVBUILD_LOG (one JSON list per call) and prints what
`envbuild flow build --json` prints, every step getting
$FAKE_ENVBUILD_IMAGE (disabled steps too), with the inputs of its
arguments."""

import hashlib
import json
import os
import platform
import sys


def main(argv):
    with open(os.environ["FAKE_ENVBUILD_LOG"], "a") as f:
        f.write(json.dumps(argv) + "\n")
    flow = argv[3]  # argv: this script, flow, build, FLOW.py, flags
    withs, deps, i = [], "", 4
    while i < len(argv):
        if argv[i] == "--with":
            withs.append(argv[i + 1])
            i += 1
        elif argv[i] == "--metaflow-deps":
            deps = argv[i + 1]
            i += 1
        i += 1
    with open(flow, "rb") as f:
        digest = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    steps = {}
    for name in os.environ.get("FAKE_ENVBUILD_STEPS", "").split(","):
        steps[name] = {"image": os.environ["FAKE_ENVBUILD_IMAGE"], "cached": True}
    doc = {
        "steps": steps,
        "inputs": {"flow_sha256": digest, "with": withs, "metaflow_deps": deps,
                   "python": platform.python_version()},
    }
    if os.environ.get("FAKE_ENVBUILD_FAIL"):
        sys.stderr.write("fake envbuild: failing as asked\n")
        return 4
    json.dump(doc, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
