"""`python -m rssi_ros export --checkpoint CKPT --out model.onnx [--data PATH...]`.

Exports, then proves the export: ONNX Runtime and torch must agree within 1e-3 dB on random inputs
and, with `--data`, on real samples preprocessed by the one preprocessing path. The file is only
written when the check passes; otherwise the command exits non-zero and says by how much it failed.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rssi_ros.inference.parity import PARITY_TOLERANCE_DB

log = logging.getLogger(__name__)

DEFAULT_CHECK_SAMPLES = 64
CHECK_BATCH = 16


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, type=Path, help="a .pt checkpoint written by `train`")
    parser.add_argument("--out", required=True, type=Path, help="the .onnx file to write (plus OUT.json)")
    parser.add_argument("--data", nargs="*", type=Path, default=[], help="datasets for the real-sample check")
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


def _real_batches(ckpt, model, paths: list[Path], n: int):
    import numpy as np

    from rssi_ros.data.preprocess import preprocess
    from rssi_ros.data.readers import read_datasets
    from rssi_ros.model.batch import collate

    samples = [s for ds in read_datasets(paths) for s in ds.samples]
    if not samples:
        raise SystemExit(f"export: no samples in {[str(p) for p in paths]}")
    picks = np.unique(np.linspace(0, len(samples) - 1, min(n, len(samples))).round().astype(int))
    inputs = [preprocess(samples[i], ckpt.preprocess_config, ckpt.normaliser) for i in picks]
    return [
        collate(inputs[i : i + CHECK_BATCH], with_image=model.config.uses_image)
        for i in range(0, len(inputs), CHECK_BATCH)
    ]


def run(args: argparse.Namespace) -> int:
    from rssi_ros.inference.onnx_export import DEFAULT_OPSET, export_checkpoint, write_export
    from rssi_ros.inference.parity import compare, random_batches
    from rssi_ros.inference.predictor import model_id_of
    from rssi_ros.model.checkpoint import CheckpointError, file_sha256, load_checkpoint

    try:
        ckpt = load_checkpoint(args.checkpoint)
    except CheckpointError as exc:
        log.error("%s", exc)
        return 2
    sha = file_sha256(args.checkpoint)
    data, meta = export_checkpoint(ckpt, source_sha256=sha, opset=args.opset or DEFAULT_OPSET)
    model = ckpt.build_model("cpu")
    report = compare(model, data, random_batches(model), "random inputs")
    if args.data:
        report = compare(
            model, data, _real_batches(ckpt, model, args.data, args.check_samples), "real samples", report
        )
    else:
        log.warning("no --data given: parity checked on random inputs only")
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
        return 1
    meta["parity"] = {**report.to_dict(), "tolerance_db": args.tolerance_db}
    write_export(args.out, data, meta)
    onnx_id = model_id_of(ckpt.model_name, sha256=file_sha256(args.out))
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB, model_id {onnx_id})")
    print(
        f"parity ONNX Runtime vs torch on {report.n_samples} samples ({', '.join(report.sources)}): {diffs}"
    )
    return 0
