"""--environment=envbuild: run each step in the image envbuild built for it."""

import hashlib
import inspect
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys

from metaflow.exception import MetaflowException
from metaflow.metaflow_environment import MetaflowEnvironment

ENV_TYPE = "envbuild"

# Where envbuild installs every environment: the same prefix in every image.
ENV_PREFIX = "/opt/envbuild/env"

# Path of the JSON printed by `envbuild flow build --json`.
IMAGES_VAR = "ENVBUILD_FLOW_IMAGES"

REMOTE_DECORATORS = ("kubernetes", "batch")

# ENVBUILD_FLOW_BUILD=0: do not run envbuild; use FLOW.envbuild.json (from
# CI's `envbuild flow build`) as it is, refusing it when it is stale.
BUILD_VAR = "ENVBUILD_FLOW_BUILD"
# The envbuild binary (default: envbuild on PATH) and extra arguments for
# `envbuild flow build` (shell words: --registry …, --insecure-registry …).
BINARY_VAR = "ENVBUILD"
ARGS_VAR = "ENVBUILD_FLOW_BUILD_ARGS"
# Set by a run for its step launchers (its subprocesses): the sha256 of the
# images JSON the run built or checked, which they may then use as it is.
VERIFIED_VAR = "ENVBUILD_FLOW_IMAGES_VERIFIED"


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
    return load_document(path)["steps"]


def load_document(path):
    """The whole JSON of `envbuild flow build --json`: steps and inputs."""
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
    return doc


