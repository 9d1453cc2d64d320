"""Image and CompressedImage -> RGB with numpy: exact pixels for every layout, a reason for every defect."""

from __future__ import annotations

import numpy as np
import pytest
import sensor_msgs.msg as sensor_msgs

from rssi_ros.ros import image_conversion, reasons
from rssi_ros.ros.image_conversion import (
    compressed_size,
    compressed_to_rgb,
    image_to_rgb,
    rgb_to_image_fields,
    rgb_to_jpeg,
)
from rssi_ros.ros.reasons import InputError


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


@pytest.mark.parametrize("encoding", ["yuv422", "uyvy", "yuv422_yuy2", "yuyv"])
def test_odd_width_packed_yuv_is_rejected_not_a_cv2_error(encoding):
    # 3 pixels in 6 bytes per row: a consistent step and size, but 4:2:2 needs pixel pairs.
    with pytest.raises(InputError) as info:
        image_to_rgb(_image(encoding, 2, 3, 6, bytes(12)))
    assert info.value.reason == reasons.ODD_WIDTH and "width 3" in info.value.detail


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


def _png_header(width: int, height: int) -> bytes:
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    return image_conversion.PNG_SIGNATURE + len(ihdr).to_bytes(4, "big") + b"IHDR" + ihdr + bytes(4)


def test_compressed_size_is_read_from_the_header():
    import cv2

    bgr = _rgb(37, 53)
    for ext, fmt in ((".jpg", "jpeg"), (".png", "png")):
        ok, buf = cv2.imencode(ext, bgr)
        assert ok and compressed_size(buf.tobytes()) == (fmt, 53, 37)
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])  # SOF2, not SOF0
    assert compressed_size(buf) == ("jpeg", 53, 37)
    # An APP1 segment full of 0xFF bytes and fill bytes before the next marker are skipped.
    jpg = buf.tobytes()
    app1 = b"\xff\xe1" + (2 + 40).to_bytes(2, "big") + b"\xff" * 40
    assert compressed_size(jpg[:2] + app1 + b"\xff\xff" + jpg[2:]) == ("jpeg", 53, 37)
    assert compressed_size(_png_header(60_000, 70_000)) == ("png", 60_000, 70_000)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", reasons.DECODE_FAILED),  # truncated before the frame header
        (b"\xff\xd8\xff\xda\x00\x08", reasons.DECODE_FAILED),  # scan data without a frame header
        (b"\xff\xd8\x00\x01", reasons.DECODE_FAILED),  # no marker where one must be
        (b"\xff\xd8\xff\xe0\x00\x01", reasons.DECODE_FAILED),  # segment length below 2
        (image_conversion.PNG_SIGNATURE + b"\x00\x00", reasons.DECODE_FAILED),
        (_png_header(0, 10), reasons.EMPTY_IMAGE),
        (b"GIF89a" + bytes(20), reasons.UNSUPPORTED_ENCODING),
        (bytes(range(64)), reasons.UNSUPPORTED_ENCODING),
    ],
)
def test_broken_compressed_headers_are_named(data, reason):
    with pytest.raises(InputError) as info:
        compressed_size(data)
    assert info.value.reason == reason


def test_compressed_size_limit_applies_before_decoding(monkeypatch):
    def must_not_decode(buf):
        raise AssertionError("decoded although the header already exceeds the limit")

    monkeypatch.setattr(image_conversion, "decode_rgb", must_not_decode)
    # A 33-byte message claiming 60000x70000 pixels: rejected without allocating 12 GB.
    huge = sensor_msgs.CompressedImage(format="png", data=_png_header(60_000, 70_000))
    with pytest.raises(InputError) as info:
        compressed_to_rgb(huge)
    assert info.value.reason == reasons.IMAGE_TOO_LARGE and "60000x70000" in info.value.detail
    jpg = sensor_msgs.CompressedImage(format="jpeg", data=rgb_to_jpeg(_rgb(40, 40)))
    with pytest.raises(InputError) as info:
        compressed_to_rgb(jpg, max_pixels=100)
    assert info.value.reason == reasons.IMAGE_TOO_LARGE


def test_truncated_and_random_compressed_images_are_rejected():
    jpg = rgb_to_jpeg(_rgb(64, 64))
    rng = np.random.default_rng(5)
    for data in (jpg[: len(jpg) // 2], jpg[:300], rng.integers(0, 256, 500, dtype=np.uint8).tobytes()):
        with pytest.raises(InputError) as info:
            compressed_to_rgb(sensor_msgs.CompressedImage(format="jpeg", data=data))
        assert info.value.reason in (reasons.DECODE_FAILED, reasons.UNSUPPORTED_ENCODING)


def test_packing_rejects_non_rgb_arrays():
    with pytest.raises(ValueError, match="HxWx3"):
        rgb_to_image_fields(np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match="rgb8 or bgr8"):
        rgb_to_image_fields(_rgb(), "mono8")
