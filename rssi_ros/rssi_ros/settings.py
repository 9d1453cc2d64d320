"""YAML settings shared by every offline tool: `key.path=value` overrides and recursive merges.

One implementation, so `synth --set`, `train key=value` and `demo --set` read overrides the same way
(the value is parsed as YAML: `5`, `5e-4`, `true`, `[a, b]`, `null`). Unknown keys are not judged
here: each tool builds its dataclasses from the result and names a misspelt key there.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Mapping
from typing import Any

import yaml


def deep_copy(d: Mapping[str, Any]) -> dict[str, Any]:
    """Copy nested mappings (leaves are shared: YAML leaves are immutable or replaced whole)."""
    return {k: deep_copy(v) if isinstance(v, Mapping) else v for k, v in d.items()}


def deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`base` updated by `update`, recursing into sections both have (a file may give any subset)."""
    out = deep_copy(base)
    for k, v in update.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = deep_copy(v) if isinstance(v, Mapping) else v
    return out


def apply_overrides(values: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Apply `a.b.c=value` strings to a copy of `values`; missing sections are created."""
    out = deep_copy(values)
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise ValueError(f"override {item!r} must look like key.path=value")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {part} is a value, not a section")
        node[parts[-1]] = yaml.safe_load(raw)
    return out


def add_set_argument(parser: argparse.ArgumentParser, example: str) -> None:
    """The repeatable `--set KEY=VALUE` option of commands configured by a YAML file."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help=f"override one setting, e.g. --set {example} (repeatable)",
    )
