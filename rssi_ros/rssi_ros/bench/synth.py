"""`python -m rssi_ros bench synth`: frames per second of the synthetic scene generator.

Generates a default scene (960x540 images) into a temporary folder once per worker count and
reports the wall time per stage. The issue's target is at least 20 frames/s on the development
machine; the table says whether each run meets it.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rssi_ros.bench.report import table, write_json

TARGET_FPS = 20.0
STAGES = ("plan_s", "radio_s", "render_s", "labels_s", "encode_write_s", "finish_s")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frames", type=int, default=300, help="frames per run (default %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[1], help="worker counts to measure (default: 1)"
    )
    parser.add_argument("--config", type=Path, help="generator settings YAML (default: built-in defaults)")
    parser.add_argument("--json", type=Path, help="output JSON (default runs/bench/synth.json)")


def run(args: argparse.Namespace) -> int:
    from rssi_ros.data.synth.config import load_config
    from rssi_ros.data.synth.generator import generate_scene

    config = load_config(args.config)
    rows = []
    for workers in args.workers:
        timings: dict[str, float] = {}
        with tempfile.TemporaryDirectory(prefix="rssi_ros_bench_synth_") as tmp:
            generate_scene(
                Path(tmp) / "scene", config, args.frames, args.seed, workers=workers, timings=timings
            )
        fps = args.frames / timings["total_s"]
        row: dict[str, object] = {
            "workers": workers,
            "frames": args.frames,
            "size": f"{config.site.image_width}x{config.site.image_height}",
            "total_s": timings["total_s"],
            "frames_per_s": fps,
            "meets_20fps": fps >= TARGET_FPS,
        }
        # Per-frame stage costs summed over workers (CPU time spent, not wall time, when workers > 1).
        for stage in STAGES:
            if stage in timings:
                row[f"{stage[:-2]}_ms_per_frame"] = 1000.0 * timings[stage] / args.frames
        rows.append(row)
    print(table(rows))
    out = write_json("synth", {"target_fps": TARGET_FPS, "seed": args.seed, "results": rows}, args.json)
    print(f"wrote {out}")
    return 0
