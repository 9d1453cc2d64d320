"""Which detection is the transmitter's vehicle: by detector flag, by class name, or by projecting its GPS.

The model reserves box slot 0 for the transmitter, so the choice matters as much as the box itself.
Three sources, in the order `auto` tries them:
- flag: the detector (or a tracker fused with V2X) marked a box TRANSMITTER_YES;
- projection: the transmitter's GPS fix projected into the image with the basestation camera model
  (`data.camera.CameraModel`, the `camera:` section of a generated `scenario.yaml`); the nearest
  vehicle box within a gate (pixels from the projected point to the box, 0 inside it) whose height
  fits a car at that range wins (a bus in front of the car contains the point too);
- class: the most confident box of one class name (a detector trained with a "transmitter" class).
No choice means "not in view", which the estimate reports (tx_in_view false, TX_SELECTION_NONE).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from rssi_ros.data.camera import CameraModel
from rssi_ros.data.classes import VEHICLE_CLASSES, ClassVocabulary
from rssi_ros.data.sample import Box
from rssi_ros.physics.geodesy import relative_position

# Values of rssi_ros_msgs/RssiEstimate.tx_selection.
SELECTION_NONE, SELECTION_FLAG, SELECTION_CLASS, SELECTION_PROJECTION = 0, 1, 2, 3
MODES = ("auto", "flag", "class", "projection", "none")


@dataclass(frozen=True)
class TxSelectionConfig:
    """How to find the transmitter. `gate_px` is in the camera model's pixels."""

    mode: str = "auto"
    class_name: str = ""
    gate_px: float = 60.0
    tx_height_m: float = 1.0  # height of the point to project above the camera's ground plane
    # Size check of projection candidates: a box whose height is more than `size_tolerance` times
    # off the height a vehicle of `vehicle_height_m` would have at the transmitter's range is a
    # different object (typically a bus or truck in front of the car). 0 disables the check.
    vehicle_height_m: float = 1.6
    size_tolerance: float = 2.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.vehicle_height_m) and self.vehicle_height_m > 0):
            raise ValueError("tx_selection.vehicle_height_m must be positive")
        if not (
            math.isfinite(self.size_tolerance) and (self.size_tolerance == 0 or self.size_tolerance >= 1)
        ):
            raise ValueError("tx_selection.size_tolerance must be 0 (off) or at least 1")
        if self.mode not in MODES:
            raise ValueError(f"tx_selection.mode must be one of {MODES}, got {self.mode!r}")
        if not (math.isfinite(self.gate_px) and self.gate_px >= 0):
            raise ValueError("tx_selection.gate_px must be a non-negative number")
        if self.mode == "class" and not self.class_name.strip():
            raise ValueError("tx_selection.mode 'class' needs tx_selection.class_name")


@dataclass(frozen=True)
class TxChoice:
    """The boxes with exactly the chosen one flagged (or none), how it was chosen, and its distance."""

    boxes: list[Box]
    selection: int
    index: int | None = None
    distance_px: float = math.nan
    projected_uv: tuple[float, float] | None = None  # normalised image coordinates of the Tx fix


def _flag_only(boxes: list[Box], index: int | None) -> list[Box]:
    return [replace(b, is_transmitter=(i == index)) for i, b in enumerate(boxes)]


def _rank(b: Box) -> tuple[float, float, float, float]:
    """Most confident first, then largest, then left-most: the same tie-break as preprocessing."""
    return (-b.score, -b.area, b.cx, b.cy)


