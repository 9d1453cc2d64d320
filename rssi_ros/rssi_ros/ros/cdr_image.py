"""sensor_msgs/Image and CompressedImage read straight from their serialised (CDR) bytes.

The node subscribes to the camera with `raw=True` and views the pixels inside the received
buffer instead of letting rclpy build a message object, which copies the 1.5 MB of a 960x540 frame
into a fresh `array.array` for every frame. The result has the message's field names, so
`image_conversion` treats it like a message. Only plain little/big-endian CDR (XCDR1, what ROS 2
middlewares send) is read; anything else raises ValueError and the frame is counted as undecodable.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

# Encapsulation kinds of the 4-byte CDR header: plain CDR big/little endian.
_CDR_BE, _CDR_LE = b"\x00\x00", b"\x00\x01"
_HEADER = 4


@dataclass(frozen=True)
class Stamp:
    sec: int
    nanosec: int


@dataclass(frozen=True)
class Header:
    stamp: Stamp
    frame_id: str


@dataclass(frozen=True)
class ImageView:
    """The fields of a sensor_msgs/Image; `data` is a memoryview into the serialised message."""

    header: Header
    height: int
    width: int
    encoding: str
    is_bigendian: int
    step: int
    data: memoryview


@dataclass(frozen=True)
class CompressedImageView:
    header: Header
    format: str
    data: memoryview


class _Reader:
    def __init__(self, raw: bytes | memoryview) -> None:
        buf = memoryview(raw)
        if len(buf) < _HEADER or bytes(buf[:2]) not in (_CDR_BE, _CDR_LE):
            raise ValueError("not a plain CDR message")
        self.endian = "<" if bytes(buf[:2]) == _CDR_LE else ">"
        self.buf = buf[_HEADER:]
        self.pos = 0

    def _align(self, n: int) -> None:
        self.pos += -self.pos % n

    def u32(self) -> int:
        self._align(4)
        if self.pos + 4 > len(self.buf):
            raise ValueError("truncated CDR message")
        (value,) = struct.unpack_from(self.endian + "I", self.buf, self.pos)
        self.pos += 4
        return value

    def i32(self) -> int:
        value = self.u32()
        return value - (1 << 32) if value >= 1 << 31 else value

    def u8(self) -> int:
        if self.pos >= len(self.buf):
            raise ValueError("truncated CDR message")
        value = self.buf[self.pos]
        self.pos += 1
        return value

    def string(self) -> str:
        n = self.u32()  # includes the terminating NUL
        raw = self.bytes_(n)
        return bytes(raw[:-1] if n and raw[-1] == 0 else raw).decode("utf-8", errors="replace")

    def bytes_(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError("truncated CDR message")
        view = self.buf[self.pos : self.pos + n]
        self.pos += n
        return view

    def sequence(self) -> memoryview:
        return self.bytes_(self.u32())

    def header(self) -> Header:
        sec = self.i32()
        nanosec = self.u32()
        return Header(Stamp(sec, nanosec), self.string())


def parse_image(raw: bytes | memoryview) -> ImageView:
    """The fields of a serialised sensor_msgs/Image (pixels not copied)."""
    r = _Reader(raw)
    header = r.header()
    height, width = r.u32(), r.u32()
    encoding = r.string()
    is_bigendian = r.u8()
    step = r.u32()
    return ImageView(header, height, width, encoding, is_bigendian, step, r.sequence())


def parse_compressed_image(raw: bytes | memoryview) -> CompressedImageView:
    """The fields of a serialised sensor_msgs/CompressedImage (bytes not copied)."""
    r = _Reader(raw)
    header = r.header()
    fmt = r.string()
    return CompressedImageView(header, fmt, r.sequence())
