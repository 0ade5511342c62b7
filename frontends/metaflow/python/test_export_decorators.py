"""Tests of export_decorators.py (make test runs them with pytest).

The pure parts (source positions, JSON conversion, error reports) are
tested directly; main is run on small flows in a subprocess, with
Metaflow, when it is installed.
"""

import ast
import io
import json
import os
import subprocess
import sys
import textwrap

import pytest

import export_decorators as ed

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "export_decorators.py")


def test_jsonable_keeps_literals_and_marks_the_rest():
    assert ed._jsonable({"a": (1, 2.5), 3: [None, True, "x"]}) == {
        "a": [1, 2.5],
        "3": [None, True, "x"],
    }
    got = ed._jsonable({1, 2})
    assert got["type"] == "set"
    assert got["__envbuild_unsupported__"] == repr({1, 2})


def test_deco_name():
    def first_decorator(src):
        return ast.parse(src).body[0].decorator_list[0]

    assert ed._deco_name(first_decorator("@pypi(packages={})\ndef f(): pass")) == "pypi"
    assert ed._deco_name(first_decorator("@metaflow.conda\ndef f(): pass")) == "conda"
    assert ed._deco_name(first_decorator("@step\ndef f(): pass")) == "step"
    assert ed._deco_name(ast.parse("x[0]").body[0].value) is None


def test_source_positions_follow_base_classes(tmp_path):
    flow = tmp_path / "flow.py"
    flow.write_text(
        textwrap.dedent(
            """\
            class Base(FlowSpec):
                @step
                def start(self): pass

            @pypi_base(python="3.11")
            class MyFlow(Base):
                @pypi(packages={"six": "1.16.0"})
                @step
                def end(self): pass
            """
        )
    )
    flow_pos, steps = ed._source_positions(str(flow), "MyFlow")
    assert (flow_pos["line"], flow_pos["col"]) == (6, 1)
    assert flow_pos["decorators"] == [
        {"name": "pypi_base", "line": 5, "col": 2, "args": {"python": [5, 19]}}
    ]
    assert sorted(steps) == ["end", "start"]
    assert steps["start"]["line"] == 3
    assert [d["name"] for d in steps["end"]["decorators"]] == ["pypi", "step"]
    assert steps["end"]["decorators"][0]["args"] == {"packages": [7, 20]}
    assert ed._source_positions(str(flow), "Missing") == ({}, {})


def test_positions_match_by_name_and_order():
    class Deco:
        def __init__(self, name):
            self.name = name

    infos = [{"name": "pypi", "n": 1}, {"name": "step"}, {"name": "pypi", "n": 2}]
    got = ed._positions_for([Deco("pypi"), Deco("pypi"), Deco("conda")], infos)
    assert [p and p.get("n") for p in got] == [1, 2, None]


def test_fail_writes_one_json_line(monkeypatch):
    out = io.StringIO()
    monkeypatch.setattr(ed, "_OUT", out)
    assert ed._fail("bad", 3, 4, kind="import") == 1
    assert json.loads(out.getvalue()) == {"error": "bad", "line": 3, "col": 4, "kind": "import"}


def test_fail_exception_points_at_the_flow_file(monkeypatch, tmp_path):
    out = io.StringIO()
    monkeypatch.setattr(ed, "_OUT", out)
    path = str(tmp_path / "flow.py")
    err = SyntaxError("expected ':'", (path, 7, 12, "def f()\n"))
    ed._fail_exception(err, path)
    assert json.loads(out.getvalue()) == {
        "error": "invalid syntax: expected ':'",
        "line": 7,
        "col": 12,
        "kind": None,
    }
    out.seek(0)
    out.truncate()
    ed._fail_exception(ImportError("No module named 'torch'"), path)
    got = json.loads(out.getvalue())
    assert got["kind"] == "import"
    assert got["error"] == "ImportError: No module named 'torch'"


