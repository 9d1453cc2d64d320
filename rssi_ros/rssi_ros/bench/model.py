"""`python -m rssi_ros bench model`: parameter counts and inference latency per model and backend.

Latency is measured end to end through `Predictor.predict_inputs` (batching + the backend) on
random but valid inputs, after warm-up; median and 90th percentile over `--repeats` runs.
Weights are random (latency does not depend on their values).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import numpy as np

from rssi_ros.bench.report import table, write_json

log = logging.getLogger(__name__)

DEFAULT_MODELS = (
    "decomposed-learned-mlp",
    "decomposed-learned-cnn",
    "decomposed-analytic-mlp",
    "brute-force-mlp",
    "position-only",
    "image-only-resnet34",
)
DEFAULT_BACKENDS = ("torch", "onnxruntime")
DEFAULT_BATCH_SIZES = (1, 32)
DEFAULT_REPEATS = 20
WARMUP = 3
P90 = 90


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models", nargs="+", default=list(DEFAULT_MODELS), help="preset names (model.config.presets)"
    )
    parser.add_argument("--backends", nargs="+", default=list(DEFAULT_BACKENDS), choices=DEFAULT_BACKENDS)
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=list(DEFAULT_BATCH_SIZES))
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS)
    parser.add_argument(
        "--threads", type=int, default=0, help="torch/ORT intra-op threads (0 = library default)"
    )
    parser.add_argument("--json", type=Path, help="output JSON (default runs/bench/model.json)")


def _inputs(predictor, n: int, seed: int):
    from rssi_ros.data.preprocess import ModelInput

    pre = predictor.preprocess_config
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        mask = rng.random(pre.max_objects) < 0.5
        out.append(
            ModelInput(
                image=rng.integers(0, 256, (pre.image_size, pre.image_size, 3), dtype=np.uint8),
                position=rng.random(2).astype(np.float32),
                boxes=(rng.random((pre.max_objects, pre.box_features)) * mask[:, None]).astype(np.float32),
                box_mask=mask,
                modalities=np.ones(3, bool),
                distance_m=float(rng.uniform(5, 150)),
                east_m=0.0,
                north_m=0.0,
                tx_in_view=bool(mask[0]),
                num_boxes=int(mask.sum()),
            )
        )
    return out


def run(args: argparse.Namespace) -> int:
    import os

    import torch

    from rssi_ros.data.preprocess import PreprocessConfig
    from rssi_ros.inference.predictor import Predictor
    from rssi_ros.model.checkpoint import load_checkpoint, write_random_checkpoint
    from rssi_ros.model.config import PAPER_PARAMETER_BUDGET, presets
    from rssi_ros.model.params import parameter_counts

    if args.threads > 0:
        torch.set_num_threads(args.threads)
        os.environ["RSSI_ROS_ORT_THREADS"] = str(args.threads)
    known = presets()
    unknown = [m for m in args.models if m not in known]
    if unknown:
        log.error("unknown model(s) %s; known: %s", unknown, sorted(known))
        return 2
    pre = PreprocessConfig(image_size=args.image_size)
    rows, params = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            path = write_random_checkpoint(Path(tmp) / f"{name}.pt", known[name], pre)
            for backend in args.backends:
                predictor = Predictor.load(path, backend=backend)
                for b in args.batch_sizes:
                    inputs = _inputs(predictor, b, seed=b)
                    for _ in range(WARMUP):
                        predictor.predict_inputs(inputs, batch_size=b)
                    times = []
                    for _ in range(args.repeats):
                        t0 = time.perf_counter()
                        predictor.predict_inputs(inputs, batch_size=b)
                        times.append(time.perf_counter() - t0)
                    ms = np.array(times) * 1e3
                    rows.append(
                        {
                            "model": name,
                            "backend": backend,
                            "batch": b,
                            "ms_median": float(np.median(ms)),
                            "ms_p90": float(np.percentile(ms, P90)),
                            "ms_per_sample": float(np.median(ms) / b),
                            "samples_per_s": float(b / np.median(ms) * 1e3),
                        }
                    )
                    log.info("%s %s batch %d: %.2f ms", name, backend, b, rows[-1]["ms_median"])
            counts = parameter_counts(load_checkpoint(path).build_model())
            params.append(
                {
                    "model": name,
                    "parameters": counts["total"],
                    "millions": counts["total"] / 1e6,
                    "within_paper_budget": counts["total"] <= PAPER_PARAMETER_BUDGET,
                    **{k: v for k, v in counts.items() if k not in ("total", "trainable")},
                }
            )
    print()
    print(table(params, ["model", "parameters", "millions", "within_paper_budget"]))
    print()
    print(table(rows))
    out = write_json(
        "model",
        {
            "image_size": args.image_size,
            "torch_threads": torch.get_num_threads(),
            "paper_parameter_budget": PAPER_PARAMETER_BUDGET,
            "parameters": params,
            "latency": rows,
        },
        args.json,
    )
    print(f"\nwrote {out}")
    return 0
