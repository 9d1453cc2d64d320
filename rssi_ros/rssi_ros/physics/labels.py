"""The paper's label decomposition: RSSI = -(PL + SH), PL = 10 n log10(d), SH = -RSSI - PL.

PL is a closed form of the distance; SH is whatever remains (blockage, shadowing, and the unknown
transmit power and antenna gains, which is why it is a proxy and is often negative). The
decomposition is exact by construction, so recombining the two labels returns the RSSI label.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class LabelDefinition:
    """How labels are defined; saved in every checkpoint so inference uses the same definition.

    The paper does not state its path-loss exponent; 2.0 (free space) is the default.
    Distances below `min_distance_m` are clamped so log10 never sees 0 (and PL never goes negative).
    """

    path_loss_exponent: float = 2.0
    min_distance_m: float = 1.0

    def __post_init__(self) -> None:
        if not np.isfinite(self.path_loss_exponent) or self.path_loss_exponent <= 0:
            raise ValueError(f"path_loss_exponent must be positive, got {self.path_loss_exponent}")
        if not np.isfinite(self.min_distance_m) or self.min_distance_m <= 0:
            raise ValueError(f"min_distance_m must be positive, got {self.min_distance_m}")

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> LabelDefinition:
        return cls(float(d["path_loss_exponent"]), float(d["min_distance_m"]))


@dataclass(frozen=True)
class Labels:
    """Decomposed labels, dB. `clamped` marks samples whose distance was raised to the minimum."""

    rssi_db: NDArray[np.float64]
    path_loss_db: NDArray[np.float64]
    shadow_fading_db: NDArray[np.float64]
    clamped: NDArray[np.bool_]

    @property
    def n_clamped(self) -> int:
        return int(np.count_nonzero(self.clamped))


def path_loss_db(
    distance_m: ArrayLike, definition: LabelDefinition
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """PL = 10 n log10(max(d, d_min)) in dB, and which distances were clamped."""
    d = np.asarray(distance_m, dtype=np.float64)
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distances must be finite and non-negative")
    clamped = d < definition.min_distance_m
    d_eff = np.maximum(d, definition.min_distance_m)
    return 10.0 * definition.path_loss_exponent * np.log10(d_eff), clamped


def decompose(rssi_db: ArrayLike, distance_m: ArrayLike, definition: LabelDefinition) -> Labels:
    """Split RSSI labels into path loss and the shadow-fading proxy."""
    rssi = np.asarray(rssi_db, dtype=np.float64)
    if not np.all(np.isfinite(rssi)):
        raise ValueError("RSSI labels must be finite")
    pl, clamped = path_loss_db(distance_m, definition)
    rssi_b, pl_b, clamped_b = np.broadcast_arrays(rssi, pl, clamped)
    sh = -rssi_b - pl_b
    return Labels(
        rssi_db=rssi_b.copy(), path_loss_db=pl_b.copy(), shadow_fading_db=sh, clamped=clamped_b.copy()
    )


def recombine(path_loss: ArrayLike, shadow_fading: ArrayLike) -> NDArray[np.float64]:
    """RSSI = -(PL + SH)."""
    return -(np.asarray(path_loss, dtype=np.float64) + np.asarray(shadow_fading, dtype=np.float64))
