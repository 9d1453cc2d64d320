"""Accuracy of RSSI predictions in dB: the figures every report prints (RMSE, MAE, share within 1 dB)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# |error| at or below this counts as "within 1 dB".
WITHIN_DB = 1.0


def regression_metrics(pred: ArrayLike, true: ArrayLike) -> dict[str, float | int]:
    """{"rmse", "mae", "within_1db", "n"} of predictions against labels (dB).

    within_1db is the share (0..1) of samples with |pred - true| <= 1 dB. With no samples the
    three figures are NaN and n is 0 (an empty split part is reported, not hidden). Shapes must
    match and values must be finite: a NaN prediction is a bug upstream, not a number to average.
    """
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    if np.shape(pred) != np.shape(true):
        raise ValueError(f"pred and true must have the same shape, got {np.shape(pred)} and {np.shape(true)}")
    if not (np.all(np.isfinite(p)) and np.all(np.isfinite(t))):
        raise ValueError("pred and true must be finite")
    if p.size == 0:
        return {"rmse": float("nan"), "mae": float("nan"), "within_1db": float("nan"), "n": 0}
    err = p - t
    return {
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mae": float(np.mean(np.abs(err))),
        "within_1db": float(np.mean(np.abs(err) <= WITHIN_DB)),
        "n": int(p.size),
    }
