"""--environment=envbuild: run each step in the image envbuild built for it."""

import inspect
import json
import os

from metaflow.exception import MetaflowException
from metaflow.metaflow_environment import MetaflowEnvironment

ENV_TYPE = "envbuild"

# Where envbuild installs every environment: the same prefix in every image.
ENV_PREFIX = "/opt/envbuild/env"

# Path of the JSON printed by `envbuild flow build --json`.
IMAGES_VAR = "ENVBUILD_FLOW_IMAGES"

REMOTE_DECORATORS = ("kubernetes", "batch")


class EnvbuildException(MetaflowException):
    headline = "envbuild"


def images_path(flow_file):
    """$ENVBUILD_FLOW_IMAGES, else FLOW.envbuild.json beside the flow file."""
    explicit = os.environ.get(IMAGES_VAR)
    if explicit:
        return explicit
    return os.path.splitext(os.path.abspath(flow_file))[0] + ".envbuild.json"


def load_images(path):
    """The per-step results of `envbuild flow build --json`, by step name."""
    with open(path, "r", encoding="utf-8") as f:
        try:
            doc = json.load(f)
        except ValueError as e:
            raise EnvbuildException("reading %s: not JSON: %s" % (path, e))
    steps = doc.get("steps") if isinstance(doc, dict) else None
    if not isinstance(steps, dict):
        raise EnvbuildException(
            'reading %s: no "steps" object; write it with '
            "`envbuild flow build FLOW.py --json > %s`" % (path, path)
        )
    return steps


class EnvbuildEnvironment(MetaflowEnvironment):
    TYPE = ENV_TYPE

    def __init__(self, flow):
        self.flow = flow
        self.datastore_type = None
        self.local_root = None
        self._images = None
        self._images_path = None
        # Steps that run in an envbuild environment (not disabled, remote).
        self._env_steps = set()

    # Metaflow's hooks -----------------------------------------------------

    def validate_environment(self, logger, datastore_type):
        self.datastore_type = datastore_type

    def decospecs(self):
        return ("envbuild_internal",) + super(EnvbuildEnvironment, self).decospecs()

    def set_local_root(self, local_root):
        # Asked for by @pypi/@conda; envbuild creates nothing locally.
        self.local_root = local_root

    def is_disabled(self, step):
        for deco in step.decorators:
            if deco.name in ("conda", "pypi"):
                return str(deco.attributes.get("disabled")).lower() == "true"
        return False

    def init_environment(self, echo, only_steps=None):
        # Called when a run or a deployment packages the flow, after the
        # scheduler integrations attached their @kubernetes/@batch: every
        # remote step must have its image by then.
        for step in self.flow:
            if only_steps is not None and step.name not in only_steps:
                continue
            image = self.assign_image(step.name, step.decorators, None, required=True)
            if image:
                echo("envbuild: step *%s* runs in %s" % (step.name, image))

    def executable(self, step_name, default=None):
        if step_name in self._env_steps:
            entry = self._step_entry(step_name) or {}
            python = entry.get("python") or os.path.join(ENV_PREFIX, "bin", "python")
            # -s: the user's site-packages must not leak into the environment.
            return "%s -s" % python
        return super(EnvbuildEnvironment, self).executable(step_name, default)

    def interpreter(self, step_name):
        return None

    def bootstrap_commands(self, step_name, datastore_type):
        cmds = super(EnvbuildEnvironment, self).bootstrap_commands(step_name, datastore_type)
        if step_name in self._env_steps:
            # Command-line tools of conda packages, as @conda puts them on PATH.
            cmds = cmds + ["export PATH=%s/bin:$PATH" % ENV_PREFIX]
        return cmds

    def pylint_config(self):
        config = super(EnvbuildEnvironment, self).pylint_config()
        # The step's packages are in its image, not here.
        config.append("--disable=F0401")
        return config

    def get_environment_info(self, include_ext_info=False):
        info = super(EnvbuildEnvironment, self).get_environment_info(include_ext_info)
        if self._images_path:
            info["envbuild_images"] = os.path.basename(self._images_path)
        return info

    # envbuild -------------------------------------------------------------

    def _load(self, required):
        if self._images is not None:
            return self._images
        path = images_path(inspect.getfile(self.flow.__class__))
        if not os.path.exists(path):
            if not required:
                return None
            raise EnvbuildException(
                "no envbuild images for flow *%s*: %s does not exist. Build them with "
                "`envbuild flow build %s --json > %s`, or point %s at that JSON."
                % (
                    self.flow.name,
                    path,
                    os.path.basename(inspect.getfile(self.flow.__class__)),
                    path,
                    IMAGES_VAR,
                )
            )
        self._images_path = path
        self._images = load_images(path)
        return self._images

    def _step_entry(self, step_name, required=False):
        images = self._load(required)
        if images is None:
            return None
        entry = images.get(step_name)
        if entry is None and required:
            raise EnvbuildException(
                "step *%s* has no image in %s; the flow changed since it was built: "
                "run `envbuild flow build` again" % (step_name, self._images_path)
            )
        return entry

    def assign_image(self, step_name, decos, logger, required=False):
        """Set the image of the step's @kubernetes/@batch from envbuild's JSON
        and return it; None when the step runs locally or, unless required,
        when there is no JSON (inside a task)."""
        remote = [d for d in decos if d.name in REMOTE_DECORATORS]
        env_decos = [d for d in decos if d.name in ("pypi", "conda")]
        disabled = any(
            str(d.attributes.get("disabled")).lower() == "true" for d in env_decos
        )
        if not remote:
            if logger is not None and env_decos and not disabled:
                logger(
                    "envbuild: step *%s* runs locally, with this Python and without "
                    "its envbuild image; run it with --with kubernetes or --with batch "
                    "to use the image." % step_name,
                    bad=True,
                )
            return None
        # Inside a task (the `step` command) there is no JSON and no need for it.
        entry = self._step_entry(step_name, required=required)
        if entry is None:
            return None
        image = entry.get("image")
        if not image:
            where = entry.get("oci_layout")
            raise EnvbuildException(
                "step *%s* has no pushed image in %s%s; build with a repository "
                "(envbuild flow build --registry …) so the cluster can pull it"
                % (step_name, self._images_path, " (built to %s)" % where if where else "")
            )
        for deco in remote:
            deco.attributes["image"] = image
        # A step without @pypi/@conda, or with them disabled, runs in its base
        # image with the image's own Python.
        if env_decos and not disabled and not entry.get("disabled"):
            self._env_steps.add(step_name)
        else:
            self._env_steps.discard(step_name)
        return image
