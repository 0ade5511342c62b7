"""Load a flow through Metaflow's command line, the way `python FLOW.py
[OPTIONS] show` does, with every decorator hook running, and print what each
step would be launched with: the image of its @kubernetes/@batch decorator,
the executable and the bootstrap commands of the environment.

usage: python show_images.py FLOW.py [METAFLOW_OPTION ...]

SHOW_IMAGES_LATE_ATTACH=kubernetes attaches @kubernetes to every step the way
a scheduler's `create` command does; SHOW_IMAGES_INIT=1 then runs the
environment's init_environment, as packaging the flow does.

A test helper for metaflow-envbuild: it shows what a cluster would be asked
to run without needing a cluster.
"""

import importlib.util
import inspect
import json
import os
import sys


class Captured(Exception):
    pass


def main(argv):
    path = os.path.abspath(argv[1])
    from metaflow import FlowSpec, decorators, parameters

    sys.path.insert(0, os.path.dirname(path))
    spec = importlib.util.spec_from_file_location("flow_under_test", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    flows = [
        c
        for c in vars(module).values()
        if inspect.isclass(c) and issubclass(c, FlowSpec) and c.__module__ == module.__name__
    ]
    flow_cls = flows[0]

    captured = {}
    original = decorators._init_step_decorators

    def init_steps(flow, graph, environment, flow_datastore, logger, *args, **kwargs):
        original(flow, graph, environment, flow_datastore, logger, *args, **kwargs)
        # Still inside Metaflow's command line (its click context), as a
        # run's or a deployment's packaging is.
        late = os.environ.get("SHOW_IMAGES_LATE_ATTACH")
        if late:
            # What `argo-workflows create` and `step-functions create` do
            # before they package the flow: attach their compute decorator
            # to every step.
            decorators._attach_decorators(flow, [late])
            decorators._process_late_attached_decorator(
                [late], flow, graph, environment, flow_datastore, logger
            )
        if os.environ.get("SHOW_IMAGES_INIT") == "1":
            # What a run or a deployment does when it packages the flow.
            environment.init_environment(lambda msg, **kwargs: sys.stderr.write(msg + "\n"))
        captured.update(
            flow=flow, graph=graph, environment=environment, datastore=flow_datastore, logger=logger
        )
        raise Captured()

    decorators._init_step_decorators = init_steps
    stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        with parameters.flow_context(flow_cls):
            from metaflow import cli

            cli.main(
                flow_cls(use_cli=False),
                args=argv[2:] + ["show"],
                handle_exceptions=False,
                entrypoint=[sys.executable, path],
            )
    except Captured:
        pass
    finally:
        sys.stdout = stdout

    flow, env = captured["flow"], captured["environment"]
    out = {"environment": env.TYPE, "steps": {}}
    for step in flow:
        remote = [d for d in step.decorators if d.name in ("kubernetes", "batch")]
        out["steps"][step.name] = {
            "image": remote[0].attributes.get("image") if remote else None,
            "executable": env.executable(step.name, None),
            "bootstrap": env.bootstrap_commands(step.name, "s3"),
        }
    json.dump(out, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
