"""rosbag2 tools: scenes written as bags (sqlite3 and mcap) read back into the samples they came from."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

from rssi_ros.bags.frames import (
    DEFAULT_START_S,
    NS,
    FrameEncoder,
    FrameOptions,
    frame_stamps,
    header_stamp_ns,
    restamp,
)
from rssi_ros.bags.reader import bag_info, bag_to_samples, messages
from rssi_ros.bags.typestore import msg_dir, typestore
from rssi_ros.bags.writer import BagOptions, write_bag
from rssi_ros.data.images import decode_rgb, load_rgb
from rssi_ros.data.sample import Box, Sample

FRAMES = 6


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    from rssi_ros.data.readers import read_dataset
    from rssi_ros.data.synth import generate_scene

    csv = generate_scene(tmp_path_factory.mktemp("bagscene") / "scene", frames=FRAMES, seed=3)
    return csv, read_dataset(csv).samples


def test_custom_types_hash_like_rosidl():
    """The bag's type hashes (RIHS01) equal what rosidl computed when the messages were built."""
    store = typestore()
    found = 0
    for name in ("Detection", "DetectionArray", "RssiEstimate"):
        generated = msg_dir() / f"{name}.json"
        if not generated.is_file():
            continue
        doc = json.loads(generated.read_text())
        expected = next(h["hash_string"] for h in doc["type_hashes"] if h["type_name"].endswith(f"/{name}"))
        assert store.hash_rihs01(f"rssi_ros_msgs/msg/{name}") == expected
        found += 1
    if not found:
        pytest.skip("no rosidl type-description files next to the .msg files (source checkout only)")


