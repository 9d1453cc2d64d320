"""The interface package: messages serialise, cross process boundaries over DDS, and build cleanly."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.ros import HELPERS, spin_until, start_python, stop

rclpy = pytest.importorskip("rclpy", reason="rclpy not installed (run `make setup`)")
from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402

from rssi_ros_msgs.msg import Detection, DetectionArray, RssiEstimate  # noqa: E402

pytestmark = pytest.mark.ros


def _estimate() -> RssiEstimate:
    msg = RssiEstimate()
    msg.header.stamp.sec = 1_700_000_000
    msg.header.stamp.nanosec = 123_456_789
    msg.header.frame_id = "camera_optical"
    msg.path_loss_db = 71.25
    msg.shadow_fading_db = -3.5
    msg.rssi_db = -(71.25 - 3.5)
    msg.path_loss_exponent = 2.0
    msg.distance_m = 3.5
    msg.east_m = -1.5
    msg.north_m = 3.0
    msg.tx_in_view = True
    msg.tx_selection = RssiEstimate.TX_SELECTION_PROJECTION
    msg.num_boxes = 7
    msg.modalities = RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_BOXES
    msg.model_id = "decomposed-learned@0123abcd"
    msg.backend = "onnxruntime"
    msg.processing_time_ms = 4.75
    return msg


def test_rssi_estimate_round_trips_through_serialisation():
    msg = _estimate()
    raw = serialize_message(msg)
    back = deserialize_message(raw, RssiEstimate)
    assert back == msg
    assert serialize_message(back) == raw
    assert back.rssi_db == pytest.approx(-(back.path_loss_db + back.shadow_fading_db), abs=1e-5)


def test_detection_array_round_trips_and_keeps_order():
    arr = DetectionArray()
    arr.header.frame_id = "camera"
    arr.image_width, arr.image_height = 960, 540
    for i, name in enumerate(["car", "truck", "person"]):
        d = Detection()
        d.id = f"track-{i}"
        d.class_name = name
        d.class_id = i
        d.score = 0.5 + i / 8  # exactly representable in float32
        d.center_x, d.center_y, d.size_x, d.size_y = 100.0 * i, 50.0, 40.0, 30.0
        d.transmitter = Detection.TRANSMITTER_YES if i == 0 else Detection.TRANSMITTER_UNKNOWN
        arr.detections.append(d)
    back = deserialize_message(serialize_message(arr), DetectionArray)
    assert back == arr
    assert [d.class_name for d in back.detections] == ["car", "truck", "person"]
    assert back.detections[0].transmitter == Detection.TRANSMITTER_YES


def test_message_constants_are_distinct_bits():
    bits = [RssiEstimate.MODALITY_POSITION, RssiEstimate.MODALITY_IMAGE, RssiEstimate.MODALITY_BOXES]
    assert sorted(bits) == [1, 2, 4]
    selections = {
        RssiEstimate.TX_SELECTION_NONE,
        RssiEstimate.TX_SELECTION_FLAG,
        RssiEstimate.TX_SELECTION_CLASS,
        RssiEstimate.TX_SELECTION_PROJECTION,
    }
    assert len(selections) == 4


def test_estimates_cross_process_boundary_over_dds():
    """A publisher in another process and a subscriber here discover each other and exchange messages."""
    from rclpy.executors import SingleThreadedExecutor

    topic = f"/dds_test_{os.getpid()}/estimate"
    context = rclpy.Context()
    rclpy.init(context=context)
    executor = SingleThreadedExecutor(context=context)
    node = rclpy.create_node("dds_test_subscriber", context=context)
    executor.add_node(node)
    received: list[RssiEstimate] = []
    node.create_subscription(RssiEstimate, topic, received.append, 10)
    proc = start_python(HELPERS / "publish_estimates.py", topic, "20", "400")
    try:
        assert spin_until(executor, lambda: len(received) >= 10, timeout=30.0, procs=[proc]), (
            f"no estimates over DDS within 30 s (domain {os.environ['ROS_DOMAIN_ID']})"
        )
    finally:
        output = stop(proc)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
    # Discovery may miss the first few; what arrives is in order, intact and from the other process.
    seqs = [m.header.stamp.sec for m in received]
    assert seqs == sorted(seqs), output
    for m in received:
        assert m.model_id == "dds-test"
        assert math.isclose(m.rssi_db, -(m.path_loss_db + m.shadow_fading_db), abs_tol=1e-4)
        assert m.modalities == RssiEstimate.MODALITY_POSITION | RssiEstimate.MODALITY_IMAGE


@pytest.mark.parametrize("package", ["rssi_ros", "rssi_ros_msgs"])
def test_package_xml_validates(repo_root: Path, package: str):
    from catkin_pkg.package import parse_package

    pkg = parse_package(str(repo_root / package / "package.xml"))
    pkg.validate()
    assert pkg.name == package
    assert pkg.package_format == 3
    build_type = pkg.get_build_type()
    assert build_type == ("ament_python" if package == "rssi_ros" else "ament_cmake")
    depends = {d.name for d in pkg.build_depends + pkg.exec_depends}
    if package == "rssi_ros":
        assert {"rclpy", "rssi_ros_msgs", "sensor_msgs", "diagnostic_msgs"} <= depends
    else:
        assert "std_msgs" in depends
        assert "rosidl_interface_packages" in [g.name for g in pkg.member_of_groups]


@pytest.mark.slow
def test_interface_package_builds_from_clean_folder(repo_root: Path, tmp_path: Path):
    venv = Path(sys.prefix)
    build, prefix = tmp_path / "build", tmp_path / "install"
    result = subprocess.run(
        ["bash", str(repo_root / "tools" / "build_msgs.sh"), str(venv), str(build), str(prefix)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    site = prefix / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    generated = site / "rssi_ros_msgs" / "msg"
    for stem in ("_rssi_estimate", "_detection", "_detection_array"):
        assert (generated / f"{stem}.py").is_file(), f"missing generated {stem}.py"
    assert list(site.glob("rssi_ros_msgs/*rosidl_typesupport_c*.so")), "no compiled type support"
    assert (prefix / "share" / "rssi_ros_msgs" / "msg" / "RssiEstimate.msg").is_file()
    assert (prefix / "share" / "ament_index" / "resource_index" / "packages" / "rssi_ros_msgs").is_file()
