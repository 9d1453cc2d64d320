"""Lighting of one drive (day or dusk): sun direction, ambient light, sky colours, lamps on or off.

Drawn once per drive, so a drive looks consistent while drives differ, which is what a camera at
a fixed place sees over an afternoon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

DAY_SUN_ELEVATION_DEG = (25.0, 70.0)
DUSK_SUN_ELEVATION_DEG = (2.0, 10.0)
BRIGHTNESS_JITTER = (0.9, 1.1)


@dataclass(frozen=True)
class Lighting:
    name: str  # "day" or "dusk"
    sun: tuple[float, float, float]  # unit vector towards the sun (ENU)
    ambient: float
    sun_strength: float
    tint: tuple[float, float, float]  # RGB multipliers of sunlit colours
    sky_zenith: tuple[int, int, int]
    sky_horizon: tuple[int, int, int]
    lamps_on: bool

    @property
    def is_dusk(self) -> bool:
        return self.name == "dusk"

    def shade(self, color: NDArray[np.float64], normals: NDArray[np.float64]) -> NDArray[np.float64]:
        """Lambert shading of base colours (..., 3) for faces with normals (..., 3); RGB 0..255 floats."""
        lambert = np.clip(normals @ np.asarray(self.sun), 0.0, None)
        # Sky light falls mostly on upward faces: a cheap stand-in for ambient occlusion.
        sky = self.ambient * (0.75 + 0.25 * normals[..., 2])
        factor = (sky + self.sun_strength * lambert)[..., None]
        return np.clip(color * factor * np.asarray(self.tint), 0.0, 255.0)


def draw_lighting(rng: np.random.Generator, dusk_probability: float) -> Lighting:
    dusk = bool(rng.random() < dusk_probability)
    azimuth = math.radians(rng.uniform(0.0, 360.0))
    elev = math.radians(rng.uniform(*(DUSK_SUN_ELEVATION_DEG if dusk else DAY_SUN_ELEVATION_DEG)))
    gain = float(rng.uniform(*BRIGHTNESS_JITTER))
    sun = (math.sin(azimuth) * math.cos(elev), math.cos(azimuth) * math.cos(elev), math.sin(elev))
    if dusk:
        return Lighting(
            name="dusk",
            sun=sun,
            ambient=0.42 * gain,
            sun_strength=0.35 * gain,
            tint=(1.0, 0.78, 0.62),
            sky_zenith=(40, 48, 92),
            sky_horizon=(236, 140, 82),
            lamps_on=True,
        )
    return Lighting(
        name="day",
        sun=sun,
        ambient=0.62 * gain,
        sun_strength=0.5 * gain,
        tint=(1.0, 1.0, 0.97),
        sky_zenith=(92, 142, 214),
        sky_horizon=(196, 218, 236),
        lamps_on=False,
    )
