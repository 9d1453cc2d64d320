"""Images read straight from their CDR bytes match rclpy's own deserialisation, field for field."""

from __future__ import annotations

import numpy as np
import pytest
import sensor_msgs.msg as sensor_msgs
from rclpy import serialization

from rssi_ros.ros.cdr_image import parse_compressed_image, parse_image
from rssi_ros.ros.image_conversion import image_to_rgb


@pytest.mark.parametrize("frame_id", ["", "c", "cam", "camera", "camera_optical_frame", "kamera_ä"])
@pytest.mark.parametrize("encoding", ["rgb8", "mono16", "bgra8"])
def test_image_fields_and_pixels_equal_rclpy_deserialisation(frame_id, encoding):
    """Strings of every length mod 4 shift the alignment of what follows them."""
    rng = np.random.default_rng(len(frame_id))
    channels, item = {"rgb8": (3, 1), "mono16": (1, 2), "bgra8": (4, 1)}[encoding]
    h, w = 5, 7
    step = w * channels * item + 3 * item  # padded rows
    msg = sensor_msgs.Image(
        height=h, width=w, encoding=encoding, is_bigendian=1 if item == 2 else 0, step=step
    )
    msg.header.frame_id = frame_id
    msg.header.stamp.sec, msg.header.stamp.nanosec = -3, 999_999_999
    msg.data = rng.integers(0, 256, h * step, dtype=np.uint8).tobytes()
    raw = serialization.serialize_message(msg)
    view = parse_image(raw)
    back = serialization.deserialize_message(raw, sensor_msgs.Image)
    assert (view.header.frame_id, view.header.stamp.sec, view.header.stamp.nanosec) == (
        frame_id,
        -3,
        999_999_999,
    )
    assert (view.height, view.width, view.encoding, view.is_bigendian, view.step) == (
        back.height,
        back.width,
        back.encoding,
        back.is_bigendian,
        back.step,
    )
    assert bytes(view.data) == bytes(back.data)
    np.testing.assert_array_equal(image_to_rgb(view), image_to_rgb(back))


def test_compressed_image_fields():
    msg = sensor_msgs.CompressedImage(format="jpeg; rgb8 jpeg compressed bgr8")
    msg.header.frame_id = "cam1"
    msg.data = bytes(range(256)) * 3
    view = parse_compressed_image(serialization.serialize_message(msg))
    assert view.format == msg.format and view.header.frame_id == "cam1"
    assert bytes(view.data) == bytes(range(256)) * 3


def test_truncated_and_foreign_bytes_are_refused():
    msg = sensor_msgs.Image(height=2, width=2, encoding="rgb8", step=6)
    msg.data = bytes(12)
    raw = serialization.serialize_message(msg)
    with pytest.raises(ValueError, match="truncated"):
        parse_image(raw[:-5])
    with pytest.raises(ValueError, match="CDR"):
        parse_image(b"\x12\x34" + raw[2:])
