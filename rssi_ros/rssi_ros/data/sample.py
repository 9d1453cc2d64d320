"""The one record every source turns into: a `Sample` (one camera frame and what goes with it).

Readers (DeepSense CSV / challenge CSV / npz / generated scenes), the bag replayer and the ROS node
all produce `Sample`s; `rssi_ros.data.preprocess` turns a `Sample` into model input. A missing
modality is `None` (a mask downstream), never an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Box:
    """One detected object, YOLO-normalised: centre and size as fractions of image width/height."""

    class_name: str
    cx: float
    cy: float
    w: float
    h: float
    score: float = 1.0
    is_transmitter: bool = False

    @property
    def area(self) -> float:
        return self.w * self.h

    def is_valid(self) -> bool:
        """Finite, positive size, centre inside the image (boxes partly outside are fine)."""
        values = (self.cx, self.cy, self.w, self.h, self.score)
        return (
            all(math.isfinite(v) for v in values)
            and self.w > 0
            and self.h > 0
            and 0.0 <= self.cx <= 1.0
            and 0.0 <= self.cy <= 1.0
        )


@dataclass
class Sample:
    """One frame: receiver and transmitter fixes, optional image and boxes, optional label.

    `image` is RGB uint8 HxWx3 when decoded; `image_path` lets readers defer decoding.
    `boxes=None` means no detections are available; `boxes=[]` means a detector ran and found nothing.
    `rssi_db` is the label (10*log10 mean of the 64 linear beam powers) and is None at inference.
    """

    rx_lat: float
    rx_lon: float
    tx_lat: float
    tx_lon: float
    image: NDArray[np.uint8] | None = None
    image_path: Path | None = None
    boxes: list[Box] | None = None
    rssi_db: float | None = None
    beam_powers: NDArray[np.float64] | None = None
    scenario: str = ""
    index: int = -1
    seq_index: int = -1
    stamp: float = math.nan
    extras: dict = field(default_factory=dict)

    @property
    def has_image(self) -> bool:
        return self.image is not None or self.image_path is not None

    @property
    def has_boxes(self) -> bool:
        return self.boxes is not None

    @property
    def key(self) -> str:
        """Stable identity of the sample across runs (used by splits and caches)."""
        return f"{self.scenario}:{self.index}"

    def with_(self, **changes) -> Sample:
        return replace(self, **changes)
