"""Decibel conversions of power quantities (10 log10, not 20 log10: these are powers)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray


def linear_to_db(power: ArrayLike) -> NDArray[np.float64]:
    """10*log10(power). Non-positive power has no dB value and raises instead of giving -inf/NaN."""
    p = np.asarray(power, dtype=np.float64)
    if np.any(~(p > 0)):
        raise ValueError("power must be positive and finite to be expressed in dB")
    return 10.0 * np.log10(p)


def db_to_linear(db: ArrayLike) -> NDArray[np.float64]:
    return np.power(10.0, np.asarray(db, dtype=np.float64) / 10.0)


def mean_power_db(beam_powers: ArrayLike, axis: int = -1) -> NDArray[np.float64]:
    """The paper's RSSI label: 10*log10 of the mean of the linear beam powers.

    Averaging happens in the linear domain (the mean of dB values would be a different,
    smaller quantity). Raises when a row has no positive mean power.
    """
    p = np.asarray(beam_powers, dtype=np.float64)
    if not np.all(np.isfinite(p)):
        raise ValueError("beam powers must be finite")
    return linear_to_db(p.mean(axis=axis))
