"""`python -m rssi_ros bench <what>`: dispatch to one benchmark module each.

Each module exposes `add_arguments(parser)` and `run(args) -> int`, prints a table and writes JSON
(`--json`, default under `runs/bench/`).
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS: dict[str, tuple[str, str]] = {
    "synth": ("rssi_ros.bench.synth", "synthetic scene generation rate (frames/s)"),
    "model": ("rssi_ros.bench.model", "model inference latency and parameter counts per backend"),
    "node": ("rssi_ros.bench.node", "the ROS node under a 30 fps camera stream (rate, latency, drops, CPU)"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="BENCHMARK", required=True)
    for name, (module, help_text) in BENCHMARKS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            importlib.import_module(module).add_arguments(p)
        except ImportError as exc:  # e.g. the node benchmark without rclpy: the others still work
            p.description = f"{help_text} (unavailable here: {exc})"


def run(args: argparse.Namespace) -> int:
    return int(importlib.import_module(BENCHMARKS[args.benchmark][0]).run(args) or 0)