def test_prepare_process_sets_a_user_only_when_none():
    env = {}
    ed._prepare_process(env)
    assert env["METAFLOW_USER"] == "envbuild"
    assert os.path.isdir(env["METAFLOW_DATASTORE_SYSROOT_LOCAL"])
    env = {"USER": "ana"}
    ed._prepare_process(env)
    assert "METAFLOW_USER" not in env


def test_usage_without_a_flow():
    r = subprocess.run([sys.executable, SCRIPT], capture_output=True, text=True)
    assert r.returncode == 2
    assert "usage: python export_decorators.py FLOW.py" in r.stderr


def run_on(tmp_path, source):
    flow = tmp_path / "flow.py"
    flow.write_text(textwrap.dedent(source))
    r = subprocess.run(
        [sys.executable, SCRIPT, str(flow)], capture_output=True, text=True, cwd=tmp_path
    )
    lines = r.stdout.splitlines()
    assert len(lines) == 1, (r.stdout, r.stderr)
    return r.returncode, json.loads(lines[0])


needs_metaflow = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import metaflow"], capture_output=True).returncode != 0,
    reason="metaflow is not installed (scripts/setup.sh installs it)",
)


@needs_metaflow
def test_main_exports_written_and_merged_attributes(tmp_path):
    code, doc = run_on(
        tmp_path,
        """\
        from metaflow import FlowSpec, step, pypi, pypi_base, kubernetes

        @pypi_base(packages={"requests": "2.32.3"}, python="3.11")
        class HelloFlow(FlowSpec):
            @pypi(packages={"six": "1.16.0"})
            @kubernetes(image="registry.example.com/ml/base:1")
            @step
            def start(self):
                print("not run")
                self.next(self.end)

            @step
            def end(self):
                pass
        """,
    )
    assert code == 0
    assert doc["flow"]["name"] == "HelloFlow"
    assert [d["name"] for d in doc["flow"]["decorators"]] == ["pypi_base"]
    assert doc["flow"]["decorators"][0]["attributes"]["python"] == "3.11"
    steps = {s["name"]: s for s in doc["steps"]}
    assert [s["name"] for s in doc["steps"]] == ["start", "end"]
    start = {d["name"]: d for d in steps["start"]["decorators"]}
    assert start["pypi"]["attributes"] == {"packages": {"six": "1.16.0"}}
    assert start["pypi"]["merged"]["packages"] == {"requests": "2.32.3", "six": "1.16.0"}
    assert start["kubernetes"]["attributes"]["image"] == "registry.example.com/ml/base:1"
    assert (start["pypi"]["line"], start["pypi"]["col"]) == (5, 6)
    assert doc["configs_sha256"] is None


@needs_metaflow
def test_main_reports_errors_at_their_line(tmp_path):
    code, doc = run_on(
        tmp_path,
        """\
        from metaflow import FlowSpec, step

        x = 1 / 0
        """,
    )
    assert code == 1
    assert doc["line"] == 3
    assert doc["error"].startswith("ZeroDivisionError")
    code, doc = run_on(tmp_path, "from metaflow import FlowSpec\n")
    assert code == 1
    assert doc["error"].startswith("no flow found")


def _function_body(path, name):
    """The statements of function name in the file at path, as AST dumps,
    without its docstring."""
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            stmts = node.body
            if (
                stmts
                and isinstance(stmts[0], ast.Expr)
                and isinstance(stmts[0].value, ast.Constant)
            ):
                stmts = stmts[1:]
            return [ast.dump(s) for s in stmts]
    raise AssertionError(f"{name} not found in {path}")


def test_configs_digest_agrees_with_the_extension():
    """metaflow-envbuild computes the same Config digest as this helper
    (each ships on its own, so the code is in both): their bodies must stay
    the same, docstrings apart."""
    ext = os.path.join(
        HERE,
        "..",
        "extension",
        "metaflow_extensions",
        "envbuild",
        "plugins",
        "envbuild_environment.py",
    )
    assert _function_body(SCRIPT, "_configs_digest") == _function_body(ext, "configs_digest")
