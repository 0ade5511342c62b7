"""Print the @pypi/@conda/@kubernetes/@batch decorators of a Metaflow flow as
Metaflow itself sees them, as JSON on stdout.

usage: python export_decorators.py FLOW.py [METAFLOW_OPTION ...]

The flow is loaded the way `python FLOW.py show` loads it: Metaflow imports
the module, processes Configs (--config/--config-value options may be given
after the flow file) and mutators, initialises every decorator, and runs the
flow-level @pypi_base/@conda_base and step-level @pypi/@conda hooks that merge
them. Nothing else runs: the other decorators' step_init/flow_init hooks are
skipped (they check datastores and clusters, which reading decorators does not
need), no environment is created and no step is executed.

For each decorator the output holds the arguments as written ("attributes",
after Config values are resolved), and for @pypi/@conda the attributes after
Metaflow's own merge ("merged"). envbuild merges the written ones itself and
its tests compare the result with "merged".

Part of envbuild (frontends/metaflow); standard library and metaflow only.
"""

import ast
import hashlib
import importlib.util
import inspect
import json
import os
import sys
import tempfile

ENV_DECORATORS = ("pypi", "conda", "pypi_base", "conda_base")
REMOTE_DECORATORS = ("kubernetes", "batch")

# The JSON goes to the real stdout; everything else printed while the flow
# loads (the flow's own prints, Metaflow's banner) goes to stderr. main sets
# it before sending sys.stdout to stderr.
_OUT = sys.stdout


def _prepare_process(environ):
    """Set what Metaflow needs before it is imported, in environ."""
    # Metaflow's local datastore root would otherwise be created in the
    # current directory when @pypi/@conda hooks ask for it.
    environ["METAFLOW_DATASTORE_SYSROOT_LOCAL"] = tempfile.mkdtemp(prefix="envbuild-metaflow-")
    # Metaflow refuses to start without a user name (CI containers often
    # have none); reading decorators does not record one anywhere.
    if not any(environ.get(v) for v in ("METAFLOW_USER", "SUDO_USER", "USERNAME", "USER")):
        environ["METAFLOW_USER"] = "envbuild"


class Captured(Exception):
    """Raised once every decorator is initialised, to stop the command."""


class StandInEnvironment:
    """What @pypi/@conda hooks ask of an environment, and nothing more.

    Their hooks refuse environments other than conda/pypi; reading the
    decorators does not need one, so this stand-in answers as "conda" and
    creates nothing.
    """

    TYPE = "conda"

    def set_local_root(self, local_root):
        pass

    def is_disabled(self, step):
        for deco in step.decorators:
            if deco.name in ("conda", "pypi"):
                return str(deco.attributes["disabled"]).lower() == "true"
        return False


def _configs_digest(flow):
    """sha256 of the flow's Config values as Metaflow resolved them; None
    when the flow has none. metaflow-envbuild computes the same digest
    (configs_digest) to tell that FLOW.envbuild.json was built from other
    Config values: keep the two equal."""
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


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    # Anything else (a set, an object) cannot be a literal envbuild reads;
    # keep its repr so the error can show it.
    return {"__envbuild_unsupported__": repr(x), "type": type(x).__name__}


def _written(deco):
    """The attributes the user gave, after Config values are resolved."""
    keys = set(getattr(deco, "_user_defined_attributes", ()) or ())
    defaults = getattr(deco, "defaults", {}) or {}
    out = {}
    for k, v in deco.attributes.items():
        # @conda's init() folds `libraries` into `packages`, which then holds
        # values the user wrote under another key. Other decorators' init()
        # fills in defaults from configuration (an image, a namespace): those
        # are not written and envbuild looks them up itself.
        folded = deco.name in ENV_DECORATORS and k in defaults and v != defaults[k]
        if k in keys or folded:
            out[k] = _jsonable(v)
    return out


def _find_flow_class(module):
    from metaflow import FlowSpec

    def unwrap(v):
        # A class decorated with a FlowMutator is bound to the mutator.
        inner = getattr(v, "_flow_cls", None)
        return inner if inspect.isclass(inner) else v

    flows = []
    for v in vars(module).values():
        c = unwrap(v)
        if (
            inspect.isclass(c)
            and issubclass(c, FlowSpec)
            and c is not FlowSpec
            and c.__module__ == module.__name__
            and c not in flows
        ):
            flows.append(c)
    leaves = [c for c in flows if not any(o is not c and issubclass(o, c) for o in flows)]
    if not leaves:
        raise SystemExit(
            _fail(f"no flow found: no class derives from FlowSpec in {module.__file__}")
        )
    if len(leaves) > 1:
        names = ", ".join(sorted(c.__name__ for c in leaves))
        raise SystemExit(
            _fail(f"several flows in one file ({names}); envbuild reads one flow per file")
        )
    return leaves[0]