def test_frame_stamps_follow_the_samples_or_a_regular_rate():
    s = [Sample(0, 0, 0, 0, stamp=t) for t in (57600.0, 57600.1, 57600.25)]
    stamps = frame_stamps(s)
    assert stamps[0] == round(DEFAULT_START_S * NS)
    assert [b - a for a, b in itertools.pairwise(stamps)] == [100_000_000, 150_000_000]
    for bad in ([57600.0, math.nan, 57601.0], [57600.0, 57600.0, 57601.0]):
        regular = frame_stamps([Sample(0, 0, 0, 0, stamp=t) for t in bad], start_s=10.0, rate_hz=4.0)
        assert regular == [10 * NS, 10 * NS + NS // 4, 10 * NS + NS // 2]
    with pytest.raises(ValueError):
        frame_stamps(s, rate_hz=0.0)


def test_restamp_patches_only_the_header_stamp():
    encoder = FrameEncoder(FrameOptions(ground_truth=False, clock=False))
    sample = Sample(33.42, -111.93, 33.421, -111.929, image=np.full((4, 6, 3), 9, np.uint8), boxes=[])
    msgs = encoder.encode(sample, 5 * NS + 7)
    assert [m.topic for m in msgs] == ["/rx/fix", "/tx/fix", "/detections", "/camera/image_raw"]
    for m in msgs:
        assert header_stamp_ns(m.data) == 5 * NS + 7
        moved = restamp(m.data, 1_600_000_123 * NS + 456)
        assert header_stamp_ns(moved) == 1_600_000_123 * NS + 456 and len(moved) == len(m.data)
        back = encoder.store.deserialize_cdr(moved, m.msgtype)
        assert back.header.frame_id == encoder.store.deserialize_cdr(m.data, m.msgtype).header.frame_id
    with pytest.raises(ValueError, match="little-endian"):
        restamp(b"\x00\x00\x00\x00" + bytes(20), 1)


@pytest.mark.parametrize(("storage", "compressed"), [("sqlite3", False), ("mcap", True)])
def test_bag_round_trip(tmp_path, scene, storage, compressed):
    _, samples = scene
    out = tmp_path / f"bag_{storage}"
    options = BagOptions(storage=storage, frames=FrameOptions(compressed=compressed))
    summary = write_bag(samples, out, options, progress=False)
    image_topic = "/camera/image_raw/compressed" if compressed else "/camera/image_raw"
    expected_counts = {t: FRAMES for t in ("/clock", "/rx/fix", "/tx/fix", "/detections", image_topic)}
    expected_counts["/ground_truth/rssi"] = FRAMES
    assert dict(summary.messages) == expected_counts

    info = bag_info(out)
    assert {t: v["count"] for t, v in info["topics"].items()} == expected_counts
    assert info["topics"][image_topic]["type"] == (
        "sensor_msgs/msg/CompressedImage" if compressed else "sensor_msgs/msg/Image"
    )
    # Replay order inside a frame: clock, fixes, detections, image, ground truth.
    first = [m.topic for m in messages(out)][:6]
    assert first == ["/clock", "/rx/fix", "/tx/fix", "/detections", image_topic, "/ground_truth/rssi"]

    back = bag_to_samples(out)
    assert len(back) == FRAMES
    stamps = frame_stamps(samples)
    for original, got, stamp in zip(samples, back, stamps, strict=True):
        assert (got.rx_lat, got.rx_lon, got.tx_lat, got.tx_lon) == (
            original.rx_lat,
            original.rx_lon,
            original.tx_lat,
            original.tx_lon,
        )
        assert got.extras["stamp_ns"] == stamp
        source = load_rgb(original.image_path)
        if compressed:  # the JPEG went in verbatim: identical pixels after decoding
            np.testing.assert_array_equal(got.image, decode_rgb(original.image_path.read_bytes()))
        else:
            np.testing.assert_array_equal(got.image, source)
        assert len(got.boxes) == len(original.boxes)
        for a, b in zip(got.boxes, original.boxes, strict=True):
            assert a.class_name == b.class_name and a.is_transmitter == b.is_transmitter
            assert (a.cx, a.cy, a.w, a.h) == pytest.approx((b.cx, b.cy, b.w, b.h), abs=1e-6)  # float32 pixels
        assert got.rssi_db == pytest.approx(original.rssi_db, abs=1e-5)  # float32 in RssiEstimate

    with pytest.raises(Exception, match="exists"):
        write_bag(samples, out, options, progress=False)


def test_position_only_samples_make_a_bag_of_fixes(tmp_path):
    samples = [
        Sample(33.42, -111.93, 33.42 + i * 1e-5, -111.93, rssi_db=-60.0 - i, stamp=float(i)) for i in range(4)
    ]
    write_bag(samples, tmp_path / "pos", BagOptions(storage="mcap"), progress=False)
    info = bag_info(tmp_path / "pos")
    assert set(info["topics"]) >= {"/rx/fix", "/tx/fix", "/clock"}
    assert info["topics"]["/tx/fix"]["count"] == 4
    assert info["topics"].get("/camera/image_raw", {"count": 0})["count"] == 0
    back = bag_to_samples(tmp_path / "pos")
    assert [s.tx_lat for s in back] == [s.tx_lat for s in samples]
    assert all(s.image is None and s.boxes is None for s in back)
    # The player waits for subscribers only on the inputs the bag has messages on.
    import rclpy

    from rssi_ros.bags.player import BagPlayer

    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    try:
        node = rclpy.create_node("player_topics", context=ctx)
        player = BagPlayer(node, tmp_path / "pos")
        assert player.input_topics() == ["/rx/fix", "/tx/fix"]
        player.close(ack_timeout_s=0.1)
        node.destroy_node()
    finally:
        rclpy.try_shutdown(context=ctx)


def test_tx_flag_can_be_left_to_the_node(tmp_path):
    sample = Sample(
        33.42,
        -111.93,
        33.421,
        -111.929,
        image=np.zeros((10, 20, 3), np.uint8),
        boxes=[Box("car", 0.5, 0.5, 0.2, 0.2, 0.9, True)],
    )
    flagged = FrameEncoder(FrameOptions(tx_flag=True)).detections(sample, NS, (20, 10))
    unflagged = FrameEncoder(FrameOptions(tx_flag=False)).detections(sample, NS, (20, 10))
    assert flagged.detections[0].transmitter == 1 and unflagged.detections[0].transmitter == 0
    assert flagged.detections[0].class_id == 2  # COCO car
    assert (flagged.detections[0].center_x, flagged.detections[0].size_y) == (10.0, 2.0)


def test_command_line_write_info_samples(tmp_path, scene, capsys):
    from rssi_ros.cli import main

    csv, _ = scene
    out = tmp_path / "cli_bag"
    assert (
        main(["bag", "write", "--data", str(csv), "--out", str(out), "--storage", "mcap", "--no-progress"])
        == 0
    )
    written = json.loads(capsys.readouterr().out)
    assert written["frames"] == FRAMES
    assert main(["bag", "info", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["topics"]["/tx/fix"]["count"] == FRAMES
    assert main(["bag", "samples", str(out)]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "samples": FRAMES,
        "with_image": FRAMES,
        "with_boxes": FRAMES,
    }


@pytest.mark.shared_data
def test_real_deepsense_scenario_as_a_position_only_bag(tmp_path, shared_data):
    from rssi_ros.data.readers import ReaderOptions, read_dataset

    ds = read_dataset(shared_data / "scenario1.npz", ReaderOptions(limit=25))
    write_bag(ds.samples, tmp_path / "s1", BagOptions(storage="sqlite3"), progress=False)
    back = bag_to_samples(tmp_path / "s1")
    assert len(back) == len(ds.samples)
    for a, b in zip(back, ds.samples, strict=True):
        assert (a.tx_lat, a.tx_lon) == (b.tx_lat, b.tx_lon)
        assert a.rssi_db == pytest.approx(b.rssi_db, abs=1e-4)


def test_pacer_keeps_recorded_timing_and_caps_idle_gaps():
    from rssi_ros.bags.player import Pacer

    recorded = [0, NS // 10, 2 * NS // 10, 60 * NS, 60 * NS + NS // 10]  # two bursts a minute apart
    plain = Pacer(1.0)
    assert [plain.due_s(t) for t in recorded] == pytest.approx([0.0, 0.1, 0.2, 60.0, 60.1])
    capped = Pacer(1.0, max_gap_s=0.5)
    assert [capped.due_s(t) for t in recorded] == pytest.approx([0.0, 0.1, 0.2, 0.7, 0.8])
    assert capped.skipped_ns == 60 * NS - 2 * NS // 10 - NS // 2
    fast = Pacer(2.0, max_gap_s=0.5)  # the cap is in wall seconds, after the rate
    assert [fast.due_s(t) for t in recorded] == pytest.approx([0.0, 0.05, 0.1, 0.6, 0.65])
    assert all(Pacer(0.0, 0.5).due_s(t) is None for t in recorded)  # as fast as possible


def test_play_options_refuse_negative_values():
    from rssi_ros.bags.player import PlayOptions

    with pytest.raises(ValueError, match="max_gap_s"):
        PlayOptions(max_gap_s=-1.0)
    with pytest.raises(ValueError, match="rate"):
        PlayOptions(rate=-2.0)


def test_bag_play_command_rejects_a_negative_gap_with_exit_2(tmp_path, caplog):
    from rssi_ros.cli import main

    assert main(["bag", "play", str(tmp_path / "none"), "--max-gap", "-1"]) == 2
    assert "max_gap_s" in caplog.text
