"""Three steps on two envbuild environments (start and end share one),
each step on Kubernetes in its own image: each imports its environment's
packages at their locked versions, reads a file of the base image, cannot
import the base's packages, and passes an artifact to the next step."""

import json
import os
import sys

from metaflow import FlowSpec, pypi, step

SIX = {"six": "1.16.0"}
YAML = {"pyyaml": "6.0.2"}


def check(env_name, want):
    """What each step asserts about where it runs; returns a summary."""
    import importlib

    prefix = "/opt/envbuild/env"
    assert sys.prefix == prefix, "sys.prefix %s, not the environment's" % sys.prefix
    got = {}
    for module, (dist, version) in want.items():
        m = importlib.import_module(module)
        assert m.__file__.startswith(prefix + "/"), "%s from %s" % (module, m.__file__)
        from importlib.metadata import version as dist_version

        assert dist_version(dist) == version, "%s %s, want %s" % (dist, dist_version(dist), version)
        got[dist] = version
    # A file of the base image.
    with open("/etc/debian_version") as f:
        base_file = f.read().strip()
    # The base's own packages (Debian's python3-yaml, python3-six if any)
    # are not on the path.
    assert not [p for p in sys.path if "dist-packages" in p], sys.path
    if "yaml" not in want:
        try:
            import yaml  # noqa: F401

            raise AssertionError("the base's yaml is importable: %s" % yaml.__file__)
        except ImportError:
            pass
    import boto3  # Metaflow's datastore needs it: added to the environment

    assert boto3.__file__.startswith(prefix + "/"), boto3.__file__
    summary = {"env": env_name, "packages": got, "debian_version": base_file,
               "python": sys.executable, "boto3": boto3.__version__}
    print("ENVBUILD-CHECK " + json.dumps(summary, sort_keys=True))
    return summary


class ThreeEnvsFlow(FlowSpec):
    @pypi(python="3.11", packages=SIX)
    @step
    def start(self):
        self.first = check("six", {"six": ("six", "1.16.0")})
        self.trail = ["start"]
        self.next(self.middle)

    @pypi(python="3.11", packages=YAML)
    @step
    def middle(self):
        import yaml

        self.second = check("yaml", {"yaml": ("PyYAML", "6.0.2")})
        # The artifact the first step wrote, in another image.
        assert self.first["env"] == "six", self.first
        self.doc = yaml.safe_dump({"from_start": self.first["packages"]})
        self.trail = self.trail + ["middle"]
        self.next(self.end)

    @pypi(python="3.11", packages=SIX)
    @step
    def end(self):
        self.third = check("six", {"six": ("six", "1.16.0")})
        assert "six: 1.16.0" in self.doc, self.doc
        self.trail = self.trail + ["end"]
        print("ENVBUILD-E2E " + repr(self.trail))


if __name__ == "__main__":
    ThreeEnvsFlow()
