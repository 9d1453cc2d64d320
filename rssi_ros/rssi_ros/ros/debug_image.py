"""The optional `~/debug_image`: what the model saw and said, for a person looking at rviz or rqt.

Boxes (the transmitter's in green, distractors in grey), the projected transmitter fix (a cross)
and the PL/SH/RSSI text on a downscaled copy of the frame. Drawn only when someone subscribes,
so it costs nothing in normal operation. Coordinates are clamped to a margin around the canvas
before drawing: a detector may report a finite but absurd box (1e12 px wide), and OpenCV's drawing
functions raise on coordinates beyond 32 bits.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.sample import Box

TX_COLOUR = (40, 220, 40)
OTHER_COLOUR = (180, 180, 180)
MARKER_COLOUR = (255, 60, 60)
TEXT_COLOUR = (255, 255, 255)
BLANK_HEIGHT_RATIO = 9 / 16  # canvas shape when there is no image (position-only estimates)
# Drawn coordinates are clamped to this many canvas sizes outside the canvas (still off-screen,
# so a clamped edge is not drawn where the box has none).
CLAMP_MARGIN = 1
LABEL_MIN_Y = 10  # labels above a box stay this far below the top edge


def _px(value: float, size: int) -> int:
    """A normalised coordinate as a pixel index, clamped so OpenCV accepts it (NaN becomes the edge)."""
    lo, hi = -CLAMP_MARGIN * size, (1 + CLAMP_MARGIN) * size
    if not math.isfinite(value):
        return lo if value < 0 else hi
    return int(min(max(value * size, lo), hi))


def caption(estimate: Any) -> list[str]:
    """The text of the debug image: RSSI, path loss and shadow fading, distance, Tx in view or not."""
    e = estimate
    return [
        f"RSSI {e.rssi_db:7.2f} dB",
        f"PL {e.path_loss_db:6.2f}  SH {e.shadow_fading_db:6.2f} dB",
        f"d {e.distance_m:6.1f} m  tx {'in view' if e.tx_in_view else 'not in view'}",
    ]


def render(
    rgb: NDArray[np.uint8] | None,
    boxes: list[Box] | None,
    lines: list[str],
    width: int,
    projected_uv: tuple[float, float] | None = None,
) -> NDArray[np.uint8]:
    """An RGB uint8 picture `width` pixels wide (aspect of the input kept)."""
    if rgb is None:
        canvas = np.zeros((int(width * BLANK_HEIGHT_RATIO), width, 3), np.uint8)
    else:
        h = max(1, round(rgb.shape[0] * width / rgb.shape[1]))
        canvas = cv2.resize(rgb, (width, h), interpolation=cv2.INTER_AREA)
    H, W = canvas.shape[:2]
    for b in boxes or []:
        x0, y0 = _px(b.cx - b.w / 2, W), _px(b.cy - b.h / 2, H)
        x1, y1 = _px(b.cx + b.w / 2, W), _px(b.cy + b.h / 2, H)
        colour = TX_COLOUR if b.is_transmitter else OTHER_COLOUR
        cv2.rectangle(canvas, (x0, y0), (x1, y1), colour, 2 if b.is_transmitter else 1)
        label = (min(max(x0, 0), W - 1), min(max(LABEL_MIN_Y, y0 - 3), H - 1))
        cv2.putText(canvas, b.class_name, label, cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1)
    if projected_uv is not None and all(math.isfinite(c) for c in projected_uv):
        u, v = _px(projected_uv[0], W), _px(projected_uv[1], H)
        cv2.drawMarker(canvas, (u, v), MARKER_COLOUR, cv2.MARKER_CROSS, 14, 2)
    for i, line in enumerate(lines):
        y = 16 + 16 * i
        cv2.putText(canvas, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(canvas, line, (6, y), cv2.FONT_HERSHEY_SIMPLEX, 0.45, TEXT_COLOUR, 1, cv2.LINE_AA)
    return canvas
