"""`python -m rssi_ros evaluate --checkpoint CKPT [--data PATH...] [--protocol frame|drive] [--split test|all]
[--no-interference] [--json OUT] [--out DIR]`.

Prints Table III (PL, SH, RSSI x RMSE, MAE, share within 1 dB) with the trivial baselines of
`evaluation.baselines` beside it on the same split; with `--no-interference` also Table IV (the
same samples with the distractor boxes removed). Writes the JSON, an error histogram PNG and one
predicted-vs-true PNG per drive. Without `--data` the checkpoint's training data is used, with the
training run's split (same protocol, seed and sample limit), so `--split test` is the held-out part.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_MAX_DRIVE_PLOTS = 24
SPLIT_CHOICES = ("test", "val", "train", "all")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", required=True, type=Path, help="a .pt checkpoint (or an exported .onnx)"
    )
    parser.add_argument(
        "--data", nargs="+", type=Path, help="datasets (default: the checkpoint's training data)"
    )
    parser.add_argument(
        "--protocol", choices=("frame", "drive"), help="split protocol (default: the training run's)"
    )
    parser.add_argument("--split-seed", type=int, help="split seed (default: the training run's)")
    parser.add_argument(
        "--split", choices=SPLIT_CHOICES, default="test", help="part to score; 'all' = every sample"
    )
    parser.add_argument(
        "--no-interference", action="store_true", help="also score with distractor boxes removed (Table IV)"
    )
    parser.add_argument("--json", type=Path, help="JSON output (default: OUT/evaluation.json)")
    parser.add_argument("--out", type=Path, help="folder for JSON and PNGs (default: runs/eval/<model_id>)")
    parser.add_argument("--backend", choices=("auto", "torch", "onnxruntime"), default="auto")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--limit-samples", type=int, help="score at most N samples (default: the training limit)"
    )
    parser.add_argument(
        "--max-drive-plots", type=int, default=DEFAULT_MAX_DRIVE_PLOTS, help="cap on per-drive PNGs"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNGs")


def training_data_settings(meta: dict[str, Any]) -> dict[str, Any]:
    """How the checkpoint's training run read and split its data (from its provenance).

    What the provenance lacks (a random checkpoint, an old file) falls back to the training
    config's defaults (`DataSection`), so the evaluator and the export read data as `train` does.
    """
    from rssi_ros.training.config import DataSection

    defaults = DataSection()
    provenance = meta.get("provenance") or {}
    config = provenance.get("config") or {}
    data = provenance.get("data") or {}
    split = data.get("split") or {}
    cfg_data = config.get("data") or {}
    return {
        "paths": data.get("paths") or cfg_data.get("paths") or [],
        "protocol": split.get("protocol") or cfg_data.get("protocol", defaults.protocol),
        "seed": split.get("seed", cfg_data.get("split_seed", defaults.split_seed)),
        "fractions": split.get("fractions") or cfg_data.get("fractions") or list(defaults.fractions),
        "limit": data.get("limit_samples"),
        "gps_column": cfg_data.get("gps_column", defaults.gps_column),
        "split_sha256": split.get("sha256"),
        "datasets": data.get("datasets") or [],
    }


def run(args: argparse.Namespace) -> int:
    from rssi_ros.inference.dependencies import ExportDependencyError
    from rssi_ros.inference.predictor import Predictor
    from rssi_ros.model.checkpoint import CheckpointError

    try:
        predictor = Predictor.load(args.checkpoint, backend=args.backend, device=args.device)
    except (CheckpointError, ExportDependencyError, ValueError) as exc:
        log.error("evaluate: %s", exc)
        return 2
    try:
        report = evaluate(predictor, args)
    except (ValueError, FileNotFoundError, OSError) as exc:
        log.error("evaluate: %s", exc)
        return 2
    return 0 if report else 1


def evaluate(predictor, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from rssi_ros.data.cache import open_cache
    from rssi_ros.data.readers import ReaderOptions, all_samples, read_datasets
    from rssi_ros.data.splits import make_split
    from rssi_ros.evaluation.baselines import (
        baseline_rows,
        default_baselines,
        position_table,
        scenario_blind_baselines,
    )
    from rssi_ros.evaluation.model_eval import evaluate_samples
    from rssi_ros.evaluation.plots import drive_plots, error_histogram
    from rssi_ros.evaluation.selection import labelled, limit_samples
    from rssi_ros.evaluation.tables import table_iii

    trained = training_data_settings(predictor.metadata)
    same_data = not args.data
    paths = [Path(p) for p in (args.data or trained["paths"])]
    if not paths:
        raise ValueError("no data: pass --data (the checkpoint records no training data paths)")
    uses_image = "image" in predictor.supported_modalities
    options = ReaderOptions(
        gps_column=trained["gps_column"],
        classes=predictor.preprocess_config.classes,
        attach_images=uses_image,
    )
    datasets = read_datasets(paths, options)
    limit = (
        args.limit_samples if args.limit_samples is not None else (trained["limit"] if same_data else None)
    )
    samples = limit_samples(labelled(all_samples(datasets)), limit)
    if not samples:
        raise ValueError(f"no labelled samples in {[str(p) for p in paths]}")

    protocol = args.protocol or trained["protocol"]
    seed = args.split_seed if args.split_seed is not None else trained["seed"]
    split = None
    if args.split == "all":
        chosen = np.arange(len(samples))
    else:
        split = make_split(samples, protocol, seed, tuple(trained["fractions"]))
        chosen = split.part(args.split)
        if (
            split.to_json()
            and trained["split_sha256"]
            and protocol == trained["protocol"]
            and seed == trained["seed"]
        ):
            import hashlib

            same = hashlib.sha256(split.to_json().encode()).hexdigest() == trained["split_sha256"]
            if same:
                log.info("split identical to the training run's (%s, seed %d)", protocol, seed)
            else:
                log.warning(
                    "split differs from the training run's (other data): the part may overlap training"
                )
        elif same_data and protocol != trained["protocol"]:
            log.warning(
                "protocol %s differs from training (%s): this %s part overlaps the model's training data",
                protocol,
                trained["protocol"],
                args.split,
            )
    if chosen.size == 0:
        raise ValueError(f"the {args.split} part is empty")
    cache = (
        open_cache(samples, predictor.preprocess_config)
        if uses_image and any(s.has_image for s in samples)
        else None
    )
    scored = [samples[i] for i in chosen]
    t0 = time.perf_counter()
    result = evaluate_samples(predictor, scored, cache)
    seconds = time.perf_counter() - t0
    metrics = result.metrics()
    cfg = predictor.model_config

    rows = [(predictor.model_name, metrics)]
    notes = []
    if not cfg.learns_path_loss:
        notes.append(
            "PL is the closed form 10 n log10(d) of the GPS distance (not learned): its error is 0 by "
            "construction."
        )
    baselines: list[dict] = []
    if split is not None and split.train.size:
        table = position_table(samples)
        chosen_baselines = default_baselines(predictor.label) + scenario_blind_baselines()
        baselines = baseline_rows(
            table, split, parts=(args.split,), per_scenario=False, baselines=chosen_baselines
        )
        rows += [(f"baseline: {r['predictor']}", {"rssi": r}) for r in baselines]
        notes.append(
            "baselines are fitted per scenario (they know each sample's scenario; the model does not), "
            "except *_any_scenario"
        )
    elif split is None:
        notes.append("no baselines with --split all (they need a training part of the same data)")
    noise = [
        d.meta.get("irreducible_noise", {}).get("std_db") for d in datasets if d.meta.get("irreducible_noise")
    ]
    if noise:
        notes.append(
            f"irreducible noise of the scene(s) (scenario.yaml): {', '.join(f'{v:.3f}' for v in noise)} dB"
        )
    where = protocol if split is not None else "all samples"
    title = f"Table III - {predictor.model_id} on {args.split} ({where}, n={result.n})"
    print(title)
    print(table_iii(rows, notes))

    report: dict[str, Any] = {
        **{q: metrics[q] for q in ("rssi", "pl", "sh")},
        "n": result.n,
        "model_id": predictor.model_id,
        "model": predictor.model_name,
        "backend": predictor.backend,
        "checkpoint": str(args.checkpoint),
        "data": [str(p) for p in paths],
        "split": args.split,
        "protocol": protocol if split is not None else None,
        "split_seed": seed if split is not None else None,
        "per_scenario": result.per_scenario(),
        "baselines": baselines,
        "irreducible_noise_db": noise,
        "modality_bits_used": {
            str(int(b)): int(c)
            for b, c in zip(*np.unique(result.modalities, return_counts=True), strict=True)
        },
        "seconds": seconds,
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    results = {"with distractors": result}
    if args.no_interference:
        clean = evaluate_samples(predictor, scored, cache, interference_removed=True)
        clean_metrics = clean.metrics()
        report["no_interference"] = {q: clean_metrics[q] for q in ("rssi", "pl", "sh")} | {"n": clean.n}
        results["distractors removed"] = clean
        print()
        print(
            f"Table IV - {predictor.model_id}: with and without distractor boxes ({args.split}, n={clean.n})"
        )
        print(table_iii([("with distractors", metrics), ("distractors removed", clean_metrics)]))

    out = args.out or Path("runs") / "eval" / predictor.model_id.replace("@", "_")
    json_path = args.json or out / "evaluation.json"
    if not args.no_plots:
        hist = error_histogram(results, out / "error_histogram.png", f"{predictor.model_id} ({args.split})")
        drives = drive_plots(result, out / "drives", predictor.model_name, args.max_drive_plots)
        report["plots"] = {"error_histogram": str(hist), "drives": [str(p) for p in drives.written]}
        report["drive_plots"] = drives.to_dict()
    json_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = json_path.with_name(f".{json_path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=2, default=float))
    tmp.replace(json_path)
    print(f"\nwrote {json_path}" + ("" if args.no_plots else f" and plots under {out}"))
    if not args.no_plots and drives.not_plotted:
        names = ", ".join(f"{s} drive {q}" for s, q in drives.not_plotted)
        print(
            f"drive plots: {len(drives.written)} of {len(drives.written) + len(drives.not_plotted)} drives "
            f"(--max-drive-plots {args.max_drive_plots}); not plotted: {names} (listed in the JSON)"
        )
    return report
