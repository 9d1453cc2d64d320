"""The debug image: boxes drawn where they belong, absurd coordinates clamped, never a cv2 error."""

from __future__ import annotations

import math

import numpy as np

from rssi_ros.data.sample import Box
from rssi_ros.ros.debug_image import OTHER_COLOUR, TX_COLOUR, render

WIDTH = 200


def _frame() -> np.ndarray:
    return np.zeros((100, 200, 3), np.uint8)


def test_boxes_are_drawn_at_their_edges():
    out = render(_frame(), [Box("car", 0.5, 0.5, 0.5, 0.5, 1.0, True)], [], WIDTH)
    assert out.shape == (100, 200, 3)
    assert tuple(out[75, 100]) == TX_COLOUR  # bottom edge, centre column
    assert tuple(out[50, 100]) == (0, 0, 0)  # inside: not filled


def test_huge_finite_boxes_and_odd_values_are_clamped():
    # A detector reporting a 1e12 px box (normalised ~1e9): cv2.rectangle raises on such coordinates.
    boxes = [
        Box("²", 0.5, 0.5, 1e9, 1e9, 1.0, False),
        Box("٣", 0.0, 1.0, 1e300, 1e-300, 0.5, True),
        Box("car", 0.25, 0.25, 0.1, 0.1, 0.9, False),
    ]
    out = render(_frame(), boxes, ["RSSI -60.00 dB"], WIDTH, projected_uv=(1e15, -1e15))
    assert out.shape == (100, 200, 3)
    assert tuple(out[30, 50]) == OTHER_COLOUR  # the normal box is still drawn (bottom edge)
    assert render(None, boxes, [], WIDTH, projected_uv=(math.nan, math.inf)).shape == (112, 200, 3)
