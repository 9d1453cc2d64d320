"""Image and CompressedImage -> RGB with numpy: exact pixels for every layout, a reason for every defect."""

from __future__ import annotations

import numpy as np
import pytest

from rssi_ros.ros import reasons
from rssi_ros.ros.image_conversion import (
    compressed_to_rgb,
    image_to_rgb,
    rgb_to_image_fields,
    rgb_to_jpeg,
)
from rssi_ros.ros.reasons import InputError

sensor_msgs = pytest.importorskip("sensor_msgs.msg", reason="sensor_msgs not installed (run `make setup`)")


def _rgb(h: int = 6, w: int = 5, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _image(encoding: str, h: int, w: int, step: int, data: bytes, big_endian: int = 0):
    msg = sensor_msgs.Image()
    msg.encoding, msg.height, msg.width, msg.step, msg.is_bigendian = encoding, h, w, step, big_endian
    msg.data = data
    return msg


def _from_fields(rgb: np.ndarray, encoding: str = "rgb8"):
    f = rgb_to_image_fields(rgb, encoding)
    return _image(f.encoding, f.height, f.width, f.step, f.data)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_packed_colour_round_trips_exactly(encoding):
    rgb = _rgb()
    np.testing.assert_array_equal(image_to_rgb(_from_fields(rgb, encoding)), rgb)


def test_alpha_and_8uc3_layouts():
    rgb = _rgb()
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 7, np.uint8)], axis=2)
    bgra = rgba[:, :, [2, 1, 0, 3]]
    h, w = rgb.shape[:2]
    np.testing.assert_array_equal(image_to_rgb(_image("rgba8", h, w, w * 4, rgba.tobytes())), rgb)
    np.testing.assert_array_equal(image_to_rgb(_image("bgra8", h, w, w * 4, bgra.tobytes())), rgb)
    # 8UC3 follows OpenCV (BGR order).
    np.testing.assert_array_equal(image_to_rgb(_image("8UC3", h, w, w * 3, rgb[:, :, ::-1].tobytes())), rgb)


def test_row_padding_in_step_is_skipped():
    rgb = _rgb(4, 3)
    padded = np.zeros((4, 3 * 3 + 7), np.uint8)
    padded[:, :9] = rgb.reshape(4, 9)
    padded[:, 9:] = 255  # padding bytes must not leak into the picture
    out = image_to_rgb(_image("rgb8", 4, 3, 16, padded.tobytes()))
    np.testing.assert_array_equal(out, rgb)
    assert out.flags.c_contiguous


def test_mono8_becomes_grey_rgb():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    out = image_to_rgb(_image("mono8", 3, 4, 4, grey.tobytes()))
    assert out.shape == (3, 4, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[:, :, c], grey)


@pytest.mark.parametrize("big_endian", [0, 1])
def test_mono16_keeps_the_high_byte_in_either_byte_order(big_endian):
    values = np.array([[0x0000, 0x01FF, 0x8000], [0xFF00, 0xFFFF, 0x1234]], dtype=np.uint16)
    raw = values.astype(">u2" if big_endian else "<u2").tobytes()
    out = image_to_rgb(_image("mono16", 2, 3, 6, raw, big_endian))
    np.testing.assert_array_equal(out[:, :, 0], (values >> 8).astype(np.uint8))


def test_yuv422_grey_decodes_to_grey():
    # UYVY with U = V = 128 (no chroma) and Y = 100: every pixel grey; BT.601 video range maps
    # Y to 255/219 * (Y - 16) = 97.8.
    uyvy = np.tile(np.array([128, 100, 128, 100], np.uint8), (2, 2))  # 2 rows x 4 pixels
    out = image_to_rgb(_image("yuv422", 2, 4, 8, uyvy.tobytes()))
    assert out.shape == (2, 4, 3)
    assert np.all(np.abs(out.astype(int) - 98) <= 1)
    yuyv = np.tile(np.array([100, 128, 100, 128], np.uint8), (2, 2))
    np.testing.assert_array_equal(image_to_rgb(_image("yuyv", 2, 4, 8, yuyv.tobytes())), out)


@pytest.mark.parametrize(
    ("encoding", "h", "w", "step", "size", "reason"),
    [
        ("jpeg", 2, 2, 6, 12, reasons.UNSUPPORTED_ENCODING),
        ("", 2, 2, 6, 12, reasons.UNSUPPORTED_ENCODING),
        ("rgb8", 0, 2, 6, 0, reasons.EMPTY_IMAGE),
        ("rgb8", 2, 0, 0, 0, reasons.EMPTY_IMAGE),
        ("rgb8", 2, 2, 5, 10, reasons.STEP_MISMATCH),  # step shorter than a row
        ("mono16", 2, 2, 5, 10, reasons.STEP_MISMATCH),  # step not a whole number of 16-bit elements
        ("rgb8", 2, 2, 6, 11, reasons.SIZE_MISMATCH),  # truncated
        ("rgb8", 2, 2, 6, 13, reasons.SIZE_MISMATCH),  # trailing bytes
        ("rgb8", 2, 2, 6, 0, reasons.SIZE_MISMATCH),  # no data at all
    ],
)
def test_malformed_images_are_rejected_with_a_reason(encoding, h, w, step, size, reason):
    with pytest.raises(InputError) as info:
        image_to_rgb(_image(encoding, h, w, step, bytes(size)))
    assert info.value.reason == reason
    assert str(info.value).startswith(reason)


def test_oversize_images_are_rejected_before_touching_the_data():
    msg = _image("rgb8", 100_000, 100_000, 300_000, b"")
    with pytest.raises(InputError) as info:
        image_to_rgb(msg, max_pixels=1_000_000)
    assert info.value.reason == reasons.IMAGE_TOO_LARGE


def test_compressed_jpeg_and_png_decode():
    rgb = _rgb(32, 48)
    yy, xx = np.mgrid[0:32, 0:48]
    smooth = np.stack([xx * 5, yy * 7, (xx + yy) * 3], axis=2).astype(np.uint8)
    jpg = sensor_msgs.CompressedImage(format="jpeg", data=rgb_to_jpeg(smooth, quality=100))
    out = compressed_to_rgb(jpg)
    assert out.shape == smooth.shape
    assert np.abs(out.astype(int) - smooth.astype(int)).max() <= 4  # lossy, but the same picture
    import cv2

    ok, png = cv2.imencode(".png", rgb[:, :, ::-1])
    assert ok
    np.testing.assert_array_equal(
        compressed_to_rgb(sensor_msgs.CompressedImage(format="png", data=png.tobytes())), rgb
    )


@pytest.mark.parametrize(
    ("data", "reason"), [(b"", reasons.EMPTY_IMAGE), (b"\xff\xd8garbage", reasons.DECODE_FAILED)]
)
def test_undecodable_compressed_images_are_rejected(data, reason):
    with pytest.raises(InputError) as info:
        compressed_to_rgb(sensor_msgs.CompressedImage(format="jpeg", data=data))
    assert info.value.reason == reason


def test_compressed_size_limit_applies_after_decoding():
    msg = sensor_msgs.CompressedImage(format="jpeg", data=rgb_to_jpeg(_rgb(40, 40)))
    with pytest.raises(InputError) as info:
        compressed_to_rgb(msg, max_pixels=100)
    assert info.value.reason == reasons.IMAGE_TOO_LARGE


def test_packing_rejects_non_rgb_arrays():
    with pytest.raises(ValueError, match="HxWx3"):
        rgb_to_image_fields(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="rgb8 or bgr8"):
        rgb_to_image_fields(_rgb(), "mono8")
