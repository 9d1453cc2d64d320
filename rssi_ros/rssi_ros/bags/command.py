"""`python -m rssi_ros bag write|info|play|samples`: scenes as rosbag2 files, and replay into a ROS graph.

    python -m rssi_ros bag write --data runs/scene/scenario100.csv --out runs/bags/scene100 --storage mcap
    python -m rssi_ros bag info runs/bags/scene100
    python -m rssi_ros bag play runs/bags/scene100 --rate 1.0 --wait-subscribers 10 [--max-gap 0.5]
    python -m rssi_ros bag samples runs/bags/scene100          # decode the bag back into samples (check)

`write` reads any dataset `read_dataset` understands (a DeepSense scenario folder or CSV, a
generated scene, a scenarioN.npz: position-only bags) and writes the node's default topics.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rssi_ros.bags.frames import DEFAULT_RATE_HZ, DEFAULT_START_S, FrameOptions

if TYPE_CHECKING:  # the player imports rclpy; `bag write` must work without it
    from rssi_ros.bags.player import PlayOptions

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bag_command", metavar="ACTION", required=True)

    w = sub.add_parser("write", help="write a dataset (DeepSense scenario, generated scene, npz) as a bag")
    w.add_argument("--data", required=True, type=Path, help="scenario folder, scenarioN.csv or scenarioN.npz")
    w.add_argument("--out", required=True, type=Path, help="bag folder to create (must not exist)")
    w.add_argument("--storage", choices=("sqlite3", "mcap"), default="sqlite3")
    w.add_argument("--compressed", action="store_true", help="CompressedImage (the source JPEGs, verbatim)")
    w.add_argument("--limit", type=int, default=None, help="at most this many frames")
    w.add_argument("--rate", type=float, default=DEFAULT_RATE_HZ, help="frame rate when samples lack stamps")
    w.add_argument("--start", type=float, default=DEFAULT_START_S, help="start time, UNIX seconds")
    w.add_argument("--no-tx-flag", action="store_true", help="do not mark the labelled transmitter box")
    w.add_argument("--no-ground-truth", action="store_true", help="omit the RSSI label topic")
    w.add_argument("--no-clock", action="store_true", help="omit /clock (the player can generate it)")
    w.add_argument("--no-progress", action="store_true")

    i = sub.add_parser("info", help="topics, types, counts and time range of a bag")
    i.add_argument("bag", type=Path)

    p = sub.add_parser("play", help="replay a bag into the ROS graph (header stamps kept, /clock published)")
    p.add_argument("bag", type=Path)
    p.add_argument("--rate", type=float, default=1.0, help="speed factor; 0 = as fast as possible")
    p.add_argument(
        "--max-gap",
        type=float,
        default=0.0,
        help="longest pause between messages, wall seconds (skips idle stretches; 0 = recorded timing)",
    )
    p.add_argument("--loop", action="store_true")
    p.add_argument("--no-clock", action="store_true", help="do not publish /clock")
    p.add_argument("--best-effort", action="store_true", help="best-effort publishers (default reliable)")
    p.add_argument("--topics", nargs="*", default=None, help="only these topics")
    p.add_argument(
        "--wait-subscribers",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first wait up to this long for a subscriber on every input topic (image, fixes, detections)",
    )

    s = sub.add_parser("samples", help="decode a bag written by `write` back into samples (summary)")
    s.add_argument("bag", type=Path)


def run(args: argparse.Namespace) -> int:
    return {"write": _write, "info": _info, "play": _play, "samples": _samples}[args.bag_command](args)


def _write(args: argparse.Namespace) -> int:
    from rssi_ros.bags.writer import BagOptions, write_bag
    from rssi_ros.data.readers import ReaderOptions, read_dataset

    dataset = read_dataset(args.data, ReaderOptions(limit=args.limit))
    if dataset.skipped:
        log.warning("reader skipped rows: %s", dict(dataset.skipped))
    frames = FrameOptions(
        compressed=args.compressed,
        tx_flag=not args.no_tx_flag,
        ground_truth=not args.no_ground_truth,
        clock=not args.no_clock,
    )
    options = BagOptions(storage=args.storage, start_s=args.start, rate_hz=args.rate, frames=frames)
    try:
        summary = write_bag(dataset.samples, args.out, options, progress=not args.no_progress)
    except (ValueError, OSError) as exc:
        log.error("bag write: %s", exc)
        return 2
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


def _info(args: argparse.Namespace) -> int:
    from rssi_ros.bags.reader import bag_info

    print(json.dumps(bag_info(args.bag), indent=2))
    return 0


def _samples(args: argparse.Namespace) -> int:
    from rssi_ros.bags.reader import bag_to_samples

    samples = bag_to_samples(args.bag)
    with_image = sum(s.image is not None for s in samples)
    with_boxes = sum(s.boxes is not None for s in samples)
    print(json.dumps({"samples": len(samples), "with_image": with_image, "with_boxes": with_boxes}))
    return 0


def _play(args: argparse.Namespace) -> int:
    import rclpy

    from rssi_ros.bags.player import BagPlayer

    try:
        options = _play_options(args)
    except ValueError as exc:
        log.error("bag play: %s", exc)
        return 2
    rclpy.init(args=sys.argv)
    node = rclpy.create_node("rssi_bag_player")
    player = BagPlayer(node, args.bag, options)
    try:
        if args.wait_subscribers > 0:
            missing = player.wait_for_subscribers(args.wait_subscribers)
            if missing:
                log.warning(
                    "no subscriber after %.1f s on %s; playing anyway", args.wait_subscribers, missing
                )
        counts = player.play()
        print(json.dumps({"published": dict(counts)}))
    except KeyboardInterrupt:
        pass
    finally:
        player.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


def _play_options(args: argparse.Namespace) -> PlayOptions:
    """The player's options from the command line (ValueError for impossible values)."""
    from rssi_ros.bags.player import PlayOptions

    return PlayOptions(
        rate=args.rate,
        max_gap_s=args.max_gap,
        clock=not args.no_clock,
        loop=args.loop,
        reliable=not args.best_effort,
        topics=frozenset(args.topics) if args.topics else None,
    )
