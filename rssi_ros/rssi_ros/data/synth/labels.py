"""YOLO labels of a rendered frame: one line per object that a detector could see.

A box is the object's projected 3D box clipped to the image (the full extent, as annotators draw
it even when a part is hidden). An object is labelled only when enough of it shows in the id
buffer, so objects hidden behind a truck get no label - as no detector would find them.
Lines are ordered near to far; `tx_line` is the transmitter's line (-1 when it has none).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from rssi_ros.data.synth.config import RenderConfig
from rssi_ros.data.synth.render import RenderedFrame


@dataclass(frozen=True)
class Label:
    class_name: str
    class_id: int
    cx: float  # YOLO-normalised centre and size
    cy: float
    w: float
    h: float
    is_transmitter: bool
    visible_fraction: float

    def line(self) -> str:
        return f"{self.class_id} {self.cx:.6f} {self.cy:.6f} {self.w:.6f} {self.h:.6f}"


@dataclass(frozen=True)
class FrameLabels:
    labels: list[Label]
    tx_line: int  # 0-based line of the transmitter in the label file, -1 when not labelled
    tx_visible_fraction: float  # share of the transmitter's in-image area that shows (0 when absent)

    def text(self) -> str:
        return "".join(label.line() + "\n" for label in self.labels)


def _in_image_area(points: np.ndarray, width: int, height: int) -> float:
    """Area of the convex hull of the points inside the image rectangle (pixels)."""
    hull = cv2.convexHull(points.astype(np.float32))
    rect = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float32)
    area, _ = cv2.intersectConvexConvex(hull, rect)
    return float(area)


def frame_labels(frame: RenderedFrame, config: RenderConfig) -> FrameLabels:
    height, width = frame.ids.shape
    counts = np.bincount(frame.ids.ravel(), minlength=len(frame.views) + 1)
    kept: list[tuple[float, int, Label]] = []
    tx_fraction = 0.0
    for view in frame.views:
        u0, v0, u1, v1 = view.bbox
        u0, u1 = max(u0, 0.0), min(u1, float(width))
        v0, v1 = max(v0, 0.0), min(v1, float(height))
        visible = int(counts[view.draw_id])
        area = _in_image_area(view.points, width, height)
        fraction = min(visible / area, 1.0) if area > 0 else 0.0
        if view.actor.is_transmitter:
            tx_fraction = fraction
        if (
            visible < config.min_visible_px
            or fraction < config.min_visible_fraction
            or u1 - u0 < config.min_box_px
            or v1 - v0 < config.min_box_px
        ):
            continue
        name = view.actor.class_name
        label = Label(
            class_name=name,
            class_id=int(config.class_ids[name]),
            cx=(u0 + u1) / 2.0 / width,
            cy=(v0 + v1) / 2.0 / height,
            w=(u1 - u0) / width,
            h=(v1 - v0) / height,
            is_transmitter=view.actor.is_transmitter,
            visible_fraction=fraction,
        )
        kept.append((view.depth_m, view.actor.actor_id, label))
    kept.sort(key=lambda item: item[:2])
    labels = [label for _, _, label in kept]
    tx_line = next((i for i, label in enumerate(labels) if label.is_transmitter), -1)
    return FrameLabels(labels, tx_line, tx_fraction)