def _deco_name(node):
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _node_info(node):
    info = {"line": node.lineno, "col": node.col_offset + 1, "decorators": []}
    for d in node.decorator_list:
        args = {}
        if isinstance(d, ast.Call):
            for kw in d.keywords:
                if kw.arg is not None:
                    args[kw.arg] = [kw.value.lineno, kw.value.col_offset + 1]
        info["decorators"].append(
            {"name": _deco_name(d), "line": d.lineno, "col": d.col_offset + 1, "args": args}
        )
    return info


def _source_positions(path, flow_name):
    """Positions of the flow class, its steps and their decorators."""
    with open(path, "rb") as f:
        tree = ast.parse(f.read(), filename=path)
    classes = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)}
    flow = {}
    steps = {}

    def visit(cls, seen):
        if cls.name in seen:
            return
        seen.add(cls.name)
        for b in reversed(cls.bases):
            name = _deco_name(b)
            if name in classes:
                visit(classes[name], seen)
        for n in cls.body:
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                steps[n.name] = _node_info(n)

    if flow_name in classes:
        flow = _node_info(classes[flow_name])
        visit(classes[flow_name], set())
    return flow, steps


def _positions_for(decos, infos):
    """Match decorator objects with their source decorators, by name and order."""
    used = set()
    out = []
    for deco in decos:
        found = None
        for i, info in enumerate(infos):
            if i not in used and info["name"] == deco.name:
                used.add(i)
                found = info
                break
        out.append(found)
    return out


def _fail(msg, line=0, col=0, kind=None):
    json.dump({"error": msg, "line": line, "col": col, "kind": kind}, _OUT)
    _OUT.write("\n")
    return 1


def _fail_exception(e, path):
    """Report an exception raised while loading, at the flow file's line."""
    if isinstance(e, SyntaxError) and e.filename and os.path.abspath(e.filename) == path:
        msg = e.msg if e.msg.startswith("invalid syntax") else "invalid syntax: " + e.msg
        return _fail(msg, e.lineno or 0, e.offset or 0)
    line = 0
    tb = e.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    headline = getattr(e, "headline", None) or type(e).__name__
    # An import the flow file makes that this Python lacks.
    kind = "import" if isinstance(e, ImportError) else None
    return _fail(f"{headline}: {' '.join(str(e).split())}", line, kind=kind)