class TxSelector:
    """Applies a `TxSelectionConfig` (and an optional camera model) to the boxes of one frame."""

    def __init__(
        self,
        config: TxSelectionConfig,
        camera: CameraModel | None = None,
        vocabulary: ClassVocabulary | None = None,
    ) -> None:
        if config.mode == "projection" and camera is None:
            raise ValueError("tx_selection.mode 'projection' needs a camera model (tx_selection.camera_yaml)")
        self.config = config
        self.camera = camera
        self.vocabulary = vocabulary or ClassVocabulary()

    def select(self, boxes: list[Box], tx_lat: float, tx_lon: float) -> TxChoice:
        mode = self.config.mode
        if mode == "none" or not boxes:
            return TxChoice(_flag_only(boxes, None), SELECTION_NONE)
        flagged = [i for i, b in enumerate(boxes) if b.is_transmitter]
        if mode == "flag" or (mode == "auto" and flagged):
            if not flagged:
                return TxChoice(_flag_only(boxes, None), SELECTION_NONE)
            best = min(flagged, key=lambda i: _rank(boxes[i]))
            return TxChoice(_flag_only(boxes, best), SELECTION_FLAG, best)
        if mode == "projection" or (mode == "auto" and self.camera is not None):
            return self._by_projection(boxes, tx_lat, tx_lon)
        if mode == "class" or (mode == "auto" and self.config.class_name.strip()):
            return self._by_class(boxes)
        return TxChoice(_flag_only(boxes, None), SELECTION_NONE)

    def _by_class(self, boxes: list[Box]) -> TxChoice:
        wanted = self.config.class_name.strip().lower()
        candidates = [i for i, b in enumerate(boxes) if b.class_name.strip().lower() == wanted]
        if not candidates:
            return TxChoice(_flag_only(boxes, None), SELECTION_NONE)
        best = min(candidates, key=lambda i: _rank(boxes[i]))
        return TxChoice(_flag_only(boxes, best), SELECTION_CLASS, best)

    def expected_height_px(self, tx_lat: float, tx_lon: float) -> float | None:
        """Image height (camera pixels) of a `vehicle_height_m` vehicle at the transmitter's depth."""
        cam = self.camera
        assert cam is not None
        rel = relative_position(cam.lat, cam.lon, tx_lat, tx_lon)
        point = np.array([float(rel.east_m), float(rel.north_m), self.config.tx_height_m + float(rel.up_m)])
        depth = float((cam.rotation() @ (point - np.array([0.0, 0.0, cam.height_m])))[2])
        return cam.fy * self.config.vehicle_height_m / depth if depth > 0 else None

    def project(self, tx_lat: float, tx_lon: float) -> tuple[float, float] | None:
        """Normalised image coordinates of the transmitter's fix, None when behind the camera."""
        cam = self.camera
        assert cam is not None
        u, v, in_front = cam.project_latlon(tx_lat, tx_lon, self.config.tx_height_m)
        if not bool(in_front):
            return None
        return float(u) / cam.width, float(v) / cam.height

    def _by_projection(self, boxes: list[Box], tx_lat: float, tx_lon: float) -> TxChoice:
        cam = self.camera
        assert cam is not None
        uv = self.project(tx_lat, tx_lon)
        if uv is None:
            return TxChoice(_flag_only(boxes, None), SELECTION_NONE)
        u, v = uv[0] * cam.width, uv[1] * cam.height
        tol = self.config.size_tolerance
        expected = self.expected_height_px(tx_lat, tx_lon) if tol > 0 else None
        best: tuple[float, float, int] | None = None
        for i, b in enumerate(boxes):
            if self.vocabulary.canonical(b.class_name)[0] not in VEHICLE_CLASSES:
                continue
            if expected is not None and not 1.0 / tol <= b.h * cam.height / expected <= tol:
                continue
            bx, by, bw, bh = b.cx * cam.width, b.cy * cam.height, b.w * cam.width, b.h * cam.height
            dx = max(abs(u - bx) - bw / 2.0, 0.0)
            dy = max(abs(v - by) - bh / 2.0, 0.0)
            key = (math.hypot(dx, dy), math.hypot(u - bx, v - by), i)
            if best is None or key < best:
                best = key
        if best is None or best[0] > self.config.gate_px:
            return TxChoice(_flag_only(boxes, None), SELECTION_NONE, projected_uv=uv)
        return TxChoice(_flag_only(boxes, best[2]), SELECTION_PROJECTION, best[2], best[0], uv)
