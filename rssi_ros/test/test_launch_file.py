"""predictor.launch.py read as source (no `launch` needed): its arguments are documented, its files exist.

`launch`/`launch_ros` cannot be installed here (test_launch.py runs the file in a ROS install), so
this reads the launch file's syntax tree: every DeclareLaunchArgument name, including those made in
a comprehension over a module-level dict, must be documented in README.md; every
LaunchConfiguration must name a declared argument; every config file it joins into a path must be
in rssi_ros/config; and the node is a LifecycleNode of this package's `predictor` executable.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1]
LAUNCH = PACKAGE / "launch" / "predictor.launch.py"
README = PACKAGE.parent / "README.md"
SETUP = PACKAGE / "setup.py"


@pytest.fixture(scope="module")
def tree() -> ast.Module:
    return ast.parse(LAUNCH.read_text(), str(LAUNCH))


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _name(n.func) == name]


def _module_dicts(tree: ast.Module) -> dict[str, ast.Dict]:
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            out.update({t.id: node.value for t in node.targets if isinstance(t, ast.Name)})
    return out


def _first_arg(call: ast.Call) -> ast.expr:
    if call.args:
        return call.args[0]
    return next(k.value for k in call.keywords if k.arg == "name")


def declared_arguments(tree: ast.Module) -> list[str]:
    """Names of all DeclareLaunchArgument calls; a variable must come from iterating a module dict."""
    dicts = _module_dicts(tree)
    loop_keys: dict[int, list[str]] = {}  # id(call) -> names, for calls inside comprehensions
    for comp in ast.walk(tree):
        if not isinstance(comp, ast.ListComp | ast.GeneratorExp | ast.SetComp):
            continue
        for gen in comp.generators:
            target = gen.target.elts[0] if isinstance(gen.target, ast.Tuple) else gen.target
            source = gen.iter.func.value if isinstance(gen.iter, ast.Call) else gen.iter
            if isinstance(target, ast.Name) and isinstance(source, ast.Name) and source.id in dicts:
                keys = [k.value for k in dicts[source.id].keys if isinstance(k, ast.Constant)]
                for call in _calls(comp.elt, "DeclareLaunchArgument"):
                    arg = _first_arg(call)
                    if isinstance(arg, ast.Name) and arg.id == target.id:
                        loop_keys[id(call)] = keys
    names = []
    for call in _calls(tree, "DeclareLaunchArgument"):
        arg = _first_arg(call)
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            names.append(arg.value)
        else:
            assert id(call) in loop_keys, f"cannot resolve the argument name at line {call.lineno}"
            names += loop_keys[id(call)]
    return names


def test_every_launch_argument_is_documented_in_the_readme(tree):
    names = declared_arguments(tree)
    # The ones the README promises, so the resolver above cannot quietly find nothing.
    assert {"params_file", "checkpoint", "backend", "namespace", "use_sim_time", "log_level"} <= set(names)
    assert {"fastdds_large_images", "image_topic", "rx_fix_topic", "tx_fix_topic", "detections_topic"} <= set(
        names
    )
    assert len(names) == len(set(names)), "an argument is declared twice"
    readme = README.read_text()
    undocumented = [n for n in names if f"`{n}`" not in readme]
    assert not undocumented, f"launch arguments missing from README.md: {undocumented}"


def test_every_launch_configuration_is_a_declared_argument(tree):
    declared = set(declared_arguments(tree))
    used = {
        c.args[0].value for c in _calls(tree, "LaunchConfiguration") if isinstance(c.args[0], ast.Constant)
    }
    assert used and used <= declared, used - declared
    # `get(name)` inside the opaque function reads LaunchConfiguration(name) for these names too.
    getters = {
        c.args[0].value
        for c in _calls(tree, "get")
        if c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, str)
    }
    assert getters <= declared, getters - declared


def test_referenced_config_files_exist(tree):
    files = []
    for call in _calls(tree, "join"):
        parts = [a.value for a in call.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        if "config" in parts:
            files.append(PACKAGE / Path(*parts))
    assert {f.name for f in files} >= {"predictor.yaml", "fastdds_large_images.xml"}
    missing = [str(f) for f in files if not f.is_file()]
    assert not missing, missing


def test_the_node_is_a_lifecycle_node_of_the_predictor_executable(tree):
    (call,) = _calls(tree, "LifecycleNode")
    keywords = {k.arg: k.value for k in call.keywords}
    assert {"name", "namespace", "package", "executable"} <= set(
        keywords
    )  # LifecycleNode requires both names
    assert ast.literal_eval(keywords["package"]) == "rssi_ros"
    executable = ast.literal_eval(keywords["executable"])
    assert re.search(rf'"{executable} = rssi_ros\.ros\.predictor_main:main"', SETUP.read_text())
    assert not _calls(tree, "Node"), "a plain Node would hide the lifecycle from launch tooling"
