"""`python -m rssi_ros data stats|baselines PATH...`: look at a dataset before training on it.

stats: samples, drives, modalities, skipped rows by reason, samples whose distance the label
clamps to the minimum, and the RSSI spread per scenario.
baselines: RMSE / MAE / share within 1 dB of the trivial predictors on both split protocols,
pooled over scenarios and per scenario, for one or more seeds. Both print tables and write JSON
(default under `runs/data/`); baselines also saves every split it used next to the JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rssi_ros.data.preprocess import count_clamped
from rssi_ros.data.readers import GPS_CALIBRATED, GPS_RAW, Dataset, ReaderOptions, read_datasets
from rssi_ros.data.readers.dataset import DEFAULT_BBOX_DIR
from rssi_ros.data.splits import DRIVE, FRAME, make_split
from rssi_ros.physics.labels import LabelDefinition

log = logging.getLogger(__name__)

DEFAULT_DIR = Path("runs") / "data"
BOTH = "both"
# Columns of `data stats` that add up over datasets (the pooled row sums them).
SUMMED_COLUMNS = ("samples", "drives", "images", "boxes", "skipped", "clamped")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    stats = sub.add_parser("stats", help="samples, drives, skipped rows, RSSI spread per scenario")
    baselines = sub.add_parser("baselines", help="trivial predictors on the frame and drive splits")
    for p in (stats, baselines):
        p.add_argument(
            "paths",
            nargs="+",
            metavar="PATH",
            help="scenario folder or CSV, challenge folder or CSV, scenarioN.npz, or a folder of .npz",
        )
        p.add_argument("--gps", choices=(GPS_RAW, GPS_CALIBRATED), default=GPS_RAW, help="transmitter fix")
        p.add_argument("--bbox-dir", default=DEFAULT_BBOX_DIR, help="YOLO label folder (scenario-relative)")
        p.add_argument("--limit", type=int, default=None, help="read at most N samples per dataset")
        p.add_argument("--json", type=Path, default=None, help="write results here (default runs/data/)")
    stats.add_argument(
        "--min-distance-m",
        type=float,
        default=LabelDefinition().min_distance_m,
        help="label distance clamp, as in the training config's label.min_distance_m (default %(default)s)",
    )
    baselines.add_argument("--seed", type=int, nargs="+", default=[0], help="split seed(s), e.g. 0 1 2 3 4")
    baselines.add_argument("--protocol", choices=(FRAME, DRIVE, BOTH), default=BOTH)
    baselines.add_argument("--part", choices=("test", "val"), default="test", help="evaluated split part")


def run(args: argparse.Namespace) -> int:
    options = ReaderOptions(gps_column=args.gps, bbox_dir=args.bbox_dir, attach_images=True, limit=args.limit)
    try:
        datasets = read_datasets(args.paths, options, unique_names=args.data_command != "stats")
    except (OSError, ValueError) as exc:
        log.error("cannot read the data: %s", exc)
        return 2
    if args.data_command == "stats":
        try:
            label = LabelDefinition(min_distance_m=args.min_distance_m)
        except ValueError as exc:
            log.error("--min-distance-m: %s", exc)
            return 2
        return _stats(datasets, args, label)
    return _baselines(datasets, args)


def _table(rows: list[dict], columns: list[str] | None = None) -> str:
    from rssi_ros.bench.report import table

    return table(rows, columns)


def _write(name: str, results: dict, path: Path | None) -> Path:
    out = path or DEFAULT_DIR / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    payload = {"command": f"data {name}", "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    tmp.write_text(json.dumps({**payload, **results}, indent=2, default=str))
    tmp.replace(out)
    return out


def dataset_stats(d: Dataset, label: LabelDefinition | None = None) -> dict:
    """One row of `data stats`: counts, modalities, clamped distances and the RSSI spread of a dataset.

    `clamped` counts samples closer than `label.min_distance_m`, whose path-loss label is that of
    the minimum distance (see `data.preprocess.clamped_distances`).
    """
    rssi = np.array([s.rssi_db for s in d.samples if s.rssi_db is not None], dtype=np.float64)
    drives = {s.seq_index for s in d.samples if s.seq_index >= 0}
    row = {
        "scenario": d.name,
        "source": d.source,
        "samples": len(d),
        "drives": len(drives),
        "images": sum(s.has_image for s in d.samples),
        "boxes": sum(s.has_boxes for s in d.samples),
        "skipped": d.n_skipped,
        "clamped": count_clamped(d.samples, label or LabelDefinition()),
    }
    if rssi.size:
        row.update(
            rssi_mean=float(rssi.mean()),
            rssi_std=float(rssi.std()),
            rssi_min=float(rssi.min()),
            rssi_max=float(rssi.max()),
        )
    return row


def _stats(datasets: list[Dataset], args: argparse.Namespace, label: LabelDefinition) -> int:
    rows = [dataset_stats(d, label) for d in datasets]
    pooled = np.array([s.rssi_db for d in datasets for s in d.samples if s.rssi_db is not None])
    total = {
        "scenario": "all",
        "source": "",
        **{k: sum(r[k] for r in rows) for k in SUMMED_COLUMNS},
    }
    if pooled.size:
        total.update(
            rssi_mean=float(pooled.mean()),
            rssi_std=float(pooled.std()),
            rssi_min=float(pooled.min()),
            rssi_max=float(pooled.max()),
        )
    print(_table([*rows, total]))
    skipped = [
        {"scenario": d.name, "reason": r, "rows": n} for d in datasets for r, n in sorted(d.skipped.items())
    ]
    masked = [
        {"scenario": d.name, "masked": m, "samples": n}
        for d in datasets
        for m, n in sorted(d.meta.get("reader", {}).get("masked", {}).items())
    ]
    if skipped:
        print("\nskipped rows by reason")
        print(_table(skipped))
    if masked:
        print("\nmasked modalities (sample kept, modality missing)")
        print(_table(masked))
    out = _write(
        "stats",
        {
            "paths": [str(p) for p in args.paths],
            "label": label.to_dict(),
            "scenarios": rows,
            "pooled": total,
            "skipped": {d.name: dict(d.skipped) for d in datasets},
            "reader": {d.name: d.meta.get("reader", {}) for d in datasets},
        },
        args.json,
    )
    print(f"\nwrote {out}")
    return 0


def _summary(rows: list[dict]) -> list[dict]:
    """Mean (and min-max over seeds) of each (protocol, predictor, scenario) group."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["protocol"], r["predictor"], r["scenario"]), []).append(r)
    out = []
    for (protocol, predictor, scenario), rs in groups.items():
        rmse = np.array([r["rmse"] for r in rs])
        out.append(
            {
                "protocol": protocol,
                "predictor": predictor,
                "scenario": scenario,
                "seeds": len(rs),
                "rmse": float(rmse.mean()),
                "rmse_min": float(rmse.min()),
                "rmse_max": float(rmse.max()),
                "mae": float(np.mean([r["mae"] for r in rs])),
                "within_1db": float(np.mean([r["within_1db"] for r in rs])),
                "n": int(np.mean([r["n"] for r in rs])),
            }
        )
    return out


