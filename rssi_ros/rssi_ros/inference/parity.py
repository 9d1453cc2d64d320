"""Check that an exported ONNX graph computes what the torch model computes (in dB)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from rssi_ros.inference.backends import OnnxRuntimeBackend, TorchBackend
from rssi_ros.model.batch import Batch, random_batch
from rssi_ros.model.networks import OUTPUT_NAMES, RssiModel

# The export contract: ONNX Runtime and torch agree within this many dB on every output.
PARITY_TOLERANCE_DB = 1e-3
RANDOM_BATCH_SIZES = (1, 7)


@dataclass
class ParityReport:
    """Largest absolute difference per output over all checked samples."""

    max_abs_diff_db: dict[str, float] = field(default_factory=lambda: dict.fromkeys(OUTPUT_NAMES, 0.0))
    n_samples: int = 0
    sources: list[str] = field(default_factory=list)

    @property
    def worst_db(self) -> float:
        return max(self.max_abs_diff_db.values()) if self.max_abs_diff_db else 0.0

    def ok(self, tolerance_db: float = PARITY_TOLERANCE_DB) -> bool:
        return self.n_samples > 0 and self.worst_db <= tolerance_db

    def to_dict(self) -> dict:
        return {"max_abs_diff_db": self.max_abs_diff_db, "n_samples": self.n_samples, "sources": self.sources}


def compare(
    model: RssiModel,
    onnx_bytes: bytes,
    batches: Iterable[Batch],
    source: str,
    report: ParityReport | None = None,
) -> ParityReport:
    """Run each batch through both backends and record the largest differences.

    The reference is the eager model (`freeze=False`): the torch backend's default traced and
    frozen graph is itself an approximation of eager, and the export must match the model.
    """
    report = report or ParityReport()
    torch_backend = TorchBackend(model, "cpu", freeze=False)
    ort_backend = OnnxRuntimeBackend(onnx_bytes, "cpu")
    for batch in batches:
        ref, got = torch_backend.run(batch), ort_backend.run(batch)
        for name, a, b in zip(OUTPUT_NAMES, ref, got, strict=True):
            report.max_abs_diff_db[name] = max(report.max_abs_diff_db[name], max_abs_diff(a, b))
        report.n_samples += len(batch)
    report.sources.append(source)
    return report


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b|; inf when either side holds a non-finite value.

    (A NaN must fail the check: `max(previous, nan)` would silently keep `previous`.)
    """
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def random_batches(model: RssiModel, seed: int = 0) -> list[Batch]:
    pre = model.preprocess
    return [
        random_batch(n, pre.image_size, pre.max_objects, pre.box_features, seed=seed + i)
        for i, n in enumerate(RANDOM_BATCH_SIZES)
    ]