def flow_digest(flow_file):
    with open(flow_file, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def stale_reasons(doc, flow_file, withs, datastore, python_version, configs=None):
    """Why the images in doc were not built for this run: the flow file's
    bytes (its decorators), the --with values, the datastore's packages or
    the interpreter (Metaflow's default image) differ from those recorded."""
    inputs = doc.get("inputs")
    if not isinstance(inputs, dict):
        return ["it records no inputs (written by an older envbuild)"]
    reasons = []
    if inputs.get("flow_sha256") != flow_digest(flow_file):
        reasons.append("the flow file changed since it was built")
    if inputs.get("configs_sha256") and inputs.get("configs_sha256") != configs:
        reasons.append("the flow's Config values changed since it was built")
    # Only kubernetes/batch change images (--with retry does not).
    built_withs = [
        w for w in inputs.get("with") or [] if w.split(":", 1)[0] in REMOTE_DECORATORS
    ]
    if built_withs != list(withs):
        reasons.append(
            "it was built --with %s, this run is --with %s"
            % (built_withs or "nothing", list(withs) or "nothing")
        )
    if (inputs.get("metaflow_deps") or "") != (datastore or ""):
        reasons.append(
            "it was built for the %s datastore, this run uses %s"
            % (inputs.get("metaflow_deps") or "no", datastore)
        )
    # Metaflow's default image is python:X.Y of the interpreter: X.Y counts.
    if inputs.get("python") and _major_minor(inputs.get("python")) != _major_minor(
        python_version
    ):
        reasons.append(
            "it was built for Python %s, this run's is %s"
            % (inputs.get("python"), python_version)
        )
    return reasons


def configs_digest(flow):
    """sha256 of the flow's Config values as Metaflow resolved them; None
    when the flow has none. envbuild's export_decorators.py records the same
    digest in FLOW.envbuild.json: keep the two equal."""
    try:
        from metaflow.flowspec import FlowStateItems

        configs = flow.__class__._flow_state[FlowStateItems.CONFIGS]
    except Exception:
        return None
    if not configs:
        return None
    values = {k: (v[0] if isinstance(v, tuple) else v) for k, v in configs.items()}
    data = json.dumps(values, sort_keys=True, default=str).encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _file_digest(path):
    with open(path, "rb") as f:
        return "sha256:" + hashlib.sha256(f.read()).hexdigest()


def launching_remote_step():
    """Whether this process is the client-side launcher of one remote task
    (`FLOW.py kubernetes step …` / `batch step …`, which a run starts for
    each task), as opposed to the task itself (`FLOW.py step …`)."""
    try:
        from metaflow._vendor import click

        ctx = click.get_current_context(silent=True)
    except ImportError:
        return False
    while ctx is not None and ctx.parent is not None:
        ctx = ctx.parent
    args = list(getattr(ctx, "saved_args", None) or []) if ctx is not None else []
    return len(args) >= 2 and args[0] in REMOTE_DECORATORS and args[1] == "step"


def _major_minor(version):
    return ".".join(str(version).split(".")[:2])


def run_decospecs():
    """The --with values of this command line (top level and run/resume
    level) and METAFLOW_DEFAULT_DECOSPECS, in Metaflow's order."""
    specs = []
    try:
        from metaflow._vendor import click

        ctx = click.get_current_context(silent=True)
    except ImportError:
        ctx = None
    chain = []
    while ctx is not None:
        chain.append(ctx)
        ctx = ctx.parent
    # run/resume level first, then top level, as before_run attaches them.
    for c in chain:
        for spec in c.params.get("decospecs") or ():
            if spec not in specs:
                specs.append(spec)
    try:
        from metaflow.metaflow_config import DEFAULT_DECOSPECS

        for spec in (DEFAULT_DECOSPECS or "").split():
            if spec not in specs:
                specs.append(spec)
    except ImportError:
        pass
    return specs


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
        # Called on the client when a run, a resume or a deployment
        # (argo-workflows create, step-functions create, …) packages the
        # flow, after the scheduler integrations attached their
        # @kubernetes/@batch; never inside a task. Every remote step must
        # have its image by then: envbuild builds what is missing first.
        self._ensure_images(echo, only_steps)
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

    def _get_install_dependencies_cmd(self, datastore_type):
        # Metaflow pip-installs its datastore's packages with the image's
        # python before every task. An envbuild environment has them (the
        # build adds them, as Metaflow's own environments do) and no pip:
        # install only when they are missing, i.e. on a step that runs on
        # its base image.
        cmd = super(EnvbuildEnvironment, self)._get_install_dependencies_cmd(datastore_type)
        modules = {"s3": "boto3, requests"}.get(datastore_type)
        if not modules:
            return cmd
        return "if ! %s -c 'import %s' >/dev/null 2>&1; then %s; fi" % (
            self._python(),
            modules,
            cmd,
        )

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

    def _flow_file(self):
        return os.path.abspath(inspect.getfile(self.flow.__class__))

    def _compute_withs(self, only_steps):
        """The --with values for `envbuild flow build`: this command line's,
        plus a bare kubernetes/batch for a compute decorator a scheduler
        attached (argo-workflows create attaches @kubernetes)."""
        withs = [w for w in run_decospecs() if w.split(":", 1)[0] in REMOTE_DECORATORS]
        given = set(w.split(":", 1)[0] for w in withs)
        for step in self.flow:
            if only_steps is not None and step.name not in only_steps:
                continue
            for deco in step.decorators:
                if (
                    deco.name in REMOTE_DECORATORS
                    and not deco.statically_defined
                    and deco.name not in given
                ):
                    withs.append(deco.name)
                    given.add(deco.name)
        return withs

    def _has_remote_steps(self, only_steps):
        for step in self.flow:
            if only_steps is not None and step.name not in only_steps:
                continue
            if any(d.name in REMOTE_DECORATORS for d in step.decorators):
                return True
        return False

    def _ensure_images(self, echo, only_steps):
        if not self._has_remote_steps(only_steps):
            return  # every step runs here, with this Python: no image needed
        flow_file = self._flow_file()
        withs = self._compute_withs(only_steps)
        datastore = self.datastore_type or "local"
        python_version = platform.python_version()
        explicit = os.environ.get(IMAGES_VAR)
        if os.environ.get(BUILD_VAR, "1").lower() in ("0", "false", "no", "off") or explicit:
            # Built elsewhere (CI): use it only if it was built for this run.
            path = images_path(flow_file)
            if not os.path.exists(path):
                self._load(required=True)  # raises with the way to build it
            doc = load_document(path)
            reasons = stale_reasons(
                doc, flow_file, withs, datastore, python_version, configs_digest(self.flow)
            )
            if reasons:
                raise EnvbuildException(
                    "%s is stale: %s. Build the images again with `envbuild flow build "
                    "%s%s --metaflow-deps %s --json`, or unset %s so the run builds them."
                    % (
                        path,
                        "; ".join(reasons),
                        os.path.basename(flow_file),
                        "".join(" --with " + shlex.quote(w) for w in withs),
                        datastore,
                        BUILD_VAR if not explicit else IMAGES_VAR,
                    )
                )
            self._images_path, self._images = path, doc["steps"]
            os.environ[VERIFIED_VAR] = _file_digest(path)
            return
        binary = os.environ.get(BINARY_VAR) or shutil.which("envbuild")
        if not binary:
            raise EnvbuildException(
                "envbuild is not on PATH: install it, or point %s at it, to build the "
                "images of flow *%s*" % (BINARY_VAR, self.flow.name)
            )
        argv = [binary, "flow", "build", flow_file, "--json", "--progress", "plain",
                "--python", sys.executable, "--metaflow-deps", datastore]
        for w in withs:
            argv += ["--with", w]
        argv += shlex.split(os.environ.get(ARGS_VAR, ""))
        echo("envbuild: building the images of flow *%s*: %s" % (
            self.flow.name, " ".join(shlex.quote(a) for a in argv)))
        # envbuild's progress goes to this stderr; its JSON comes on stdout.
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=sys.stderr)
        if proc.returncode != 0:
            raise EnvbuildException(
                "envbuild flow build failed (exit %d); the run was not started"
                % proc.returncode
            )
        try:
            doc = json.loads(proc.stdout.decode("utf-8"))
        except ValueError as e:
            raise EnvbuildException("envbuild flow build printed no JSON: %s" % e)
        # A build running concurrently, or the flow file edited during it.
        reasons = stale_reasons(
            doc, flow_file, withs, datastore, python_version, configs_digest(self.flow)
        )
        if reasons:
            raise EnvbuildException("envbuild built images that do not match this run: %s"
                                    % "; ".join(reasons))
        self._images_path, self._images = images_path(flow_file), doc["steps"]
        if os.path.exists(self._images_path):
            # The step launchers of this run read it: it is this build's.
            os.environ[VERIFIED_VAR] = _file_digest(self._images_path)

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

    def _check_fresh_for_launch(self):
        """A launcher uses the JSON its run built or checked
        ($ENVBUILD_FLOW_IMAGES_VERIFIED), else only one built from this very
        flow file; it never builds (its --with values are the run's
        decorators, images included)."""
        self._load(required=True)
        if os.environ.get(VERIFIED_VAR) == _file_digest(self._images_path):
            return
        doc = load_document(self._images_path)
        inputs = doc.get("inputs") if isinstance(doc.get("inputs"), dict) else {}
        if inputs.get("flow_sha256") != flow_digest(self._flow_file()):
            raise EnvbuildException(
                "%s is stale: %s. Run the flow with `run` or `resume`, which build "
                "the images first, or build them with `envbuild flow build %s`."
                % (
                    self._images_path,
                    "the flow file changed since it was built"
                    if inputs
                    else "it records no inputs (written by an older envbuild)",
                    os.path.basename(self._flow_file()),
                )
            )

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
        # Inside a task (the `step` command) there is no JSON and no need for
        # it. The launcher of a remote task needs it, fresh.
        if not required and launching_remote_step():
            required = True
            self._check_fresh_for_launch()
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