def _baselines(datasets: list[Dataset], args: argparse.Namespace) -> int:
    from rssi_ros.evaluation.baselines import POOLED, baseline_rows, position_table

    samples = [s for d in datasets for s in d.samples]
    if not samples:
        log.error("no samples read from %s; nothing to fit", args.paths)
        return 1
    protocols = [FRAME, DRIVE] if args.protocol == BOTH else [args.protocol]
    out_path = args.json or DEFAULT_DIR / "baselines.json"
    split_dir = out_path.with_name(out_path.stem + "_splits")
    table = position_table(samples)
    rows: list[dict] = []
    splits: dict[str, str] = {}
    refused: dict[str, str] = {}
    for protocol in protocols:
        for seed in args.seed:
            try:
                split = make_split(samples, protocol, seed)
            except ValueError as exc:
                log.error("%s split not possible: %s", protocol, exc)
                refused[protocol] = str(exc)
                break
            path = split_dir / f"{protocol}_seed{seed}.json"
            split.to_json(path)
            splits[f"{protocol}_seed{seed}"] = str(path)
            rows.extend(baseline_rows(table, split, parts=(args.part,)))
    summary = _summary(rows)
    seeds = " ".join(str(s) for s in args.seed)
    for protocol in protocols:
        pooled = [r for r in summary if r["protocol"] == protocol and r["scenario"] == POOLED]
        if not pooled:
            continue
        print(f"\n{protocol} split, {args.part} part, pooled over scenarios, seeds {seeds}")
        print(_table(pooled, ["predictor", "rmse", "rmse_min", "rmse_max", "mae", "within_1db", "n"]))
        per = [r for r in summary if r["protocol"] == protocol and r["scenario"] != POOLED]
        print(f"\n{protocol} split, per scenario (RMSE dB, mean over seeds)")
        print(_per_scenario_table(per))
    result = {
        "paths": [str(p) for p in args.paths],
        "part": args.part,
        "seeds": list(args.seed),
        "protocols": protocols,
        "refused": refused,
        "samples": len(samples),
        "skipped": dict(sum((d.skipped for d in datasets), Counter())),
        "splits": splits,
        "summary": summary,
        "rows": rows,
    }
    for protocol, reason in refused.items():
        print(f"\n{protocol} split refused: {reason}")
    out = _write("baselines", result, out_path)
    print(f"\nwrote {out} (splits in {split_dir})")
    return 0 if rows else 1


def _per_scenario_table(rows: list[dict]) -> str:
    """Scenarios as rows, predictors as columns (RMSE), plus the test size."""
    predictors = list(dict.fromkeys(r["predictor"] for r in rows))
    by_scenario: dict[str, dict] = {}
    for r in rows:
        entry = by_scenario.setdefault(r["scenario"], {"scenario": r["scenario"], "n": r["n"]})
        entry[r["predictor"]] = r["rmse"]
    return _table(list(by_scenario.values()), ["scenario", *predictors, "n"])
