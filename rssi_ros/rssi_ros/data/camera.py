"""Pinhole model of the basestation camera: projects WGS84 points into the image.

Shared by the synthetic generator (which renders with it and writes it to `scenario.yaml`) and the
node (which projects the transmitter's GPS fix to find its box among the detections), so both use
one definition of intrinsics and pose.

Frames: ENU at the camera's ground point; camera axes x right, y down, z forward (optical frame).
`heading_deg` is the compass direction of the optical axis (0 = north, 90 = east), `pitch_deg`
tilts it down (positive = looking down), `height_m` is the camera's height above the ground plane.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import yaml
from numpy.typing import ArrayLike, NDArray

from rssi_ros.physics.geodesy import relative_position


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics (pixels) and pose (WGS84 position, heading, pitch, height) of a pinhole camera."""

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    lat: float
    lon: float
    height_m: float
    heading_deg: float
    pitch_deg: float = 0.0

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy, self.lat, self.lon, self.height_m, self.heading_deg)
        if not all(math.isfinite(v) for v in (*values, self.pitch_deg)):
            raise ValueError("camera parameters must be finite")
        if self.width <= 0 or self.height <= 0 or self.fx <= 0 or self.fy <= 0:
            raise ValueError("camera width, height and focal lengths must be positive")

    @classmethod
    def from_fov(
        cls,
        width: int,
        height: int,
        hfov_deg: float,
        lat: float,
        lon: float,
        height_m: float,
        heading_deg: float,
        pitch_deg: float = 0.0,
    ) -> CameraModel:
        """Square-pixel camera with the principal point at the image centre."""
        f = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        return cls(width, height, f, f, width / 2.0, height / 2.0, lat, lon, height_m, heading_deg, pitch_deg)

    def rotation(self) -> NDArray[np.float64]:
        """3x3 matrix taking ENU vectors (relative to the camera) to the optical frame."""
        h, p = math.radians(self.heading_deg), math.radians(self.pitch_deg)
        forward = np.array([math.sin(h) * math.cos(p), math.cos(h) * math.cos(p), -math.sin(p)])
        right = np.array([math.cos(h), -math.sin(h), 0.0])
        down = np.cross(forward, right)
        return np.stack([right, down, forward])

    def project_enu(
        self, enu: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Project ENU points (..., 3) given relative to the camera's ground point.

        Returns pixel u, v and whether each point lies in front of the camera (z > 0).
        Points behind the camera get NaN pixels.
        """
        p = np.asarray(enu, dtype=np.float64) - np.array([0.0, 0.0, self.height_m])
        cam = p @ self.rotation().T
        z = cam[..., 2]
        in_front = z > 1e-6
        with np.errstate(divide="ignore", invalid="ignore"):
            u = np.where(in_front, self.fx * cam[..., 0] / z + self.cx, np.nan)
            v = np.where(in_front, self.fy * cam[..., 1] / z + self.cy, np.nan)
        return u, v, in_front

    def project_latlon(
        self, lat: ArrayLike, lon: ArrayLike, up_m: ArrayLike = 0.0
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
        """Project WGS84 points (height `up_m` above the camera's ground plane) to pixels."""
        rel = relative_position(self.lat, self.lon, lat, lon)
        enu = np.stack([rel.east_m, rel.north_m, np.asarray(up_m, dtype=np.float64) + rel.up_m], axis=-1)
        return self.project_enu(enu)

    def in_image(self, u: ArrayLike, v: ArrayLike) -> NDArray[np.bool_]:
        uu, vv = np.asarray(u, dtype=np.float64), np.asarray(v, dtype=np.float64)
        return (uu >= 0) & (uu < self.width) & (vv >= 0) & (vv < self.height)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CameraModel:
        fields = cls.__dataclass_fields__
        missing = [k for k in fields if k not in d and k != "pitch_deg"]
        if missing:
            raise ValueError(f"camera description lacks {missing}")
        return cls(**{k: (int(d[k]) if k in ("width", "height") else float(d[k])) for k in fields if k in d})

    @classmethod
    def from_yaml(cls, path: str | Path) -> CameraModel:
        """Read the `camera:` section of a `scenario.yaml` (or a file holding just that mapping)."""
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f) or {}
        return cls.from_dict(doc.get("camera", doc))
