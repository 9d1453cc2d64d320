"""`python -m rssi_ros export --checkpoint CKPT --out model.onnx [--data PATH... | --random-only]`.

Exports, then proves the export: ONNX Runtime and eager torch must agree within 1e-3 dB on random
inputs AND on real samples preprocessed by the one preprocessing path. The real samples come from
`--data`, else from the training data recorded in the checkpoint (its provenance), read with the
checkpoint's class list and GPS column as the trainer read them. When neither is readable the
command refuses, unless `--random-only` explicitly accepts a check on random inputs alone (then
recorded in the metadata). The file is only written when the check passes; otherwise the command
exits non-zero and says by how much it failed.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rssi_ros.inference.parity import PARITY_TOLERANCE_DB

log = logging.getLogger(__name__)

DEFAULT_CHECK_SAMPLES = 64
CHECK_BATCH = 16
EXIT_PARITY_FAILED = 1
EXIT_REFUSED = 2
# Where the real samples of the check came from (recorded in the metadata's parity report).
DATA_FROM_ARGUMENT, DATA_FROM_CHECKPOINT = "--data", "checkpoint provenance"
CHOICE_HINT = "pass --data PATH... or --random-only (accept a parity check on random inputs only)"


class ParityDataError(ValueError):
    """The export cannot be checked as asked (no usable data, unreadable data)."""


@dataclass
class RealData:
    """The datasets of the real-sample check and where they came from."""

    paths: list[Path] = field(default_factory=list)
    source: str | None = None  # DATA_FROM_ARGUMENT | DATA_FROM_CHECKPOINT | None (--random-only)
    gps_column: str = "unit2_loc"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, type=Path, help="a .pt checkpoint written by `train`")
    parser.add_argument("--out", required=True, type=Path, help="the .onnx file to write (plus OUT.json)")
    data = parser.add_mutually_exclusive_group()
    data.add_argument(
        "--data",
        nargs="+",
        type=Path,
        help="datasets for the real-sample check (default: the checkpoint's recorded training data)",
    )
    data.add_argument(
        "--random-only",
        action="store_true",
        help="check parity on random inputs only (no real data; recorded in the metadata)",
    )
    parser.add_argument(
        "--check-samples",
        type=int,
        default=DEFAULT_CHECK_SAMPLES,
        help="real samples to compare (spread over the data)",
    )
    parser.add_argument(
        "--tolerance-db", type=float, default=PARITY_TOLERANCE_DB, help="largest allowed difference"
    )
    parser.add_argument("--opset", type=int, default=None, help="ONNX opset (default 17)")


def real_data(ckpt, data: list[Path] | None, random_only: bool) -> RealData:
    """The data of the real-sample check: `--data`, else the checkpoint's recorded training data.

    Raises `ParityDataError` (saying to pass --data or --random-only) when there is none to read.
    """
    from rssi_ros.evaluation.command import training_data_settings

    trained = training_data_settings(ckpt.metadata())
    gps = trained["gps_column"]
    if random_only:
        return RealData([], None, gps)
    if data:
        missing = [str(p) for p in data if not Path(p).exists()]
        if missing:
            raise ParityDataError(f"--data {missing} not found")
        return RealData([Path(p) for p in data], DATA_FROM_ARGUMENT, gps)
    recorded = [Path(p) for p in trained["paths"]]
    if recorded and all(p.exists() for p in recorded):
        return RealData(recorded, DATA_FROM_CHECKPOINT, gps)
    what = (
        f"the checkpoint's recorded training data {[str(p) for p in recorded]} is not readable here"
        if recorded
        else "the checkpoint records no training data"
    )
    raise ParityDataError(
        f"the parity check needs real samples, but no --data was given and {what}; {CHOICE_HINT}"
    )


def _real_batches(ckpt, model, data: RealData, n: int):
    """Up to `n` samples spread over the data, read and preprocessed as the trainer does."""
    import numpy as np

    from rssi_ros.data.preprocess import preprocess
    from rssi_ros.data.readers import ReaderOptions, all_samples, read_datasets
    from rssi_ros.model.batch import collate

    options = ReaderOptions(
        gps_column=data.gps_column,
        classes=ckpt.preprocess_config.classes,
        attach_images=model.config.uses_image,
    )
    try:
        samples = all_samples(read_datasets(data.paths, options))
    except (OSError, ValueError) as exc:
        raise ParityDataError(
            f"cannot read {[str(p) for p in data.paths]} ({data.source}): {exc}; {CHOICE_HINT}"
        ) from exc
    if not samples:
        raise ParityDataError(f"no samples in {[str(p) for p in data.paths]} ({data.source}); {CHOICE_HINT}")
    picks = np.unique(np.linspace(0, len(samples) - 1, min(n, len(samples))).round().astype(int))
    inputs = [preprocess(samples[i], ckpt.preprocess_config, ckpt.normaliser) for i in picks]
    return [
        collate(inputs[i : i + CHECK_BATCH], with_image=model.config.uses_image)
        for i in range(0, len(inputs), CHECK_BATCH)
    ]


def parity_record(report, tolerance_db: float, data: RealData) -> dict[str, Any]:
    """The parity report as stored in the metadata (embedded and sidecar)."""
    return {
        **report.to_dict(),
        "tolerance_db": tolerance_db,
        "random_only": data.source is None,
        "data": [str(p) for p in data.paths],
        "data_source": data.source,
    }


def run(args: argparse.Namespace) -> int:
    from rssi_ros.inference.dependencies import ExportDependencyError, require_export_dependencies
    from rssi_ros.inference.onnx_export import DEFAULT_OPSET, export_checkpoint, with_metadata, write_export
    from rssi_ros.inference.parity import compare, random_batches
    from rssi_ros.inference.predictor import model_id_of
    from rssi_ros.model.checkpoint import CheckpointError, file_sha256, load_checkpoint

    try:
        require_export_dependencies()
        ckpt = load_checkpoint(args.checkpoint)
        data_spec = real_data(ckpt, args.data, args.random_only)
    except (CheckpointError, ExportDependencyError, ParityDataError) as exc:
        log.error("export: %s", exc)
        return EXIT_REFUSED
    sha = file_sha256(args.checkpoint)
    data, meta = export_checkpoint(ckpt, source_sha256=sha, opset=args.opset or DEFAULT_OPSET)
    model = ckpt.build_model("cpu")
    report = compare(model, data, random_batches(model), "random inputs")
    if data_spec.source is None:
        log.warning("--random-only: parity checked on random inputs only (recorded in the metadata)")
    else:
        log.info("real-sample parity check on %s (%s)", [str(p) for p in data_spec.paths], data_spec.source)
        try:
            batches = _real_batches(ckpt, model, data_spec, args.check_samples)
        except ParityDataError as exc:
            log.error("export: %s", exc)
            return EXIT_REFUSED
        report = compare(model, data, batches, "real samples", report)
    diffs = ", ".join(f"{k} {v:.2e}" for k, v in report.max_abs_diff_db.items())
    if not report.ok(args.tolerance_db):
        log.error(
            "EXPORT FAILED: ONNX Runtime differs from torch by up to %.3e dB (> %.1e) on %d samples (%s); "
            "nothing written",
            report.worst_db,
            args.tolerance_db,
            report.n_samples,
            diffs,
        )
        return EXIT_PARITY_FAILED
    meta["parity"] = parity_record(report, args.tolerance_db, data_spec)
    write_export(args.out, with_metadata(data, meta), meta)
    onnx_id = model_id_of(ckpt.model_name, sha256=file_sha256(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, model_id {onnx_id})")
    print(
        f"parity ONNX Runtime vs torch on {report.n_samples} samples ({', '.join(report.sources)}): {diffs}"
    )
    if data_spec.source is None:
        print("parity checked on random inputs only (--random-only)")
    return 0
