"""sensor_msgs/Image and CompressedImage to RGB uint8 with numpy (no cv_bridge), and back.

The functions take any object with the message's fields (an rclpy message, a `rosbags` message or
a test double), so the node and the bag tools share them. Every malformed message raises
`InputError` with a counter key and a text that names the offending field, never an IndexError from
deep inside numpy: a camera driver with a wrong `step` must be diagnosable from the log.

Raw images are viewed, not copied, wherever the layout allows (`np.frombuffer` on the message
buffer); the view stays valid as long as the message object lives. Compressed images have their
size read from the PNG/JPEG header (`compressed_size`) before anything is decoded, so a 20-byte
message claiming 60000x60000 pixels is rejected instead of making OpenCV allocate gigabytes.
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
    # The width must be a multiple of this (packed YUV 4:2:2 stores pixel pairs; OpenCV raises otherwise).
    width_multiple: int = 1


_U8 = np.dtype(np.uint8)
_U16 = np.dtype(np.uint16)
_YUV_PAIR = 2

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
    # Packed YUV 4:2:2 from USB cameras: 2 bytes per pixel, chroma shared by pixel pairs.
    "yuv422": _Layout(2, _U8, cv2.COLOR_YUV2RGB_UYVY, _YUV_PAIR),
    "uyvy": _Layout(2, _U8, cv2.COLOR_YUV2RGB_UYVY, _YUV_PAIR),
    "yuv422_yuy2": _Layout(2, _U8, cv2.COLOR_YUV2RGB_YUY2, _YUV_PAIR),
    "yuyv": _Layout(2, _U8, cv2.COLOR_YUV2RGB_YUY2, _YUV_PAIR),
}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8"
# PNG: signature, IHDR length (4), "IHDR", width (4), height (4).
_PNG_IHDR_END = 24
# JPEG markers: standalone ones carry no length; start-of-frame ones carry the size (not DHT 0xC4,
# JPG 0xC8, DAC 0xCC, which share the 0xCn range).
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_EOI, _JPEG_SOS = 0xD9, 0xDA


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
    if width % layout.width_multiple:
        raise InputError(
            reasons.ODD_WIDTH,
            f"width {width} is not a multiple of {layout.width_multiple} ({encoding} packs pixel pairs)",
        )
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


def compressed_size(data: bytes | memoryview | NDArray[np.uint8]) -> tuple[str, int, int]:
    """("png" or "jpeg", width, height) from the header of compressed image bytes, nothing decoded.

    Raises `InputError`: `unsupported_encoding` when the bytes are neither PNG nor JPEG (the only
    formats the node takes), `decode_failed` when the header is truncated or malformed.
    """
    view = memoryview(data).cast("B") if not isinstance(data, np.ndarray) else memoryview(data.reshape(-1))
    if bytes(view[: len(PNG_SIGNATURE)]) == PNG_SIGNATURE:
        return ("png", *_png_size(view))
    if bytes(view[: len(JPEG_SOI)]) == JPEG_SOI:
        return ("jpeg", *_jpeg_size(view))
    raise InputError(
        reasons.UNSUPPORTED_ENCODING,
        f"compressed data is neither PNG nor JPEG (starts with {bytes(view[:8]).hex()})",
    )


def _png_size(view: memoryview) -> tuple[int, int]:
    if len(view) < _PNG_IHDR_END:
        raise InputError(reasons.DECODE_FAILED, f"PNG truncated in its header ({len(view)} bytes)")
    if bytes(view[12:16]) != b"IHDR":
        raise InputError(reasons.DECODE_FAILED, "PNG does not start with an IHDR chunk")
    width = int.from_bytes(view[16:20], "big")
    height = int.from_bytes(view[20:24], "big")
    if width == 0 or height == 0:
        raise InputError(reasons.EMPTY_IMAGE, f"PNG header says {width}x{height}")
    return width, height


def _jpeg_size(view: memoryview) -> tuple[int, int]:
    """Walk the marker segments up to the first start-of-frame (SOFn) segment."""
    n = len(view)
    truncated = InputError(reasons.DECODE_FAILED, f"JPEG truncated before its frame header ({n} bytes)")
    pos = len(JPEG_SOI)
    while True:
        if pos >= n:
            raise truncated
        if view[pos] != 0xFF:
            raise InputError(reasons.DECODE_FAILED, f"JPEG has no marker at byte {pos}")
        while pos < n and view[pos] == 0xFF:  # fill bytes may precede a marker
            pos += 1
        if pos >= n:
            raise truncated
        marker = view[pos]
        pos += 1
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (_JPEG_EOI, _JPEG_SOS):
            raise InputError(reasons.DECODE_FAILED, "JPEG has no frame header before its scan data")
        if pos + 2 > n:
            raise truncated
        length = view[pos] << 8 | view[pos + 1]
        if length < 2:
            raise InputError(reasons.DECODE_FAILED, f"JPEG segment 0x{marker:02X} has length {length}")
        if marker in _JPEG_SOF:
            if pos + 7 > n:
                raise truncated
            height = view[pos + 3] << 8 | view[pos + 4]
            width = view[pos + 5] << 8 | view[pos + 6]
            if width == 0 or height == 0:
                raise InputError(reasons.EMPTY_IMAGE, f"JPEG frame header says {width}x{height}")
            return width, height
        pos += length


def compressed_to_rgb(msg, max_pixels: int = DEFAULT_MAX_PIXELS) -> NDArray[np.uint8]:
    """RGB uint8 of a sensor_msgs/CompressedImage (JPEG or PNG); raises `InputError` when unusable.

    The size limit is applied to the header's size before decoding; what the decoder returns is
    checked again (a header can lie, e.g. a second frame header further on).
    """
    data = msg.data
    if len(data) == 0:
        raise InputError(reasons.EMPTY_IMAGE, "compressed image has no data")
    buf = np.frombuffer(data, dtype=np.uint8)
    fmt, width, height = compressed_size(buf)
    if width * height > max_pixels:
        raise InputError(
            reasons.IMAGE_TOO_LARGE, f"{fmt} header says {width}x{height}, over {max_pixels} pixels"
        )
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
