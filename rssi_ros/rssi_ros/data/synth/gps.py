"""GPS fixes of the transmitter: the exact position (`unit2_loc_cal`) and a noisy one (`unit2_loc`).

The error is a first-order Gauss-Markov process per axis (slowly wandering, as GPS errors are),
with a configurable standard deviation and correlation time, drawn per drive from its own stream.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.synth.rng import Stream, stream
from rssi_ros.data.synth.scene import Drive, ScenePlan
from rssi_ros.physics.geodesy import offset_latlon


@dataclass(frozen=True)
class TxFixes:
    enu: NDArray[np.float64]  # (F, 2) true east/north of the Tx antenna (the car's centre)
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    noisy_lat: NDArray[np.float64]
    noisy_lon: NDArray[np.float64]
    error_m: NDArray[np.float64]  # (F, 2) east/north GPS error


def gauss_markov(
    rng: np.random.Generator, times: NDArray[np.float64], std: float, tau: float, dims: int = 2
) -> NDArray[np.float64]:
    """Stationary Gauss-Markov samples at the given times: std `std`, correlation exp(-dt / tau)."""
    out = np.zeros((len(times), dims))
    if std == 0 or len(times) == 0:
        return out
    xi = rng.standard_normal((len(times), dims))
    out[0] = std * xi[0]
    for k in range(1, len(times)):
        rho = np.exp(-(times[k] - times[k - 1]) / tau)
        out[k] = rho * out[k - 1] + np.sqrt(1.0 - rho * rho) * std * xi[k]
    return out


def tx_fixes(plan: ScenePlan, drive: Drive) -> TxFixes:
    site = plan.config.site
    enu = drive.tx.position(drive.times)
    lat, lon = offset_latlon(site.lat, site.lon, enu[:, 0], enu[:, 1])
    g = plan.config.gps
    err = gauss_markov(
        stream(plan.seed, Stream.GPS, drive.seq_index), drive.times, g.noise_std_m, g.correlation_s
    )
    noisy = enu + err
    nlat, nlon = offset_latlon(site.lat, site.lon, noisy[:, 0], noisy[:, 1])
    return TxFixes(enu, lat, lon, nlat, nlon, err)
