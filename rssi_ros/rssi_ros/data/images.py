"""Image decoding and resizing, shared by readers, the cache, the node and the generator.

Everything is RGB uint8. Resizing squashes the full frame to a square (no crop), so nothing at
the image border - where a transmitter often is - is cut away; the same function runs everywhere.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

cv2.setNumThreads(1)  # predictable CPU use in the node and in data-loader workers


def load_rgb(path: str | Path) -> NDArray[np.uint8]:
    """Decode an image file to RGB uint8; raises with the path when it cannot be read."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise OSError(f"cannot read image {path}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def decode_rgb(data: bytes | NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Decode JPEG/PNG bytes (e.g. a CompressedImage) to RGB uint8."""
    buf = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes | bytearray | memoryview) else data
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR) if buf.size else None
    if bgr is None:
        raise ValueError("cannot decode image bytes")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def resize_square(rgb: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """Resize HxWx3 RGB to size x size x 3 (area interpolation when shrinking)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return np.ascontiguousarray(rgb)
    shrinking = rgb.shape[0] > size or rgb.shape[1] > size
    interp = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(rgb, (size, size), interpolation=interp)
