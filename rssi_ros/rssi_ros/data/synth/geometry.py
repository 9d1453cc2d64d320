"""Geometry in the basestation's local ENU frame (metres): the road frame, oriented boxes, rays.

Every object is a set of oriented boxes ("parts") standing on the ground plane; the same boxes are
drawn by the renderer, labelled by the labeller and tested against the radio link by the radio
model, so what blocks the link is exactly what the image shows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

# Corners of the unit box: bit pattern (x, y, z) signs. Faces list corner indices counter-clockwise
# seen from outside, with the face's outward normal in the box's own frame.
_CORNER_SIGNS = np.array(
    [[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1], [-1, -1, 1], [1, -1, 1], [1, 1, 1], [-1, 1, 1]],
    dtype=np.float64,
)
FACES = np.array(
    [[1, 2, 6, 5], [0, 4, 7, 3], [2, 3, 7, 6], [0, 1, 5, 4], [4, 5, 6, 7], [0, 3, 2, 1]], dtype=np.int64
)
_FACE_NORMALS = np.array(
    [[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=np.float64
)
GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


@dataclass(frozen=True)
class RoadFrame:
    """Road coordinates: `along` runs to the camera's right, `across` along the camera heading."""

    heading_deg: float

    @property
    def forward(self) -> NDArray[np.float64]:
        h = math.radians(self.heading_deg)
        return np.array([math.sin(h), math.cos(h)])

    @property
    def right(self) -> NDArray[np.float64]:
        h = math.radians(self.heading_deg)
        return np.array([math.cos(h), -math.sin(h)])

    def to_enu(self, along: ArrayLike, across: ArrayLike) -> NDArray[np.float64]:
        """(..., 2) east/north of road coordinates."""
        a = np.asarray(along, dtype=np.float64)[..., None]
        c = np.asarray(across, dtype=np.float64)[..., None]
        return a * self.right + c * self.forward

    def yaw_along(self, direction: float) -> float:
        """ENU yaw (radians, counter-clockwise from east) of travel along the road (+1 right, -1 left)."""
        r = self.right * (1.0 if direction >= 0 else -1.0)
        return math.atan2(r[1], r[0])


def compass_to_yaw(compass_deg: float) -> float:
    """Compass heading (clockwise from north) to ENU yaw (counter-clockwise from east), radians."""
    return math.radians(90.0 - compass_deg)


def rotate_xy(xy: NDArray[np.float64], yaw: ArrayLike) -> NDArray[np.float64]:
    """Rotate (..., 2+) vectors counter-clockwise by yaw (broadcast over leading axes)."""
    c, s = np.cos(yaw), np.sin(yaw)
    out = np.array(xy, dtype=np.float64, copy=True)
    out[..., 0] = c * xy[..., 0] - s * xy[..., 1]
    out[..., 1] = s * xy[..., 0] + c * xy[..., 1]
    return out


def box_corners(centre: ArrayLike, half: ArrayLike, yaw: ArrayLike) -> NDArray[np.float64]:
    """(..., 8, 3) world corners of oriented boxes: centre (..., 3), half extents (..., 3), yaw (...)."""
    c = np.asarray(centre, dtype=np.float64)
    h = np.asarray(half, dtype=np.float64)
    local = _CORNER_SIGNS * h[..., None, :]
    return rotate_xy(local, np.asarray(yaw, dtype=np.float64)[..., None]) + c[..., None, :]


def face_normals(yaw: ArrayLike) -> NDArray[np.float64]:
    """(..., 6, 3) outward world normals of the six faces of boxes with the given yaw."""
    y = np.asarray(yaw, dtype=np.float64)
    return rotate_xy(np.broadcast_to(_FACE_NORMALS, (*y.shape, 6, 3)), y[..., None])


def segment_hits_box(
    start: NDArray[np.float64],
    end: NDArray[np.float64],
    centre: NDArray[np.float64],
    half: NDArray[np.float64],
    yaw: float,
) -> NDArray[np.bool_]:
    """Whether segments start->end (..., 3) pass through one oriented box (slab test, exact)."""
    p0 = rotate_xy(start - centre, -yaw)
    p1 = rotate_xy(end - centre, -yaw)
    d = p1 - p0
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 1.0 / d
        t1 = (-half - p0) * inv
        t2 = (half - p0) * inv
    # A segment parallel to a slab (d == 0) is inside it for all t or for none.
    parallel = d == 0.0
    inside = np.abs(p0) <= half
    lo = np.where(parallel, np.where(inside, -np.inf, np.inf), np.minimum(t1, t2))
    hi = np.where(parallel, np.where(inside, np.inf, -np.inf), np.maximum(t1, t2))
    t_enter = np.max(lo, axis=-1)
    t_exit = np.min(hi, axis=-1)
    return (t_enter <= t_exit) & (t_exit >= 0.0) & (t_enter <= 1.0)


def disc_samples(n: int) -> NDArray[np.float64]:
    """(n, 2) points spread evenly over the unit disc (sunflower pattern: equal area per point)."""
    k = np.arange(n, dtype=np.float64)
    r = np.sqrt((k + 0.5) / n)
    theta = k * GOLDEN_ANGLE
    return np.stack([r * np.cos(theta), r * np.sin(theta)], axis=-1)
