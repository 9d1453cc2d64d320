"""sensor_msgs/Image and CompressedImage to RGB uint8 with numpy (no cv_bridge), and back.

The functions take any object with the message's fields (an rclpy message, a `rosbags` message or
a test double), so the node and the bag tools share them. Every malformed message raises
`InputError` with a counter key and a text that names the offending field, never an IndexError from
deep inside numpy: a camera driver with a wrong `step` must be diagnosable from the log.

Raw images are viewed, not copied, wherever the layout allows (`np.frombuffer` on the message
buffer); the view stays valid as long as the message object lives.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from rssi_ros.data.images import decode_rgb
from rssi_ros.ros import reasons
from rssi_ros.ros.reasons import InputError

# Largest image the node accepts by default (pixels); protects memory from a corrupt width/height.
DEFAULT_MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class _Layout:
    channels: int
    dtype: np.dtype
    # cv2 conversion to RGB (None: already RGB, or handled specially).
    to_rgb: int | None


_U8 = np.dtype(np.uint8)
_U16 = np.dtype(np.uint16)

# Encodings (sensor_msgs/image_encodings.hpp names) the node understands. 8UC3 follows OpenCV's
# convention (BGR), which is what drivers that publish it mean.
ENCODINGS: dict[str, _Layout] = {
    "rgb8": _Layout(3, _U8, None),
    "bgr8": _Layout(3, _U8, cv2.COLOR_BGR2RGB),
    "8UC3": _Layout(3, _U8, cv2.COLOR_BGR2RGB),
    "rgba8": _Layout(4, _U8, cv2.COLOR_RGBA2RGB),
    "bgra8": _Layout(4, _U8, cv2.COLOR_BGRA2RGB),
    "8UC4": _Layout(4, _U8, cv2.COLOR_BGRA2RGB),
    "mono8": _Layout(1, _U8, cv2.COLOR_GRAY2RGB),
    "8UC1": _Layout(1, _U8, cv2.COLOR_GRAY2RGB),
    "mono16": _Layout(1, _U16, cv2.COLOR_GRAY2RGB),
    "16UC1": _Layout(1, _U16, cv2.COLOR_GRAY2RGB),
    "rgb16": _Layout(3, _U16, None),
    "bgr16": _Layout(3, _U16, cv2.COLOR_BGR2RGB),
    # Packed YUV 4:2:2 from USB cameras: 2 bytes per pixel.
    "yuv422": _Layout(2, _U8, cv2.COLOR_YUV2RGB_UYVY),
    "uyvy": _Layout(2, _U8, cv2.COLOR_YUV2RGB_UYVY),
    "yuv422_yuy2": _Layout(2, _U8, cv2.COLOR_YUV2RGB_YUY2),
    "yuyv": _Layout(2, _U8, cv2.COLOR_YUV2RGB_YUY2),
}


def image_to_rgb(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> NDArray[np.uint8]:
    """RGB uint8 HxWx3 of a sensor_msgs/Image; raises `InputError` for anything malformed.

    Checks, in order: known encoding, non-empty size, size limit, `step` at least one packed row,
    `step` a whole number of elements, and `len(data) == step * height` (the message's own
    definition; longer or shorter buffers mean a broken driver or a truncated message).
    """
    encoding = str(msg.encoding)
    layout = ENCODINGS.get(encoding)
    if layout is None:
        raise InputError(
            reasons.UNSUPPORTED_ENCODING,
            f"encoding {encoding!r} is not supported (use one of {', '.join(sorted(ENCODINGS))})",
        )
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height <= 0 or width <= 0:
        raise InputError(reasons.EMPTY_IMAGE, f"image is {width}x{height}")
    if height * width > max_pixels:
        raise InputError(reasons.IMAGE_TOO_LARGE, f"{width}x{height} exceeds {max_pixels} pixels")
    item = layout.dtype.itemsize
    row = width * layout.channels * item
    if step < row:
        raise InputError(reasons.STEP_MISMATCH, f"step {step} < width*channels*bytes = {row} ({encoding})")
    if step % item:
        raise InputError(reasons.STEP_MISMATCH, f"step {step} is not a multiple of {item} bytes ({encoding})")
    data = msg.data
    size = len(data) * (data.itemsize if hasattr(data, "itemsize") else 1)
    if size != step * height:
        raise InputError(
            reasons.SIZE_MISMATCH, f"data holds {size} bytes, step*height = {step * height} ({encoding})"
        )
    buf = np.frombuffer(data, dtype=np.uint8)
    rows = buf.reshape(height, step)[:, :row]
    pixels = rows.view(layout.dtype) if item > 1 else rows
    if item > 1:
        if bool(getattr(msg, "is_bigendian", 0)) != (sys.byteorder == "big"):
            pixels = pixels.byteswap()
        pixels = (pixels >> 8).astype(np.uint8)  # keep the 8 most significant bits
    img = pixels.reshape(height, width, layout.channels)
    if layout.to_rgb is None:
        return img if img.flags.c_contiguous else np.ascontiguousarray(img)
    src = img[:, :, 0] if layout.channels == 1 else img
    return cv2.cvtColor(np.ascontiguousarray(src), layout.to_rgb)


def compressed_to_rgb(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> NDArray[np.uint8]:
    """RGB uint8 of a sensor_msgs/CompressedImage (JPEG or PNG); raises `InputError` when undecodable."""
    data = msg.data
    if len(data) == 0:
        raise InputError(reasons.EMPTY_IMAGE, "compressed image has no data")
    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        rgb = decode_rgb(buf)
    except (ValueError, cv2.error) as exc:
        raise InputError(reasons.DECODE_FAILED, f"cannot decode {msg.format!r} image: {exc}") from exc
    if rgb.shape[0] * rgb.shape[1] > max_pixels:
        h, w = rgb.shape[:2]
        raise InputError(reasons.IMAGE_TOO_LARGE, f"{w}x{h} exceeds {max_pixels} pixels")
    return rgb


@dataclass(frozen=True)
class RawImageFields:
    """Field values of a sensor_msgs/Image holding an RGB frame (for publishers and bag writers)."""

    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: bytes


def rgb_to_image_fields(rgb: NDArray[np.uint8], encoding: str = "rgb8") -> RawImageFields:
    """Pack RGB uint8 HxWx3 as `rgb8` or `bgr8` Image fields (tightly packed rows)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected HxWx3 uint8 RGB, got {rgb.shape} {rgb.dtype}")
    if encoding == "bgr8":
        rgb = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    elif encoding != "rgb8":
        raise ValueError(f"can only pack rgb8 or bgr8, not {encoding!r}")
    h, w = rgb.shape[:2]
    return RawImageFields(h, w, encoding, 0, w * 3, np.ascontiguousarray(rgb).tobytes())


def rgb_to_jpeg(rgb: NDArray[np.uint8], quality: int = 90) -> bytes:
    """JPEG bytes of an RGB frame (for CompressedImage publishers and bag writers)."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()