def _load_module(path):
    """Import the flow file as a module, its directory first on sys.path."""
    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("envbuild_flow_module", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _skip(self, *args, **kwargs):
    pass


def _step_hook(original, stand_in):
    """An environment decorator's step_init, run against stand_in, that
    first remembers the arguments as written (before they merge)."""

    def step_init(self, flow, graph, step, decos, environment, flow_datastore, logger):
        self.external_init()
        if not hasattr(self, "_envbuild_written"):
            self._envbuild_written = _written(self)
        return original(self, flow, graph, step, decos, stand_in, flow_datastore, logger)

    return step_init


def _flow_hook(original, stand_in):
    """flow_init of @pypi_base/@conda_base, as _step_hook."""

    def flow_init(self, flow, graph, environment, *args, **kwargs):
        if not hasattr(self, "_envbuild_written"):
            self._envbuild_written = _written(self)
        return original(self, flow, graph, stand_in, *args, **kwargs)

    return flow_init


def _patch_hooks(step_decorators, flow_decorators, stand_in):
    """Skip every decorator hook but the environment decorators' own,
    which run against stand_in."""
    for cls in step_decorators:
        if cls.name in ENV_DECORATORS:
            cls.step_init = _step_hook(cls.step_init, stand_in)
        else:
            cls.step_init = _skip
            # Newer decorators may implement step_init_ctx, which takes
            # precedence over step_init when set; unset it.
            if getattr(cls, "step_init_ctx", None) is not None:
                cls.step_init_ctx = None
    for cls in flow_decorators:
        if cls.name in ENV_DECORATORS:
            cls.flow_init = _flow_hook(cls.flow_init, stand_in)
        else:
            cls.flow_init = _skip
            if getattr(cls, "flow_init_ctx", None) is not None:
                cls.flow_init_ctx = None


def _initialised_flow(flow_cls, path, extra):
    """Run Metaflow's `show` command on the flow until every decorator is
    initialised, and return the flow object then (None if that never
    happened)."""
    from metaflow import decorators, parameters

    captured = {}
    original_init_steps = decorators._init_step_decorators

    def init_steps(flow, *args, **kwargs):
        original_init_steps(flow, *args, **kwargs)
        captured["flow"] = flow
        raise Captured()

    decorators._init_step_decorators = init_steps
    try:
        with parameters.flow_context(flow_cls):
            # metaflow.cli builds its Config options from the flow in
            # context when it is first imported, so it is imported here.
            if "metaflow.cli" in sys.modules:
                raise RuntimeError("metaflow.cli was imported before the flow was known")
            from metaflow import cli

            cli.main(
                flow_cls(use_cli=False),
                args=[*extra, "show"],
                handle_exceptions=False,
                entrypoint=[sys.executable, path],
            )
    except Captured:
        pass
    return captured.get("flow")


def _deco_json(deco, pos):
    """One decorator: its written and, for @pypi/@conda, merged attributes,
    and its position in the flow file when found."""
    out = {
        "name": deco.name,
        "attributes": getattr(deco, "_envbuild_written", None) or _written(deco),
        # Added by @pypi_base/@conda_base, not written by the user.
        "attached": not deco.statically_defined
        and not deco.inserted_by
        and not (getattr(deco, "_user_defined_attributes", None)),
    }
    if pos:
        out["line"], out["col"], out["arg_pos"] = pos["line"], pos["col"], pos["args"]
    if deco.name in ("pypi", "conda"):
        merged = _jsonable(dict(deco.attributes))
        users = getattr(deco, "_attributes_with_user_values", None)
        out["merged"] = merged
        out["merged_user_keys"] = sorted(users) if users is not None else None
    return out


def _export(flow, path, metaflow_version):
    """The JSON document of an initialised flow read from path."""
    flow_pos, step_pos = _source_positions(path, flow.name)

    flow_decos = []
    for decos in flow._flow_decorators.values():
        infos = list(flow_pos.get("decorators", []))
        for deco, pos in zip(decos, _positions_for(decos, infos)):
            if deco.name in ENV_DECORATORS:
                flow_decos.append(_deco_json(deco, pos))

    steps = []
    for step in flow:
        info = step_pos.get(step.name, {})
        decos = [d for d in step.decorators if d.name in ENV_DECORATORS + REMOTE_DECORATORS]
        positions = _positions_for(decos, info.get("decorators", []))
        steps.append(
            {
                "name": step.name,
                "line": info.get("line", 0),
                "col": info.get("col", 0),
                "decorators": [_deco_json(d, p) for d, p in zip(decos, positions)],
            }
        )
    steps.sort(key=lambda s: (s["line"] == 0, s["line"], s["col"]))

    return {
        "metaflow_version": metaflow_version,
        "configs_sha256": _configs_digest(flow),
        "flow": {
            "name": flow.name,
            "line": flow_pos.get("line", 0),
            "col": flow_pos.get("col", 0),
            "decorators": flow_decos,
        },
        "steps": steps,
    }


def main(argv):
    global _OUT
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    path = os.path.abspath(argv[1])
    extra = argv[2:]
    _prepare_process(os.environ)
    _OUT, sys.stdout = sys.stdout, sys.stderr

    import metaflow
    from metaflow.plugins import FLOW_DECORATORS, STEP_DECORATORS

    try:
        module = _load_module(path)
    except Exception as e:
        return _fail_exception(e, path)
    flow_cls = _find_flow_class(module)
    _patch_hooks(STEP_DECORATORS, FLOW_DECORATORS, StandInEnvironment())
    try:
        flow = _initialised_flow(flow_cls, path, extra)
    except Exception as e:  # a Metaflow error while loading: report it
        return _fail_exception(e, path)
    if flow is None:
        return _fail("metaflow did not initialise the flow's decorators")

    doc = _export(flow, path, getattr(metaflow, "__version__", None))
    json.dump(doc, _OUT, sort_keys=True)
    _OUT.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
