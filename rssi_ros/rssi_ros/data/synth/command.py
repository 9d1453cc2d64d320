"""`python -m rssi_ros synth --out DIR --frames N --seed S [--config YAML] [--name scenarioN]`."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rssi_ros.settings import add_set_argument

log = logging.getLogger(__name__)

DEFAULT_FRAMES = 500


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", type=Path, required=True, help="folder of the scene (created; must be empty)"
    )
    parser.add_argument(
        "--frames", type=int, default=DEFAULT_FRAMES, help="number of frames (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed; the same seed gives the same files")
    parser.add_argument(
        "--config", type=Path, help="YAML with any subset of the settings (see config/synth.yaml)"
    )
    parser.add_argument("--name", help="scenario name, scenarioN (default from the config: scenario100)")
    add_set_argument(parser, "radio.path_loss_exponent=2.4")
    parser.add_argument("--workers", type=int, default=1, help="render processes (default %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace a scene generated earlier in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from rssi_ros.data.synth.config import load_config
    from rssi_ros.data.synth.generator import generate_scene

    if args.frames < 1:
        log.error("--frames must be at least 1")
        return 2
    try:
        config = load_config(args.config, args.overrides)
        csv_path = generate_scene(
            args.out,
            config,
            frames=args.frames,
            seed=args.seed,
            name=args.name,
            workers=args.workers,
            overwrite=args.overwrite,
            progress=not args.no_progress,
        )
    except (ValueError, FileExistsError, OSError) as exc:
        log.error("synth: %s", exc)
        return 2
    print(csv_path)
    return 0
