"""The one entry point of the offline tools: `python -m rssi_ros <command> ...`.

Argument parsing only. Each command lives in its own module that exposes
`add_arguments(parser)` and `run(args) -> int`; modules are imported lazily so that
`--help` and light commands never pay for torch or rclpy.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from rssi_ros import __version__


@dataclass(frozen=True)
class Command:
    """A subcommand: its module path and one line of help."""

    module: str
    help: str


COMMANDS: dict[str, Command] = {
    "demo": Command("rssi_ros.commands.demo", "run the main job end to end on a generated scene"),
    "synth": Command("rssi_ros.data.synth.command", "generate a synthetic DeepSense-format scene"),
    "data": Command("rssi_ros.data.command", "dataset statistics and trivial baselines"),
    "train": Command("rssi_ros.training.command", "train the model (two stages)"),
    "evaluate": Command("rssi_ros.evaluation.command", "evaluate a checkpoint (Tables III/IV)"),
    "export": Command("rssi_ros.inference.export_command", "export a checkpoint to ONNX"),
    "predictor": Command("rssi_ros.ros.predictor_main", "run the ROS 2 predictor node"),
    "bag": Command("rssi_ros.bags.command", "write and replay rosbag2 files of scenes"),
    "bench": Command("rssi_ros.bench.command", "benchmarks (print a table, write JSON)"),
}


def _load(name: str):
    return importlib.import_module(COMMANDS[name].module)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the parser; with `only`, import just that command's module (fast dispatch)."""
    parser = argparse.ArgumentParser(
        prog="python -m rssi_ros",
        description="rssi_ros offline tools: data, training, evaluation, export, bags, benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"rssi_ros {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help, description=command.help)
        if name == only:
            _load(name).add_arguments(p)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # The ROS node takes ROS arguments (--ros-args ...) that argparse must not see.
    if argv and argv[0] == "predictor":
        return int(_load("predictor").main(argv[1:]) or 0)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        parser.print_help()
        return 0
    return int(_load(args.command).run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
