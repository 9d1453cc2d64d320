"""Min-max normalisation of the relative position (east, north).

Fitted on the training split only and stored in the checkpoint; inference applies the stored
statistics and never refits (a refit on test or live data would shift the model's inputs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class MinMaxNormaliser:
    """Maps each column from [minimum, maximum] to [0, 1]; values outside extrapolate linearly."""

    minimum: tuple[float, ...]
    maximum: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.minimum) != len(self.maximum):
            raise ValueError("minimum and maximum must have the same length")
        lo, hi = np.asarray(self.minimum), np.asarray(self.maximum)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise ValueError("normalisation statistics must be finite")
        if np.any(hi < lo):
            raise ValueError("maximum must not be below minimum")

    @classmethod
    def fit(cls, values: ArrayLike) -> MinMaxNormaliser:
        v = np.asarray(values, dtype=np.float64)
        if v.ndim != 2 or v.shape[0] == 0:
            raise ValueError("fit needs a non-empty (N, D) array")
        return cls(tuple(float(x) for x in v.min(axis=0)), tuple(float(x) for x in v.max(axis=0)))

    @property
    def _span(self) -> NDArray[np.float64]:
        span = np.asarray(self.maximum) - np.asarray(self.minimum)
        # A constant column (e.g. a single training point) maps to 0 instead of dividing by zero.
        return np.where(span > 0, span, 1.0)

    def transform(self, values: ArrayLike) -> NDArray[np.float64]:
        return (np.asarray(values, dtype=np.float64) - np.asarray(self.minimum)) / self._span

    def inverse(self, values: ArrayLike) -> NDArray[np.float64]:
        return np.asarray(values, dtype=np.float64) * self._span + np.asarray(self.minimum)

    def to_dict(self) -> dict[str, list[float]]:
        return {"minimum": list(self.minimum), "maximum": list(self.maximum)}

    @classmethod
    def from_dict(cls, d: dict) -> MinMaxNormaliser:
        return cls(tuple(float(x) for x in d["minimum"]), tuple(float(x) for x in d["maximum"]))
